#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `--recipe NAME` end to end on the synthetic set: every recipe on every command it covers runs
# to the end on the CPU with its budget cut down by explicit flags (--epochs/--iterations) and a
# tiny model (--arch ...-tiny, --width tiny), and the summaries show the recipe's values where no
# flag overrode them; unknown names and wrong commands fail in one line.
# Usage: recipes_smoke.sh PSEUDOMASK [DATA_DIR]
set -u
PM="$1"
source "$(dirname "$0")/lib.sh"

skip_without_nn recipes_smoke

has_flag() {  # has_flag COMMAND... FLAG: the command's --help lists FLAG
  local flag="${*: -1}"
  "$PM" "${@:1:$#-1}" --help 2>/dev/null | grep -q -- "$flag"
}
json_is() {  # json_is FILE PYTHON-EXPRESSION-OF-s: the summary satisfies it
  python3 -c "import json, sys; s = json.load(open(sys.argv[1])); assert $2, s" "$1"
}

D="$TMP/synth"
"$PM" synth --out "$D" --train 8 --val 2 --size 48 --seed 3 --quiet > /dev/null
check "synth exits 0" test $? -eq 0
CPU=(--threads 1 --quiet)

# ---- orandnet-voc: the ViT classifier (chosen by --arch), its CAMs, the FCN-8s, DeepLab-v1 ----
"$PM" train-cls --recipe orandnet-voc --arch vit-tiny --dataset "$D" --split train --epochs 1 \
  --batch-size 4 --crop 48 --resize-long 40,56 --workers 1 --out "$TMP/vit" "${CPU[@]}" > "$TMP/vit.txt"
check "train-cls --recipe orandnet-voc (ViT) exits 0" test $? -eq 0
check "train-cls prints what the recipe set and what was kept" \
  grep -q "recipe orandnet-voc: .*--lr 1e-3 --lr-schedule cosine.*; your own: --epochs --batch-size" "$TMP/vit.txt"
check "ViT: the paper's lr 1e-3, cosine, wd 1e-5; code's clip 1" json_is "$TMP/vit/train_cls_summary.json" \
  "s['recipe'] == 'orandnet-voc' and s['lr'] == 1e-3 and s['lr_schedule'] == 'cosine' and s['weight_decay'] == 1e-5 and s['clip_grad'] == 1 and s['epochs'] == 1 and s['batch_size'] == 4"

# The ResNet-50 classifier needs --norm-eval and --frozen-stages (issue 19's backbone work).
if has_flag train-cls --frozen-stages && has_flag train-cls --norm-eval; then
  "$PM" train-cls --recipe orandnet-voc --arch resnet-tiny --dataset "$D" --split train --epochs 1 \
    --batch-size 4 --crop 48 --resize-long 40,56 --workers 1 --out "$TMP/r50" "${CPU[@]}" > /dev/null
  check "train-cls --recipe orandnet-voc (ResNet) exits 0" test $? -eq 0
  check "ResNet: the paper's lr 0.01 poly, wd 5e-4" json_is "$TMP/r50/train_cls_summary.json" \
    "s['lr'] == 0.01 and s['lr_schedule'] == 'poly' and s['weight_decay'] == 5e-4 and s['head_lr_mult'] == 10"
  CNN_MODEL="$TMP/r50/model.pth"
else
  expect_error "a build without --norm-eval refuses the ResNet recipe, naming the flag" \
    "train-cls has no --norm-eval in this build" -- \
    "$PM" train-cls --recipe orandnet-voc --arch resnet-tiny --dataset "$D" --epochs 1 --out "$TMP/r50" "${CPU[@]}"
  CNN_MODEL=""
fi

"$PM" cam --recipe orandnet-voc --model "$TMP/vit/model.pth" --dataset "$D" --split train \
  --vit-size 48 --out "$TMP/cam_vit" "${CPU[@]}" > /dev/null
check "cam --recipe orandnet-voc (ViT) exits 0" test "$(ls "$TMP/cam_vit"/*.npy | wc -l)" -eq 8
CAMS1="$TMP/cam_vit"
if [ -n "$CNN_MODEL" ]; then
  "$PM" cam --recipe orandnet-voc --model "$CNN_MODEL" --dataset "$D" --split train \
    --out "$TMP/cam_cnn" "${CPU[@]}" > /dev/null
  check "cam --recipe orandnet-voc (CNN, scales 1,0.5,1.5,2 + flip) exits 0" test "$(ls "$TMP/cam_cnn"/*.npy | wc -l)" -eq 8
  CAMS1="$TMP/cam_cnn"
fi

"$PM" orandnet train --recipe orandnet-voc --cams1 "$CAMS1" --cams2 "$TMP/cam_vit" --width tiny \
  --iterations 3 --out "$TMP/orand" "${CPU[@]}" > "$TMP/orand.txt"
check "orandnet train --recipe orandnet-voc exits 0" test -s "$TMP/orand/model.pth"
check "ORANDNet: the paper's class-balanced BCE with label smoothing" grep -q "loss balanced-ls" "$TMP/orand.txt"
check "orandnet summary names the recipe" json_is "$TMP/orand/orandnet_train_summary.json" "s['recipe'] == 'orandnet-voc'"
expect_error "--label-smoothing outside [0, 1) fails in one line" "label-smoothing 1: must be in" -- \
  "$PM" orandnet train --cams1 "$CAMS1" --cams2 "$TMP/cam_vit" --width tiny --loss balanced-ls \
  --label-smoothing 1 --iterations 1 --out "$TMP/x" --quiet
"$PM" orandnet infer --model "$TMP/orand/model.pth" --cams1 "$CAMS1" --cams2 "$TMP/cam_vit" \
  --out "$TMP/orand_cams" --quiet > /dev/null
check "orandnet infer reads the recipe's model" test "$(ls "$TMP/orand_cams"/*.npy | wc -l)" -eq 8

SEG=(--dataset "$D" --split train --labels "$D/SegmentationClass" --workers 1 "${CPU[@]}")
"$PM" train-seg --recipe orandnet-voc "${SEG[@]}" --arch deeplab-largefov-tiny --iterations 3 \
  --batch-size 2 --crop 64 --out "$TMP/seg_orand" > /dev/null
check "train-seg --recipe orandnet-voc exits 0" test -s "$TMP/seg_orand/model.pth"
check "DeepLab-v1: scale scheduling 8:2,4:4,2:6, lr 2.5e-4, head x10; --iterations dropped --epochs" \
  json_is "$TMP/seg_orand/train_seg_summary.json" \
  "s['scale_schedule'] == '8:2,4:4,2:6' and s['lr'] == 2.5e-4 and s['head_lr_mult'] == 10 and s['total_steps'] == 3"
"$PM" predict --recipe orandnet-voc --dataset "$D" --split val --model "$TMP/seg_orand/model.pth" \
  --out "$TMP/pred_orand" --quiet > /dev/null
check "predict --recipe orandnet-voc (single scale, CRF) exits 0" json_is "$TMP/pred_orand/predict_summary.json" \
  "s['scales'] == [1.0] and s['crf'] == 'deeplab' and s['flip'] == False"

# ---- urn-voc / urn-coco: PSPNet as the official mmseg code runs it ----
"$PM" predict --recipe urn-voc --dataset "$D" --split val --model "$TMP/seg_orand/model.pth" \
  --out "$TMP/pred_urn" --quiet > /dev/null
check "predict --recipe urn-voc exits 0" test $? -eq 0
check "URN test: ratios 0.5..1.75 of 2048x512, flip, slide 512/480, CRF" json_is "$TMP/pred_urn/predict_summary.json" \
  "s['recipe'] == 'urn-voc' and s['scales'] == [0.5, 0.75, 1.0, 1.25, 1.5, 1.75] and s['scale_base'] == '2048x512' and s['flip'] and s['window'] == 512 and s['crf'] == 'urn'"
check "predict --recipe urn-voc writes the labels" test "$(ls "$TMP/pred_urn/labels" | wc -l)" -eq 2
for recipe in urn-voc urn-coco; do
  if has_flag train-seg --norm-eval; then
    "$PM" train-seg --recipe $recipe "${SEG[@]}" --arch pspnet-tiny --iterations 2 --batch-size 2 \
      --crop 32 --out "$TMP/seg_$recipe" > /dev/null
    check "train-seg --recipe $recipe exits 0" test -s "$TMP/seg_$recipe/model.pth"
    check "$recipe: mmseg's ratio of 2048x512, cat_max_ratio 0.75, aux 0.4, no head multiplier" \
      json_is "$TMP/seg_$recipe/train_seg_summary.json" \
      "s['scale_base'] == '2048x512' and s['cat_max_ratio'] == 0.75 and s['aux_weight'] == 0.4 and s['head_lr_mult'] == 1 and s['momentum'] == 0.9 and s['weight_decay'] == 5e-4"
  else
    expect_error "a build without --norm-eval refuses $recipe on train-seg, naming the flag" \
      "train-seg has no --norm-eval in this build" -- \
      "$PM" train-seg --recipe $recipe "${SEG[@]}" --arch pspnet-tiny --iterations 2 --out "$TMP/seg_$recipe"
  fi
done
# URN's training values spelled out (runs without --norm-eval too): mmseg's ratios of 2048x512
# (48 px images become 256..1024 px before the crop) and the cat_max_ratio retry.
"$PM" train-seg "${SEG[@]}" --arch pspnet-tiny --iterations 2 --batch-size 2 --crop 32 --lr 0.005 \
  --head-lr-mult 1 --min-lr 1e-4 --scale-base 2048x512 --cat-max-ratio 0.75 --aux-weight 0.4 \
  --out "$TMP/seg_urn_flags" > /dev/null
check "train-seg with URN's values as flags exits 0" json_is "$TMP/seg_urn_flags/train_seg_summary.json" \
  "s['scale_base'] == '2048x512' and s['cat_max_ratio'] == 0.75 and s['finished']"
expect_error "--scale-base needs WxH" "expected 'original' or a scale WxH" -- \
  "$PM" train-seg "${SEG[@]}" --scale-base 2048 --iterations 2 --out "$TMP/x"

# ---- errors ----
expect_error "an unknown recipe lists the known ones" "unknown recipe (known: urn-voc, urn-coco, orandnet-voc)" -- \
  "$PM" train-seg --recipe urn --dataset "$D" --labels "$D/SegmentationClass" --out "$TMP/x"
expect_error "a recipe not meant for the command says which it covers" "not a recipe for train-cls (it covers train-seg, predict)" -- \
  "$PM" train-cls --recipe urn-voc --dataset "$D" --out "$TMP/x"
expect_error "urn-coco is not a recipe for cam" "not a recipe for cam" -- \
  "$PM" cam --recipe urn-coco --model "$TMP/vit/model.pth" --dataset "$D" --out "$TMP/x"
check "--help of every command lists --recipe" bash -c \
  "for c in train-cls cam 'orandnet train' train-seg predict; do '$PM' \$c --help | grep -q -- '--recipe' || exit 1; done"

finish recipes_smoke
