#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# End-to-end checks of the libtorch commands (train-cls, cam) on the 8-image VOC sample: the
# module is loaded on demand, training writes its checkpoints and resumes, CAMs come out in the
# IRN layout that eval-cam reads, and bad input gives one clear line.
# Usage: nn_smoke.sh PATH/TO/pseudomask DATA_DIR
set -u
PM="$1"
DATA="$2"  # tests/data
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
source "$(dirname "$0")/lib.sh"

VOC="$DATA/voc_sample"
ls "$VOC/JPEGImages" | sed 's/\.jpg$//' > "$TMP/list.txt"
SMALL=(--split "$TMP/list.txt" --crop 64 --resize-long 48,80 --batch-size 4 --threads 2 --quiet)

"$PM" --help > "$TMP/help.txt"
check "pseudomask --help lists the nn commands" grep -q "train-cls" "$TMP/help.txt"
"$PM" train-cls --help > "$TMP/train_help.txt"
check "train-cls --help has an example" grep -q "Example" "$TMP/train_help.txt"
"$PM" cam --help > "$TMP/cam_help.txt"
check "cam --help has an example" grep -q "Example" "$TMP/cam_help.txt"

# CNN: two epochs of two steps.
"$PM" train-cls --dataset "$VOC" --arch resnet-tiny --out "$TMP/r" --epochs 2 --val-split "$TMP/list.txt" "${SMALL[@]}" > "$TMP/train.txt"
check "train-cls exits 0" test $? -eq 0
check "train-cls says which classes it learns" grep -q "20 classes (the dataset's: aeroplane, bicycle" "$TMP/train.txt"
check "train-cls writes model.pth" test -s "$TMP/r/model.pth"
check "train-cls writes last.pth" test -s "$TMP/r/last.pth"
check "train-cls logs every step" test "$(wc -l < "$TMP/r/train_log.csv")" -eq 5
check "train-cls writes its JSON summary" grep -q '"total_steps": 4' "$TMP/r/train_cls_summary.json"
check "train-cls reports each epoch's mAP" python3 -c "
import json, sys; j = json.load(open(sys.argv[1])); e = j['epochs_run']
assert len(e) == 2 and all(0 < x['train_map'] <= 1 for x in e), e
assert all(0 < x['val_map'] <= 1 for x in e), e" "$TMP/r/train_cls_summary.json"
check "train-cls reports the validation mAP per class" python3 -c "
import json, sys; v = json.load(open(sys.argv[1]))['validation']
assert v['images'] == 8 and 0 < v['map'] <= 1 and len(v['class_ap']) == 20, v
assert v['class_ap']['aeroplane'] is not None and v['class_ap']['bottle'] is None, v" "$TMP/r/train_cls_summary.json"

# Stop after one step, then resume: the same loss sequence as the uninterrupted run.
"$PM" train-cls --dataset "$VOC" --arch resnet-tiny --out "$TMP/r2" --epochs 2 --stop-after 1 "${SMALL[@]}" > "$TMP/stop.txt"
check "stopped run leaves no model.pth" test ! -e "$TMP/r2/model.pth"
"$PM" train-cls --dataset "$VOC" --arch resnet-tiny --out "$TMP/r2" --epochs 2 --resume "${SMALL[@]}" > "$TMP/resume.txt"
check "resumed run finishes" test -s "$TMP/r2/model.pth"
check "resumed run repeats the uninterrupted losses" cmp -s "$TMP/r/train_log.csv" "$TMP/r2/train_log.csv"

"$PM" cam --model "$TMP/r/model.pth" --dataset "$VOC" --split "$TMP/list.txt" --out "$TMP/cams" --scales 1,0.5 --jobs 2 --quiet > "$TMP/cam.txt"
check "cam exits 0" test $? -eq 0
check "cam writes one file per image" test "$(ls "$TMP/cams"/*.npy | wc -l)" -eq 8
check "cam writes its JSON summary" grep -q '"images_done": 8' "$TMP/cams/cam_summary.json"
"$PM" inspect "$TMP/cams/2007_000032.npy" > "$TMP/inspect.txt" 2>&1
check "CAM file is IRN layout with high_res" grep -q "high_res" "$TMP/inspect.txt"
"$PM" cam --model "$TMP/r/model.pth" --dataset "$VOC" --split "$TMP/list.txt" --out "$TMP/cams" --scales 1,0.5 --resume --quiet > "$TMP/cam_resume.txt"
check "cam --resume skips finished images" grep -q "0 images, 8 skipped" "$TMP/cam_resume.txt"
expect_error "cam --resume with other scales is refused" "made with other settings (scales: \[1.0,0.5\] -> \[1.0,0.5,1.5,2.0\])" -- \
  "$PM" cam --model "$TMP/r/model.pth" --dataset "$VOC" --split "$TMP/list.txt" --out "$TMP/cams" --resume --quiet
"$PM" eval-cam --gt "$VOC/SegmentationClass" --cams "$TMP/cams" --quiet > "$TMP/evalcam.txt" 2>&1
mkdir -p "$TMP/voc"
cp -r "$VOC/JPEGImages" "$TMP/voc/"
ln -s "$VOC/SegmentationClass" "$TMP/voc/SegmentationClass"
printf 'not a jpeg' > "$TMP/voc/JPEGImages/2007_000129.jpg"
expect_error "cam names a corrupt image" "2007_000129.jpg" -- "$PM" cam --model "$TMP/r/model.pth" --dataset "$TMP/voc" --split "$TMP/list.txt" --out "$TMP/cams_bad" --scales 1 --jobs 1 --quiet
expect_skipped "cam --keep-going exits 3, naming the bad image" "2007_000129" -- "$PM" cam --model "$TMP/r/model.pth" --dataset "$TMP/voc" --split "$TMP/list.txt" --out "$TMP/cams_kg" --scales 1 --keep-going --quiet
check "cam --keep-going writes the other 7" test "$(ls "$TMP/cams_kg"/*.npy | wc -l)" -eq 7 -a ! -e "$TMP/cams_kg/2007_000129.npy"
expect_exit_status_help cam
check "eval-cam reads the CAMs" test $? -eq 0

# ViT: train, then the attention-rollout relevance maps.
"$PM" train-cls --dataset "$VOC" --arch vit-tiny --out "$TMP/v" --epochs 1 "${SMALL[@]}" > "$TMP/vtrain.txt"
check "train-cls vit-tiny exits 0" test -s "$TMP/v/model.pth"
"$PM" cam --model "$TMP/v/model.pth" --dataset "$VOC" --split "$TMP/list.txt" --out "$TMP/vcams" --jobs 2 --quiet > "$TMP/vcam.txt"
check "ViT cam writes one file per image" test "$(ls "$TMP/vcams"/*.npy | wc -l)" -eq 8

# Bad input: one line naming the file or the flag.
printf 'not a checkpoint' > "$TMP/bad.pth"
expect_error "bad model file names the file" "bad.pth" -- "$PM" cam --model "$TMP/bad.pth" --dataset "$VOC" --split "$TMP/list.txt" --out "$TMP/x"
expect_error "pretrained of another family reports the keys" "cannot load" -- "$PM" train-cls --dataset "$VOC" --arch resnet-tiny --pretrained "$ROOT/tests/fixtures/nn/vit_tiny.pth" --out "$TMP/x" "${SMALL[@]}"
expect_error "unknown architecture" "--arch resnet18" -- "$PM" train-cls --dataset "$VOC" --arch resnet18 --out "$TMP/x" "${SMALL[@]}"
expect_error "an option's error names its flag" "--epochs 0: must be positive" -- "$PM" train-cls --dataset "$VOC" --arch resnet-tiny --epochs 0 --out "$TMP/x" "${SMALL[@]}"
if [ ! -e /dev/nvidia0 ]; then
  expect_error "cuda without CUDA is refused" "--device cuda" -- "$PM" train-cls --dataset "$VOC" --arch resnet-tiny --device cuda --out "$TMP/x" "${SMALL[@]}"
fi

# Without the module (a build with PM_BUILD_NN=OFF): one clear line.
mkdir -p "$TMP/bin"
cp "$PM" "$TMP/bin/pseudomask"
expect_error "missing nn module is one clear line" "PM_BUILD_NN=ON" -- "$TMP/bin/pseudomask" train-cls --help

finish nn_smoke
