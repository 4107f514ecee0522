#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# --norm-eval and --frozen-stages reach the model: train-cls and train-seg on a small synthetic
# set report in their JSON summary how many backbone parameter tensors stayed frozen and how
# many BatchNorm layers stayed in eval mode while training; bad values give one clear line.
# Usage: freeze_smoke.sh PSEUDOMASK [DATA_DIR]
set -u
PM="$1"
source "$(dirname "$0")/lib.sh"

skip_without_nn freeze_smoke

D="$TMP/synth"
"$PM" synth --out "$D" --train 4 --val 2 --size 48 --seed 3 --quiet > /dev/null
check "synth exits 0" test $? -eq 0
BASE=(--dataset "$D" --split train --crop 48 --batch-size 4 --threads 1 --workers 1 --quiet)

frozen() {  # frozen SUMMARY.json PARAMS BN_EVAL BN: the summary's "frozen" figures
  python3 -c "
import json, sys
f = json.load(open(sys.argv[1]))['frozen']
want = dict(parameters=int(sys.argv[2]), batchnorm_eval=int(sys.argv[3]), batchnorm=int(sys.argv[4]))
got = {k: f[k] for k in want}
assert got == want, (got, want)" "$@"
}

# resnet-tiny: stem {conv1, bn1} = 3 tensors, each stage's one block 12; 17 BatchNorms.
"$PM" train-cls "${BASE[@]}" --arch resnet-tiny --epochs 1 --out "$TMP/cls0" > /dev/null
check "train-cls without the flags freezes nothing (random init)" frozen "$TMP/cls0/train_cls_summary.json" 0 0 17
"$PM" train-cls "${BASE[@]}" --arch resnet-tiny --epochs 1 --norm-eval --frozen-stages 1 --out "$TMP/cls1" > /dev/null
check "train-cls --norm-eval --frozen-stages 1 exits 0" test $? -eq 0
check "train-cls: stem + layer1 frozen, every BatchNorm in eval" frozen "$TMP/cls1/train_cls_summary.json" 15 17 17

"$PM" train-seg "${BASE[@]}" --arch pspnet-tiny --labels "$D/SegmentationClass" --iterations 1 --out "$TMP/seg0" > /dev/null
check "train-seg without the flags freezes nothing" frozen "$TMP/seg0/train_seg_summary.json" 0 0 17
"$PM" train-seg "${BASE[@]}" --arch pspnet-tiny --labels "$D/SegmentationClass" --iterations 1 --norm-eval --out "$TMP/seg1" > /dev/null
check "train-seg --norm-eval: every backbone BatchNorm in eval, nothing frozen" frozen "$TMP/seg1/train_seg_summary.json" 0 17 17
"$PM" train-seg "${BASE[@]}" --arch pspnet-tiny --labels "$D/SegmentationClass" --iterations 1 --frozen-stages 4 --out "$TMP/seg4" > /dev/null
check "train-seg --frozen-stages 4: the whole backbone frozen" frozen "$TMP/seg4/train_seg_summary.json" 51 17 17

expect_error "train-seg --frozen-stages beyond the backbone is refused by flag" "--frozen-stages 5: this backbone has 4 stages" -- \
  "$PM" train-seg "${BASE[@]}" --arch pspnet-tiny --labels "$D/SegmentationClass" --iterations 1 --frozen-stages 5 --out "$TMP/bad"
expect_error "train-cls --frozen-stages below -2 is refused by flag" "--frozen-stages -3" -- \
  "$PM" train-cls "${BASE[@]}" --arch resnet-tiny --epochs 1 --frozen-stages -3 --out "$TMP/bad2"

finish freeze_smoke
