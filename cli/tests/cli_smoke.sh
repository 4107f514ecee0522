#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# End-to-end checks of the pseudomask program: selfcheck, eval's outputs, and that bad input
# gives one clear line naming the file and a non-zero exit without touching existing outputs.
set -u
PM="$1"
DATA="$2"  # tests/data
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
source "$(dirname "$0")/lib.sh"

GT="$DATA/voc_sample/SegmentationClass"
PRED="$ROOT/tests/fixtures/eval/pred"

"$PM" eval --gt "$GT" --pred "$PRED" --json "$TMP/eval.json" --quiet > "$TMP/eval.txt"
check "eval exits 0" test $? -eq 0
check "eval prints the mean row" grep -q '\*\*mean\*\*' "$TMP/eval.txt"
check "eval writes JSON" grep -q '"mean_iou"' "$TMP/eval.json"
check "eval writes CSV beside the JSON" grep -q '^mean,' "$TMP/eval.csv"

"$PM" eval --gt "$GT" --pred "$PRED" --official-orandnet --quiet > "$TMP/official.txt"
check "official-orandnet has 20 classes" bash -c "! grep -q '^| 20 |' '$TMP/official.txt' && grep -q '^| 19 |' '$TMP/official.txt'"

mkdir -p "$TMP/bad"
cp "$PRED"/*.png "$TMP/bad/"
printf 'not a png' > "$TMP/bad/2007_000063.png"
expect_error "corrupt prediction names the file" "2007_000063.png" -- "$PM" eval --gt "$GT" --pred "$TMP/bad" --quiet
"$PM" eval --gt "$GT" --pred "$TMP/bad" --keep-going --quiet > "$TMP/keep.txt" 2> "$TMP/keep.err"
check "keep-going completes, exit 3 (inputs skipped)" test $? -eq 3
check "keep-going lists the failure" grep -q "2007_000063" "$TMP/keep.err"
check "keep-going counts 7 images" grep -q "^7 images" "$TMP/keep.txt"

rm "$TMP/bad/2007_000063.png"
printf '2007_000063\n' > "$TMP/list.txt"
expect_error "missing prediction names the id" "missing prediction" -- "$PM" eval --gt "$GT" --pred "$TMP/bad" --list "$TMP/list.txt" --quiet

echo '{"keep": true}' > "$TMP/keep.json"
expect_error "failed run keeps existing outputs" "2007_000063" -- "$PM" eval --gt "$GT" --pred "$TMP/bad" --list "$TMP/list.txt" --json "$TMP/keep.json" --quiet
check "existing JSON untouched" grep -q '"keep": true' "$TMP/keep.json"

"$PM" selfcheck --out "$TMP/demo" > "$TMP/demo.txt"
check "selfcheck exits 0" test $? -eq 0
check "selfcheck writes report.json" grep -q '"cams_best_threshold"' "$TMP/demo/report.json"
check "selfcheck refines a real network's predictions with the CRF" grep -q '"crf_urn"' "$TMP/demo/report.json"
check "selfcheck wrote 8 CAM files" test "$(ls "$TMP/demo/cams" | wc -l)" -eq 8
check "selfcheck wrote its built-in sample (8 images)" test "$(ls "$TMP/demo/sample/JPEGImages" | wc -l)" -eq 8
check "the program holds no path of the repository's test data" bash -c '! grep -qaF "$0" "$1"' "$DATA" "$PM"
# An installed or copied binary carries its sample: run a copy from another folder.
mkdir -p "$TMP/copy"
cp "$PM" "$TMP/copy/pseudomask"
(cd "$TMP/copy" && ./pseudomask selfcheck --out sc > sc.txt 2>&1)
check "a copied binary runs selfcheck in another folder" test $? -eq 0
check "a copied binary's selfcheck refines the real predictions" grep -q '"crf_urn"' "$TMP/copy/sc/report.json"
check "a copied binary's selfcheck evaluates all 8 images" grep -q '"images": 8' "$TMP/copy/sc/report.json"
"$PM" selfcheck --data "$DATA/voc_sample" --out "$TMP/sc8" > /dev/null
check "selfcheck --data tests/data/voc_sample segments all 8 images" python3 -c "import json, sys; sys.exit(json.load(open(sys.argv[1]))['segmentation']['images'] != 8)" "$TMP/sc8/report.json"
check "the built-in sample has probabilities for one image" python3 -c "import json, sys; sys.exit(json.load(open(sys.argv[1]))['segmentation']['images'] != 1)" "$TMP/copy/sc/report.json"
"$PM" eval-cam --gt "$GT" --cams "$TMP/demo/cams" --thresholds 0.1:0.9:0.1 --json "$TMP/cam.json" --quiet > "$TMP/cam.txt"
check "eval-cam exits 0" test $? -eq 0
check "eval-cam reports the best threshold" grep -q '"best_threshold"' "$TMP/cam.json"
mkdir -p "$TMP/badcams"
cp "$TMP/demo/cams"/*.npy "$TMP/badcams/"
printf 'not a npy' > "$TMP/badcams/2007_000061.npy"
expect_error "eval-cam names a corrupt CAM file" "badcams/2007_000061.npy" -- "$PM" eval-cam --gt "$GT" --cams "$TMP/badcams" --thresholds 0.1:0.9:0.1 --quiet
expect_skipped "eval-cam --keep-going exits 3, naming the bad file" "2007_000061" -- "$PM" eval-cam --gt "$GT" --cams "$TMP/badcams" --thresholds 0.1:0.9:0.1 --json "$TMP/cam_kg.json" --keep-going --quiet
check "eval-cam --keep-going reports the other 7 images" grep -q '"images": 7' "$TMP/cam_kg.json"
"$PM" inspect "$TMP/demo/cams/2007_000032.npy" > "$TMP/inspect.txt"
check "inspect shows the CAM keys" grep -q "keys \[ 0 14 \]" "$TMP/inspect.txt"

# inspect every fixture (valid, hostile and malformed): a clean answer or a one-line error, never a crash
crashed=0
for f in "$ROOT"/tests/fixtures/cams/* "$ROOT"/tests/fixtures/npy/*.np? "$ROOT"/tests/fixtures/images/*.png; do
  [ -f "$f" ] || continue
  "$PM" inspect "$f" > /dev/null 2>&1
  rc=$?
  if [ $rc -gt 1 ]; then echo "  inspect crashed (rc=$rc) on $f"; crashed=$((crashed + 1)); fi
done
check "inspect never crashes on the fixtures" test $crashed -eq 0

# crf: reference unaries in, the reference's labels out (checked with eval: 100 % pixel accuracy)
mkdir -p "$TMP/crf/img" "$TMP/crf/unary" "$TMP/crf/gt"
for k in 1 2; do
  cp "$DATA/crf/im$k.png" "$TMP/crf/img/im$k.png"
  cp "$DATA/crf/reference/im${k}_unary_M21.npz" "$TMP/crf/unary/im$k.npz"
  cp "$DATA/crf/reference/im${k}_M21_it10_labels.png" "$TMP/crf/gt/im$k.png"
done
"$PM" crf --images "$TMP/crf/img" --unary "$TMP/crf/unary" --out "$TMP/crf/out" --jobs 2 --quiet > /dev/null
check "crf exits 0" test $? -eq 0
"$PM" eval --gt "$TMP/crf/gt" --pred "$TMP/crf/out" --quiet > "$TMP/crf/eval.txt"
check "crf labels equal the reference's" grep -q "pixel accuracy 100.00 %" "$TMP/crf/eval.txt"
"$PM" crf --images "$TMP/crf/img" --unary "$TMP/crf/unary" --out "$TMP/crf/out" --resume --quiet > "$TMP/crf/resume.txt"
check "crf --resume skips finished images" grep -q "0 images refined, 2 skipped" "$TMP/crf/resume.txt"
mkdir -p "$TMP/crf/badprobs"
cp "$DATA/crf/reference/im1_unary_M21.npz" "$TMP/crf/badprobs/im2.npz"  # im1's size for im2
expect_error "crf names a probability map of the wrong size" "im2.npz: expected" -- "$PM" crf --images "$TMP/crf/img" --probs "$TMP/crf/badprobs" --out "$TMP/crf/bad" --quiet

cp "$TMP/crf/unary/im1.npz" "$TMP/crf/badprobs/im1.npz"
expect_error "crf names an unary of the wrong size" "badprobs/im2.npz: expected" -- "$PM" crf --images "$TMP/crf/img" --unary "$TMP/crf/badprobs" --out "$TMP/crf/bad" --quiet
expect_skipped "crf --keep-going exits 3, naming the bad file" "im2.npz" -- "$PM" crf --images "$TMP/crf/img" --unary "$TMP/crf/badprobs" --out "$TMP/crf/kg" --keep-going --quiet
check "crf --keep-going writes the good image only" test -s "$TMP/crf/kg/im1.png" -a ! -e "$TMP/crf/kg/im2.png"
check "crf --keep-going counts the failure in its summary" grep -q '"failures": 1' "$TMP/crf/kg/crf_summary.json"

# every command follows one exit-status rule (README "Exit status"), printed in each batch --help
for cmd in eval eval-cam crf labels urn ensemble show synth; do expect_exit_status_help "$cmd"; done
expect_error "an unknown command fails, suggesting the nearest and listing the commands" "unknown command 'train-vit'; did you mean 'train-cls', 'train-seg' or 'train-irn'? (commands: eval, " -- "$PM" train-vit --help
expect_error "a misspelt command suggests the nearest" "unknown command 'evl'; did you mean 'eval'?" -- "$PM" evl --gt x
"$PM" eval --pred "$PRED" > /dev/null 2>&1
check "a usage error (no --gt) exits 1" test $? -eq 1

# show: panels of a portrait (334x500) and a landscape (500x281) image at one height, so that a
# sheet's rows line up; widths keep the aspect ratio.
png_size() {  # png_size FILE: "W H" from the IHDR chunk
  python3 -c "import struct, sys; d = open(sys.argv[1], 'rb').read(24); print(*struct.unpack('>II', d[16:24]))" "$1"
}
"$PM" show --images "$DATA/voc_sample/JPEGImages" --ids 2007_000129,2007_000032 \
  --panel-height 100 --out "$TMP/strips" --quiet > /dev/null
read -r w1 h1 < <(png_size "$TMP/strips/2007_000129.png")
read -r w2 h2 < <(png_size "$TMP/strips/2007_000032.png")
check "show --panel-height: portrait and landscape strips are equally tall ($h1, $h2)" test "$h1" -eq "$h2"
check "show --panel-height: widths keep the aspect ratio ($w1 < $w2)" test "$w1" -lt "$w2"
"$PM" show --images "$DATA/voc_sample/JPEGImages" --ids 2007_000129,2007_000032 --out "$TMP/own" --panel-height 0 --quiet > /dev/null
read -r _ h3 < <(png_size "$TMP/own/2007_000129.png")
read -r _ h4 < <(png_size "$TMP/own/2007_000032.png")
check "show --panel-height 0 keeps the images' own sizes ($h3 > $h4)" test "$h3" -gt "$h4"
expect_error "show refuses a tiny panel height" "--panel-height 5" -- \
  "$PM" show --images "$DATA/voc_sample/JPEGImages" --ids 2007_000129 --out "$TMP/x" --panel-height 5

finish cli_smoke
