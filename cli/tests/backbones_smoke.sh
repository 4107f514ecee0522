#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The published WSSS backbones torchvision lacks, end to end: for resnet38d (ResNet-38) and
# res2net101 (Res2Net-101 v1b), train-cls takes one step from random initialisation on two
# tiny synthetic images, cam writes CAM files from that model, and eval-cam reads them.
# Full-size networks: each model.pth is 170-420 MB in the temporary folder.
# Usage: backbones_smoke.sh PSEUDOMASK [DATA_DIR]
set -u
PM="$1"
source "$(dirname "$0")/lib.sh"

skip_without_nn backbones_smoke

D="$TMP/synth"
"$PM" synth --out "$D" --train 2 --val 2 --size 32 --seed 7 --quiet > /dev/null
check "synth exits 0" test $? -eq 0

for ARCH in resnet38d res2net101; do
  "$PM" train-cls --dataset "$D" --split train --arch "$ARCH" --epochs 1 --batch-size 2 \
    --crop 32 --resize-long 32,32 --threads 2 --workers 1 --out "$TMP/$ARCH" --quiet > /dev/null
  check "$ARCH: train-cls exits 0" test $? -eq 0
  check "$ARCH: train-cls writes model.pth" test -s "$TMP/$ARCH/model.pth"
  rm -f "$TMP/$ARCH/last.pth"
  "$PM" cam --model "$TMP/$ARCH/model.pth" --dataset "$D" --split val --out "$TMP/cams_$ARCH" \
    --scales 1 --jobs 1 --quiet > /dev/null
  check "$ARCH: cam exits 0" test $? -eq 0
  check "$ARCH: cam writes one file per image" test "$(ls "$TMP/cams_$ARCH"/*.npy | wc -l)" -eq 2
  "$PM" eval-cam --gt "$D/SegmentationClass" --cams "$TMP/cams_$ARCH" \
    --list "$D/ImageSets/Segmentation/val.txt" --json "$TMP/eval_$ARCH.json" --quiet > /dev/null
  check "$ARCH: eval-cam exits 0" test $? -eq 0
  check "$ARCH: eval-cam scores both CAM files" python3 -c "
import json, sys; j = json.load(open(sys.argv[1]))
assert j['images'] == 2 and 0 <= j['best']['mean_iou'] <= 1, j['best']" "$TMP/eval_$ARCH.json"
  rm -rf "$TMP/$ARCH"
done

finish backbones_smoke
