#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Results a user can dig into (issue 18): eval and eval-cam take the dataset's own classes and
# say which; per-image metrics, the confusion matrix and a coverage warning; JSON numbers without
# float32 noise; `argmax` and `eval --probs` of probability maps; urn names its single-class
# images. On a tiny synthetic dataset, with probability maps made by `crf --save-q`.
set -u
PM="$1"
source "$(dirname "$0")/lib.sh"

json() {  # json FILE EXPRESSION: prints EXPRESSION evaluated on the JSON object j
  python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1"
}

D="$TMP/synth"
"$PM" synth --out "$D" --train 6 --val 2 --size 32 --quiet > /dev/null
GT="$D/SegmentationClass"
# Probability maps: the CRF's marginals over the 11 synthetic labels, from the ground truth.
"$PM" crf --images "$D/JPEGImages" --labels "$GT" --num-labels 11 --gt-prob 0.6 --save-q \
  --out "$TMP/crf" --quiet > /dev/null
check "crf --save-q wrote 8 probability maps" test "$(ls "$TMP/crf/q" | wc -l)" -eq 8

# --- the dataset's own classes ---------------------------------------------------------------
"$PM" eval-cam --gt "$GT" --cams "$TMP/crf/q" --plain-has-background --thresholds 0.1:0.9:0.1 \
  --json "$TMP/cam.json" --quiet > "$TMP/cam.txt"
check "eval-cam on the synthetic set exits 0" test $? -eq 0
check "eval-cam says it used the dataset's classes.txt" grep -q "^classes: 11 from .*synth/classes.txt" "$TMP/cam.txt"
check "eval-cam names the synthetic classes, not VOC's" bash -c "grep -q '| 1 | plane |' '$TMP/cam.txt' && ! grep -q 'aeroplane' '$TMP/cam.txt'"
check "eval-cam has 11 class rows, not 21" test "$(json "$TMP/cam.json" "len(j['best']['classes'])")" = 11
check "eval-cam JSON records the class source" grep -q '"source": ".*synth/classes.txt"' "$TMP/cam.json"
expect_error "--num-classes disagreeing with classes.txt is an error" "--num-classes 21 but .*classes.txt names 11 classes" -- \
  "$PM" eval-cam --gt "$GT" --cams "$TMP/crf/q" --plain-has-background --num-classes 21 --quiet
"$PM" crf --images "$D/JPEGImages" --labels "$GT" --num-labels 21 --save-q --out "$TMP/crf21" --quiet > /dev/null
expect_error "CAM keys beyond the dataset's classes are an error naming the file" "q/train_00000.npy: class key 10 is out of range for 11 classes" -- \
  "$PM" eval-cam --gt "$GT" --cams "$TMP/crf21/q" --plain-has-background --jobs 1 --quiet
mkdir -p "$TMP/bare"
cp "$GT"/*.png "$TMP/bare/"
"$PM" eval --gt "$TMP/bare" --pred "$TMP/crf" --quiet > "$TMP/bare.txt"
check "without classes.txt eval says it fell back to VOC" grep -q "^classes: 21 from VOC (no classes.txt" "$TMP/bare.txt"

# --- per-image metrics, confusion matrix, coverage, JSON numbers ----------------------------
"$PM" eval --gt "$GT" --pred "$TMP/crf" --json "$TMP/eval.json" --quiet > "$TMP/eval.txt"
check "eval writes one per-image row per image" test "$(json "$TMP/eval.json" "len(j['per_image'])")" = 8
check "eval writes the per-image CSV" test "$(wc -l < "$TMP/eval_images.csv")" -eq 9
check "per-image CSV header" grep -q '^id,pixels,pixel_accuracy,mean_iou,mean_precision,mean_recall$' "$TMP/eval_images.csv"
check "per-image pixels add up to the total" test "$(json "$TMP/eval.json" "sum(i['pixels'] for i in j['per_image']) == j['pixels']")" = True
check "the confusion matrix is 11x11 and sums to the pixels" test "$(json "$TMP/eval.json" "len(j['confusion']) == 11 and sum(map(sum, j['confusion'])) == j['pixels']")" = True
check "the diagonal is the true positives" test "$(json "$TMP/eval.json" "all(j['confusion'][c][c] == j['classes'][c]['tp'] for c in range(11))")" = True
check "eval-cam: confusion at the best threshold" test "$(json "$TMP/cam.json" "sum(map(sum, j['best_confusion'])) == j['best']['pixels']")" = True
check "eval-cam: per-image metrics at the best threshold" test "$(json "$TMP/cam.json" "len(j['per_image_at_best'])")" = 8
check "eval-cam: thresholds without float32 noise" test "$(json "$TMP/cam.json" "all(len(repr(s['threshold'])) <= 4 for s in j['sweep'])")" = True
check "eval-cam: no float32 noise anywhere" bash -c "! grep -Eq '[0-9]\.[0-9]*0000000[0-9]' '$TMP/cam.json'"
mkdir -p "$TMP/one"
cp "$TMP/crf/train_00000.png" "$TMP/one/"
"$PM" eval --gt "$GT" --pred "$TMP/one" --json "$TMP/one.json" --quiet > /dev/null 2> "$TMP/one.err"
check "eval warns when predictions cover 1 of 8 ground-truth images" grep -q "warning: 1 of the 8 ground-truth images were scored; 7 have no prediction" "$TMP/one.err"
check "... and counts them in the JSON" test "$(json "$TMP/one.json" "j['coverage']['images_not_scored']")" = 7
"$PM" eval --gt "$GT" --pred "$TMP/crf" --quiet > /dev/null 2> "$TMP/full.err"
check "no warning when every image is scored" test ! -s "$TMP/full.err"
check "eval --help defines the FP and FN shares" bash -c "'$PM' eval --help | grep -q 'FP share = FP/U'"

# --- argmax and eval --probs ------------------------------------------------------------------
"$PM" argmax --probs "$TMP/crf/q" --out "$TMP/argmax" --quiet > "$TMP/argmax.txt"
check "argmax exits 0" test $? -eq 0
check "argmax labels 8 images" grep -q "argmax: 8 images labelled" "$TMP/argmax.txt"
check "argmax writes a summary" grep -q '"images_done": 8' "$TMP/argmax/argmax_summary.json"
"$PM" eval --gt "$TMP/crf" --pred "$TMP/argmax" --num-classes 11 --quiet > "$TMP/argmax_eval.txt"
check "argmax of Q equals the CRF's labels" grep -q "pixel accuracy 100.00 %" "$TMP/argmax_eval.txt"
"$PM" eval --gt "$GT" --probs "$TMP/crf/q" --json "$TMP/probs.json" --quiet > /dev/null
check "eval --probs scores the argmax (same mIoU as eval of the labels)" test "$(json "$TMP/probs.json" "j['mean_iou']")" = "$(json "$TMP/eval.json" "j['mean_iou']")"
expect_error "eval needs --pred or --probs" "exactly one of --pred and --probs" -- "$PM" eval --gt "$GT" --quiet
expect_exit_status_help argmax

# --- labels --mode crf: a sweep of the power background's alpha against the ground truth -----
"$PM" labels --cams "$TMP/crf/q" --plain-has-background --images "$D/JPEGImages" --mode crf \
  --sweep-alpha 1,4,16 --gt "$GT" --out "$TMP/sweep" --jobs 2 --quiet > "$TMP/sweep.txt"
check "labels --sweep-alpha exits 0" test $? -eq 0
check "the sweep reports the best alpha" grep -q "^Best alpha .*: mIoU" "$TMP/sweep.txt"
check "the sweep writes no label PNGs" test -z "$(ls "$TMP/sweep"/*.png 2> /dev/null)"
check "labels_sweep.json has 3 alphas and the best" test "$(json "$TMP/sweep/labels_sweep.json" "[s['alpha'] for s in j['sweep']], j['best_alpha'] in (1, 4, 16), j['class_set']['count']")" = "[1.0, 4.0, 16.0] True 11"
"$PM" labels --cams "$TMP/crf/q" --plain-has-background --images "$D/JPEGImages" --mode crf \
  --alpha 16 --out "$TMP/alpha16" --quiet > /dev/null
"$PM" eval --gt "$GT" --pred "$TMP/alpha16" --json "$TMP/alpha16.json" --quiet > /dev/null
check "the sweep's mIoU at alpha 16 equals eval of labels --alpha 16" test "$(json "$TMP/sweep/labels_sweep.json" "j['sweep'][2]['mean_iou']")" = "$(json "$TMP/alpha16.json" "j['mean_iou']")"
"$PM" labels --cams "$TMP/crf/q" --plain-has-background --threshold 0.3 --out "$TMP/thr" --quiet > /dev/null
check "labels' summary writes 0.3, not its float32 noise" test "$(json "$TMP/thr/labels_summary.json" "repr(j['threshold'])")" = 0.3
expect_error "--sweep-alpha needs --gt" "needs --gt" -- "$PM" labels --cams "$TMP/crf/q" --images "$D/JPEGImages" --mode crf --sweep-alpha 1,2 --out "$TMP/s2" --quiet

# --- urn: images where no object was found ----------------------------------------------------
# (2, 32, 32) float32 probabilities, background 1 everywhere: M_c holds one class (K = 1).
npy_header() {  # npy_header SHAPE: a version-1 .npy header for little-endian float32
  local dict="{'descr': '<f4', 'fortran_order': False, 'shape': $1, }"
  local pad=$(( 64 - (10 + ${#dict} + 1) % 64 ))
  printf '\x93NUMPY\x01\x00'
  printf "\\x$(printf %02x $(( (${#dict} + pad + 1) % 256 )))\\x$(printf %02x $(( (${#dict} + pad + 1) / 256 )))"
  printf '%s%*s\n' "$dict" $pad ''
}
mkdir -p "$TMP/urnprobs"
cp "$TMP/crf/q/train_00001.npy" "$TMP/urnprobs/"
{ npy_header "(11, 32, 32)"
  for i in $(seq 1024); do printf '\x00\x00\x80\x3f'; done
  head -c $((10 * 1024 * 4)) /dev/zero; } > "$TMP/urnprobs/train_00000.npy"
"$PM" inspect "$TMP/urnprobs/train_00000.npy" > "$TMP/inspect.txt" 2>&1
check "the hand-made .npy reads" grep -q "11, 32, 32" "$TMP/inspect.txt"
"$PM" urn --images "$D/JPEGImages" --probs "$TMP/urnprobs" --out "$TMP/urn" --num-classes 11 --jobs 2 --quiet > "$TMP/urn.txt"
check "urn exits 0" test $? -eq 0
check "urn names the image where no object was found" grep -q "1 image(s) with a single class in M_c (K = 1.*): train_00000$" "$TMP/urn.txt"
check "urn's summary counts and names it" test "$(json "$TMP/urn/urn_summary.json" "(j['single_class_images'], j['single_class_ids'])")" = "(1, ['train_00000'])"
"$PM" urn --images "$D/JPEGImages" --probs "$TMP/urnprobs" --out "$TMP/urn_ids" --num-classes 11 --ids train_00001 --quiet > /dev/null
check "urn --ids processes only the given ids" test "$(ls "$TMP/urn_ids/mask")" = "train_00001.png"

# --- show: titles, the dataset's class names, legend and colour bar ----------------------------
"$PM" show --images "$D/JPEGImages" --gt "$GT" --labels "$TMP/argmax" --weights "$TMP/urn/weight" \
  --ids train_00000,train_00001 --out "$TMP/sheet.png" --quiet > /dev/null
check "show draws a sheet" test -s "$TMP/sheet.png"
check "show says which class names it used" grep -q '"classes": ".*synth/classes.txt"' "$TMP/sheet.json"

finish results_smoke
