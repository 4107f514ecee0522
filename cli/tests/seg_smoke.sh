#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# End-to-end checks of `pseudomask train-seg` and `pseudomask predict`: synth → train-seg on the
# ground-truth masks → predict (multi-scale, flip, float16 probabilities) → urn → train-seg with
# the URN weights; resume, JSON summaries and one-line errors.
# Usage: seg_smoke.sh PSEUDOMASK [DATA_DIR]
set -u
PM="$1"
source "$(dirname "$0")/lib.sh"

skip_without_nn seg_smoke

D="$TMP/synth"
"$PM" synth --out "$D" --train 8 --val 4 --size 48 --seed 5 --quiet > /dev/null
check "synth exits 0" test $? -eq 0
BASE=(--dataset "$D" --split train --crop 48 --batch-size 4 --threads 1 --workers 1 --quiet)
COMMON=("${BASE[@]}" --arch deeplabv2-tiny)

"$PM" train-seg "${COMMON[@]}" --labels "$D/SegmentationClass" --val-split val --keep-best \
  --iterations 6 --scale-schedule 2:1 --out "$TMP/seg" > "$TMP/train.txt"
check "train-seg exits 0" test $? -eq 0
check "train-seg writes model.pth" test -s "$TMP/seg/model.pth"
check "train-seg writes best.pth (keep-best)" test -s "$TMP/seg/best.pth"
check "train-seg summary has validations" grep -q '"miou"' "$TMP/seg/train_seg_summary.json"
check "train-seg names the dataset's classes" grep -q "11 classes (the dataset's: background, plane, bicycle" "$TMP/train.txt"
check "train-seg reports each epoch's loss and validation mIoU" python3 -c "
import json, sys; e = json.load(open(sys.argv[1]))['epochs_run']
assert [x['epoch'] for x in e] == [1, 2, 3] and all(x['loss'] > 0 for x in e), e
assert all(0 <= x['val_miou'] <= 1 for x in e), e" "$TMP/seg/train_seg_summary.json"
check "train log has 6 steps" test "$(tail -n +2 "$TMP/seg/train_log.csv" | wc -l)" -eq 6

"$PM" train-seg "${COMMON[@]}" --labels "$D/SegmentationClass" --iterations 6 --stop-after 3 --out "$TMP/res" > /dev/null
"$PM" train-seg "${COMMON[@]}" --labels "$D/SegmentationClass" --iterations 6 --resume --out "$TMP/res" > /dev/null
check "stop + resume finishes" test -s "$TMP/res/model.pth"
check "resumed run starts at step 3" grep -q '"start_step": 3' "$TMP/res/train_seg_summary.json"

"$PM" predict --dataset "$D" --split train --model "$TMP/seg/model.pth" --out "$TMP/pred" \
  --scales 0.75,1,1.25 --flip --probs --crf urn --jobs 2 --quiet > /dev/null
check "predict exits 0" test $? -eq 0
check "predict writes 8 label PNGs" test "$(ls "$TMP/pred/labels" | wc -l)" -eq 8
check "predict writes float16 probs" bash -c "head -c 80 '$TMP/pred/probs/train_00000.npy' | grep -q \"'<f2'\""
check "predict summary" grep -q '"flip": true' "$TMP/pred/predict_summary.json"
"$PM" predict --dataset "$D" --split train --model "$TMP/seg/model.pth" --out "$TMP/pred" \
  --scales 0.75,1,1.25 --flip --probs --crf urn --resume --quiet > "$TMP/resume.txt"
check "predict --resume skips everything" grep -q '0 images predicted, 8 skipped' "$TMP/resume.txt"
expect_error "predict --resume with other settings is refused" "made with other settings (crf: \"urn\" -> \"none\"" -- \
  "$PM" predict --dataset "$D" --split train --model "$TMP/seg/model.pth" --out "$TMP/pred" --probs --resume --quiet
cp -r "$D" "$TMP/dbad"
printf 'not a png' > "$TMP/dbad/JPEGImages/train_00002.png"
expect_error "predict names a corrupt image" "train_00002.png" -- "$PM" predict --dataset "$TMP/dbad" --split train --model "$TMP/seg/model.pth" --out "$TMP/pred_bad" --jobs 1 --quiet
expect_skipped "predict --keep-going exits 3, naming the bad image" "train_00002" -- "$PM" predict --dataset "$TMP/dbad" --split train --model "$TMP/seg/model.pth" --out "$TMP/pred_kg" --keep-going --quiet
check "predict --keep-going writes the other 7" test "$(ls "$TMP/pred_kg/labels" | wc -l)" -eq 7 -a ! -e "$TMP/pred_kg/labels/train_00002.png"
expect_exit_status_help predict

"$PM" urn --images "$D/JPEGImages" --probs "$TMP/pred/probs" --num-classes 11 --out "$TMP/urn" --quiet > /dev/null
check "urn accepts the probabilities" test "$(ls "$TMP/urn/urn" | wc -l)" -eq 8
"$PM" train-seg "${COMMON[@]}" --weights "$TMP/urn/urn" --iterations 2 --out "$TMP/seg2" > /dev/null
check "train-seg with URN weights" test -s "$TMP/seg2/model.pth"
check "summary names the weights" grep -q "\"weights\": \"$TMP/urn/urn\"" "$TMP/seg2/train_seg_summary.json"

expect_error "bad scale schedule" "scale-schedule" -- \
  "$PM" train-seg "${COMMON[@]}" --labels "$D/SegmentationClass" --iterations 2 --scale-schedule 8-2 --out "$TMP/x"
expect_error "missing pseudo-mask" "train_00000.png: missing" -- \
  "$PM" train-seg "${COMMON[@]}" --labels "$TMP/pred/probs" --iterations 2 --out "$TMP/x"
expect_error "unknown arch" "deeplabv9" -- \
  "$PM" train-seg "${BASE[@]}" --labels "$D/SegmentationClass" --iterations 2 --arch deeplabv9 --out "$TMP/x"
expect_error "an option's error names its flag" "--pus-k 0: must be > 0" -- \
  "$PM" train-seg "${COMMON[@]}" --labels "$D/SegmentationClass" --iterations 2 --pus-beta 0.5 --pus-k 0 --out "$TMP/x"
expect_error "predict's option errors name its flags" "--stride 40: must not exceed --window 32" -- \
  "$PM" predict --dataset "$D" --split train --model "$TMP/seg/model.pth" --window 32 --stride 40 --out "$TMP/x"
expect_error "predict with a non-model" "not a" -- \
  "$PM" predict --dataset "$D" --split val --model "$D/cls_labels.npy" --out "$TMP/x"

finish seg_smoke
