#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# End-to-end checks of `pseudomask synth` and `pseudomask show`: byte-identical output for any
# --jobs, resume and shards, a dataset that eval reads, contact sheets, and one-line errors.
# Usage: synth_smoke.sh PSEUDOMASK [DATA_DIR]
set -u
PM="$1"
source "$(dirname "$0")/lib.sh"

FLAGS=(--train 12 --val 6 --size 64 --seed 3)
D="$TMP/a"
"$PM" synth --out "$D" "${FLAGS[@]}" --jobs 1 --contact-sheet "$TMP/sheet_a.png" --sheet-count 6 --quiet > "$TMP/synth.txt"
check "synth exits 0" test $? -eq 0
check "synth writes 18 images and 18 masks" \
  test "$(ls "$D/JPEGImages" | wc -l)" -eq 18 -a "$(ls "$D/SegmentationClass" | wc -l)" -eq 18
check "synth writes the split lists" \
  test "$(wc -l < "$D/ImageSets/Segmentation/train.txt")" -eq 12 -a "$(wc -l < "$D/ImageSets/Segmentation/val.txt")" -eq 6 -a "$(wc -l < "$D/ImageSets/Segmentation/trainval.txt")" -eq 18
check "classes.txt has background + 10 classes" test "$(wc -l < "$D/classes.txt")" -eq 11
check "cls_labels.npy is a .npy" bash -c "head -c 6 '$D/cls_labels.npy' | grep -q NUMPY"
check "synth.json has the context statistics" grep -q '"context_cooccurrence"' "$D/synth.json"
check "synth.json has the seed" grep -q '"seed": 3' "$D/synth.json"
check "contact sheet written" test -s "$TMP/sheet_a.png"

"$PM" synth --out "$TMP/b" "${FLAGS[@]}" --jobs 2 --contact-sheet "$TMP/sheet_b.png" --sheet-count 6 --quiet > /dev/null
check "same seed, other --jobs: byte-identical dataset" diff -r "$D" "$TMP/b"
check "same seed: byte-identical contact sheet" cmp -s "$TMP/sheet_a.png" "$TMP/sheet_b.png"
"$PM" synth --out "$TMP/c" --train 12 --val 6 --size 64 --seed 4 --quiet > /dev/null
check "another seed: other images" bash -c "! cmp -s '$D/JPEGImages/train_00000.png' '$TMP/c/JPEGImages/train_00000.png'"

"$PM" synth --out "$TMP/s" "${FLAGS[@]}" --shard 0/2 --quiet > /dev/null
"$PM" synth --out "$TMP/s" "${FLAGS[@]}" --shard 1/2 --quiet > /dev/null
check "two shards make the same dataset" diff -r "$D" "$TMP/s"

rm "$D/JPEGImages/val_00002.png"
"$PM" synth --out "$D" "${FLAGS[@]}" --resume --quiet > "$TMP/resume.txt"
check "resume regenerates only what is missing" grep -q "1 images written, 17 skipped" "$TMP/resume.txt"
check "resumed dataset is byte-identical" diff -r "$D" "$TMP/b"

# The dataset is what eval and the other commands read: ground truth against itself is 100 %.
"$PM" eval --gt "$D/SegmentationClass" --pred "$D/SegmentationClass" --num-classes 11 \
  --classes "$D/classes.txt" --list "$D/ImageSets/Segmentation/val.txt" --json "$TMP/eval.json" --quiet > "$TMP/eval.txt"
check "eval reads the synthetic dataset" grep -q '"mean_iou": 1.0' "$TMP/eval.json"
check "eval names the synthetic classes" grep -q "pottedplant" "$TMP/eval.txt"

# show: contact sheet from the dataset, per-image overlays with resume, and URN-style weights.
"$PM" show --dataset "$D" --split val --count 4 --out "$TMP/show/sheet.png" --quiet > /dev/null
check "show writes a contact sheet" test -s "$TMP/show/sheet.png"
check "show writes JSON beside the sheet" grep -q '"images_done": 4' "$TMP/show/sheet.json"
mkdir -p "$TMP/weights"
cp "$D/SegmentationClass/"val_0000[01].png "$TMP/weights/"
printf 'val_00000\nval_00001\n' > "$TMP/two.txt"
"$PM" show --images "$D/JPEGImages" --gt "$D/SegmentationClass" --labels "$D/SegmentationClass" \
  --weights "$TMP/weights" --list "$TMP/two.txt" --out "$TMP/per_image" --quiet > /dev/null
check "show writes one PNG per image" test -s "$TMP/per_image/val_00000.png" -a -s "$TMP/per_image/val_00001.png"
check "show writes show_summary.json" grep -q '"uncertainty' "$TMP/per_image/show_summary.json"
"$PM" show --images "$D/JPEGImages" --gt "$D/SegmentationClass" --labels "$D/SegmentationClass" \
  --weights "$TMP/weights" --list "$TMP/two.txt" --out "$TMP/per_image" --resume --quiet > "$TMP/show_resume.txt"
check "show --resume skips existing overlays" grep -q "0 images drawn, 2 skipped" "$TMP/show_resume.txt"
"$PM" show --images "$D/JPEGImages" --gt "$D/SegmentationClass" --list "$TMP/two.txt" \
  --out "$TMP/per_image" --resume --quiet > /dev/null 2> "$TMP/show_other.txt"
check "show --resume refuses overlays drawn with other panels" grep -q "made with other settings (columns:" "$TMP/show_other.txt"

# Bad input: one line naming the file or flag, non-zero exit.
expect_error "synth refuses a tiny size" "\-\-size 8" -- "$PM" synth --out "$TMP/bad" --size 8
expect_error "synth refuses a bad rate" "\-\-context-rate 2" -- "$PM" synth --out "$TMP/bad" --context-rate 2
mkdir -p "$TMP/gt_partial"
cp "$D/SegmentationClass/val_00000.png" "$TMP/gt_partial/"
expect_error "show names a missing ground truth" "gt_partial/val_00001.png: missing ground truth" -- \
  "$PM" show --images "$D/JPEGImages" --gt "$TMP/gt_partial" --list "$TMP/two.txt" --out "$TMP/x.png" --quiet
mkdir -p "$TMP/cams"
printf 'not a cam' > "$TMP/cams/val_00000.npy"
expect_error "show names a corrupt CAM file" "cams/val_00000.npy" -- \
  "$PM" show --images "$D/JPEGImages" --cams "$TMP/cams" --ids val_00000 --out "$TMP/y.png" --quiet
cp "$D/JPEGImages/train_00000.png" "$TMP/weights/val_00001.png"
printf 'x' > "$TMP/weights/val_00000.png"
"$PM" show --images "$D/JPEGImages" --weights "$TMP/weights" --list "$TMP/two.txt" --keep-going \
  --out "$TMP/kg.png" --quiet > "$TMP/kg.txt" 2> "$TMP/kg.err"
check "show --keep-going exits 3 (inputs skipped)" test $? -eq 3
check "show --keep-going draws the good image" grep -q "1 images drawn" "$TMP/kg.txt"
check "show --keep-going lists the bad file" grep -q "weights/val_00000.png" "$TMP/kg.err"

mkdir -p "$TMP/blocked/JPEGImages/train_00003.png"  # a folder where an image goes: it cannot be written
expect_error "synth names an image it cannot write" "train_00003.png" -- "$PM" synth --out "$TMP/blocked" "${FLAGS[@]}" --jobs 1 --quiet
expect_skipped "synth --keep-going exits 3, naming the image" "train_00003" -- "$PM" synth --out "$TMP/blocked" "${FLAGS[@]}" --keep-going --quiet
check "synth --keep-going writes the other 17 images" test "$(ls "$TMP/blocked/JPEGImages" | wc -l)" -eq 18 -a "$(ls "$TMP/blocked/SegmentationClass" | wc -l)" -eq 17

check "synth --help has an example" bash -c "'$PM' synth --help | grep -q 'pseudomask synth --out'"
check "show --help has an example" bash -c "'$PM' show --help | grep -q 'pseudomask show --dataset'"

finish synth_smoke
