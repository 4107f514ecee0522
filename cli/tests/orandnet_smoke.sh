#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# End-to-end checks of `pseudomask orandnet train|infer`: the demo's CAMs (from the VOC sample's
# ground truth) serve as both CAM sets, so OR = 2a - a^2 and AND = a^2 differ; a tiny-width
# FCN-8s trains a few steps, resumes, refines the CAMs, and `labels` turns them into masks.
# Usage: orandnet_smoke.sh PSEUDOMASK DATA_DIR   (needs python3, standard library only)
set -u
PM="$1"
DATA="$2"  # tests/data
source "$(dirname "$0")/lib.sh"
json() {  # json FILE EXPRESSION: prints EXPRESSION evaluated on the JSON object j
  python3 -c "import json, sys; j = json.load(open(sys.argv[1])); print($2)" "$1"
}
if ! "$PM" orandnet --help > "$TMP/help.txt" 2>&1; then
  echo "orandnet_smoke: the nn module is not built (PM_BUILD_NN=OFF): skipped"
  exit 0
fi
check "orandnet --help names train and infer" grep -q "infer" "$TMP/help.txt"
"$PM" orandnet train --help > "$TMP/train_help.txt"
check "orandnet train --help has an example" grep -q "Example" "$TMP/train_help.txt"
"$PM" orandnet infer --help > "$TMP/infer_help.txt"
check "orandnet infer --help has an example" grep -q "Example" "$TMP/infer_help.txt"

"$PM" selfcheck --out "$TMP/demo" > /dev/null  # CAM files made from the VOC sample
A="$TMP/demo/cams"
ls "$A" | head -n 3 | sed 's/\.npy$//' > "$TMP/ids.txt"

T=(--cams1 "$A" --cams2 "$A" --list "$TMP/ids.txt" --width tiny --lr 0.01 --threads 2 --quiet)
"$PM" orandnet train "${T[@]}" --iterations 4 --out "$TMP/run" > "$TMP/train.txt"
check "train writes model.pth" test -s "$TMP/run/model.pth"
check "train writes its JSON summary" test "$(json "$TMP/run/orandnet_train_summary.json" "j['steps_run']")" = 4
"$PM" orandnet train "${T[@]}" --iterations 6 --out "$TMP/run" --resume > "$TMP/resume.txt"
check "train --resume continues from step 4" \
  test "$(json "$TMP/run/orandnet_train_summary.json" "j['resumed_from_step'], j['steps_run']")" = "4 2"
"$PM" orandnet train "${T[@]}" --iterations 2 --official --out "$TMP/official" > /dev/null
check "--official records the official loss" \
  test "$(json "$TMP/official/orandnet_train_summary.json" "j['loss']")" = official

"$PM" orandnet infer --model "$TMP/run/model.pth" --cams1 "$A" --cams2 "$A" --list "$TMP/ids.txt" \
  --out "$TMP/refined" --jobs 1 --quiet > "$TMP/infer.txt"
check "infer writes one CAM file per image" test "$(ls "$TMP/refined" | grep -c '\.npy$')" -eq 3
check "infer writes its JSON summary" \
  test "$(json "$TMP/refined/orandnet_summary.json" "j['images_done']")" = 3
"$PM" orandnet infer --model "$TMP/run/model.pth" --cams1 "$A" --cams2 "$A" --list "$TMP/ids.txt" \
  --out "$TMP/refined" --resume --quiet > "$TMP/infer_resume.txt"
check "infer --resume skips finished images" grep -q "0 images, 3 skipped" "$TMP/infer_resume.txt"
"$PM" labels --cams "$TMP/refined" --out "$TMP/masks" --mode threshold --threshold 0.25 --quiet > /dev/null
check "labels reads the refined CAMs" test "$(ls "$TMP/masks" | grep -c '\.png$')" -eq 3

mkdir -p "$TMP/badA"
cp "$A"/*.npy "$TMP/badA/"
BAD_ID="$(sed -n 2p "$TMP/ids.txt")"
printf 'not a npy' > "$TMP/badA/$BAD_ID.npy"
expect_error "infer names a corrupt CAM file" "badA/$BAD_ID.npy" -- "$PM" orandnet infer --model "$TMP/run/model.pth" \
  --cams1 "$TMP/badA" --cams2 "$A" --list "$TMP/ids.txt" --out "$TMP/refined_bad" --jobs 1 --quiet
expect_skipped "infer --keep-going exits 3, naming the bad file" "$BAD_ID" -- "$PM" orandnet infer --model "$TMP/run/model.pth" \
  --cams1 "$TMP/badA" --cams2 "$A" --list "$TMP/ids.txt" --out "$TMP/refined_kg" --keep-going --quiet
check "infer --keep-going writes the other 2" test "$(ls "$TMP/refined_kg" | grep -c '\.npy$')" -eq 2 -a ! -e "$TMP/refined_kg/$BAD_ID.npy"
expect_exit_status_help orandnet infer
expect_error "an unknown orandnet command fails, suggesting the nearest" "unknown command 'orandnet tain'; did you mean 'train'? (commands: train, infer)" -- "$PM" orandnet tain --help

expect_error "a non-ORANDNet model is one clear line" "not a PyTorch checkpoint" -- \
  "$PM" orandnet infer --model "$TMP/demo/cams/$(head -n 1 "$TMP/ids.txt").npy" --cams1 "$A" \
  --cams2 "$A" --out "$TMP/bad"
expect_error "an unknown width is one clear line" "unknown width" -- \
  "$PM" orandnet train --cams1 "$A" --cams2 "$A" --width huge --iterations 1 --out "$TMP/bad2"
finish orandnet_smoke
