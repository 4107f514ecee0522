#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# End-to-end checks of `pseudomask train-irn` and `irn-labels --irn` (issue 20) on the 8-image VOC
# sample: a tiny IRN trained for a few steps on IR labels (the ground truth, whose void borders
# are IRN's "unsure"), a stopped and resumed run equal to an unbroken one, the network's boundary
# maps walked with selfcheck's CAMs into labels that eval scores, the written boundary PNGs read
# back through --boundary, and bad inputs failing in one line naming the file or flag.
# Usage: train_irn_smoke.sh PSEUDOMASK DATA_DIR
set -u
PM="$1"
DATA="$2"  # tests/data
source "$(dirname "$0")/lib.sh"

skip_without_nn train_irn_smoke

VOC="$DATA/voc_sample"
GT="$VOC/SegmentationClass"
ls "$VOC/JPEGImages" | sed 's/\.jpg$//' > "$TMP/list.txt"
BASE=(--dataset "$VOC" --split "$TMP/list.txt" --batch-size 4 --threads 1 --workers 2 --quiet)
TRAIN=("${BASE[@]}" --ir-labels "$GT" --arch resnet-tiny --crop 128 --iterations 4)

"$PM" train-irn --help > "$TMP/help.txt"
check "train-irn --help has an example" grep -q "Example" "$TMP/help.txt"
"$PM" train-irn "${TRAIN[@]}" --out "$TMP/irn" > "$TMP/train.txt"
check "train-irn exits 0" test $? -eq 0
check "train-irn writes model.pth and last.pth" test -s "$TMP/irn/model.pth" -a -s "$TMP/irn/last.pth"
check "train-irn logs the four losses of every step" python3 -c "
import csv, sys; rows = list(csv.DictReader(open(sys.argv[1])))
assert [int(r['step']) for r in rows] == [0, 1, 2, 3], rows
for r in rows:
    assert all(float(r[k]) >= 0 for k in ('pos_aff', 'neg_aff', 'dp_fg', 'dp_bg')), r
    total = (float(r['pos_aff']) + float(r['neg_aff'])) / 2 + (float(r['dp_fg']) + float(r['dp_bg'])) / 2
    assert abs(total - float(r['loss'])) < 1e-4, r
assert float(rows[0]['neg_aff']) > 0 and float(rows[0]['dp_fg']) > 0, rows[0]" "$TMP/irn/train_log.csv"
check "train-irn writes its summary" python3 -c "
import json, sys; j = json.load(open(sys.argv[1]))
assert j['total_steps'] == 4 and j['finished'] and j['arch'] == 'resnet-tiny', j
assert j['num_classes'] == 21 and j['momentum'] == 1e-4 and j['dp_lr_mult'] == 10, j
f = j['frozen']  # IRN freezes the whole backbone, BatchNorm included
assert f['trainable_parameters'] == 0 and f['parameters'] > 0 and f['batchnorm_eval'] == f['batchnorm'] > 0, j" \
  "$TMP/irn/train_irn_summary.json"

# A train-cls classifier of the same backbone initialises it (its backbone.*), as the demo does.
"$PM" train-cls --dataset "$VOC" --split "$TMP/list.txt" --arch resnet-tiny --epochs 1 --crop 64 \
  --batch-size 4 --threads 1 --out "$TMP/cls" --quiet > /dev/null
"$PM" train-irn "${BASE[@]}" --ir-labels "$GT" --arch resnet-tiny --crop 128 --iterations 1 \
  --pretrained "$TMP/cls/model.pth" --out "$TMP/from_cls" > /dev/null
check "train-irn starts from a train-cls model's backbone" test -s "$TMP/from_cls/model.pth"
expect_error "a --pretrained file of another backbone is refused, naming it" "cls/model.pth" \
  -- "$PM" train-irn "${BASE[@]}" --ir-labels "$GT" --arch resnet50 --crop 128 --iterations 1 \
  --pretrained "$TMP/cls/model.pth" --out "$TMP/from_cls50"

# Stop after two steps, then resume: the same log and the same weights as the unbroken run.
"$PM" train-irn "${TRAIN[@]}" --out "$TMP/res" --stop-after 2 > /dev/null
check "a stopped run leaves no model.pth" test ! -e "$TMP/res/model.pth"
"$PM" train-irn "${TRAIN[@]}" --out "$TMP/res" --resume > /dev/null
check "the resumed run repeats the unbroken run's losses" cmp -s "$TMP/irn/train_log.csv" "$TMP/res/train_log.csv"
check "the resumed run's model.pth equals the unbroken run's" cmp -s "$TMP/irn/model.pth" "$TMP/res/model.pth"
check "the resumed run starts at step 2" grep -q '"start_step": 2' "$TMP/res/train_irn_summary.json"
expect_error "resuming another architecture is refused" "arch" \
  -- "$PM" train-irn "${BASE[@]}" --ir-labels "$GT" --arch resnet50 --crop 128 --iterations 4 --out "$TMP/res" --resume

# The network's boundaries and the walk.
"$PM" selfcheck --out "$TMP/demo" > /dev/null
CAMS="$TMP/demo/cams"
"$PM" irn-labels --cams "$CAMS" --irn "$TMP/irn/model.pth" --dataset "$VOC" --list "$TMP/list.txt" \
  --boundary-out "$TMP/bnd" --out "$TMP/lab" --threads 1 --jobs 2 --quiet > /dev/null
check "irn-labels --irn exits 0" test $? -eq 0
check "irn-labels --irn writes a label PNG per image" test "$(ls "$TMP/lab"/*.png | wc -l)" -eq 8
check "--boundary-out writes a boundary PNG per image" test "$(ls "$TMP/bnd"/*.png | wc -l)" -eq 8
"$PM" eval --gt "$GT" --pred "$TMP/lab" --json "$TMP/eval.json" --quiet > /dev/null
check "eval scores the labels" python3 -c "
import json, sys; j = json.load(open(sys.argv[1])); print('     mIoU of irn-labels --irn:', j['mean_iou'])
assert 0 < j['mean_iou'] <= 1" "$TMP/eval.json"
"$PM" irn-labels --cams "$CAMS" --boundary "$TMP/bnd" --out "$TMP/lab_png" --quiet > /dev/null
"$PM" irn-labels --cams "$CAMS" --boundary "$TMP/bnd" --boundary-out "$TMP/bnd2" --out "$TMP/lab_png2" --quiet > /dev/null
check "--boundary-out in --boundary mode writes the maps it read" \
  bash -c "for f in '$TMP/bnd'/*.png; do cmp -s \"\$f\" '$TMP/bnd2'/\$(basename \"\$f\") || exit 1; done"
check "the boundary PNGs read back give the network's labels (within 8-bit quantisation)" \
  /usr/bin/python3 -c "
import os, sys
import numpy as np
from PIL import Image
a, b = sys.argv[1:3]; same = total = 0
for n in sorted(os.listdir(a)):
    if not n.endswith('.png'): continue
    x = np.array(Image.open(os.path.join(a, n))); y = np.array(Image.open(os.path.join(b, n)))
    same += int((x == y).sum()); total += x.size
print('     labels equal on %.4f of the pixels' % (same / total))
assert same >= 0.99 * total" "$TMP/lab" "$TMP/lab_png"
"$PM" irn-labels --cams "$CAMS" --irn "$TMP/irn/model.pth" --dataset "$VOC" --list "$TMP/list.txt" \
  --boundary-out "$TMP/bnd" --out "$TMP/lab" --resume --quiet > /dev/null
check "irn-labels --irn --resume skips the finished images" python3 -c "
import json, sys; sys.exit(json.load(open(sys.argv[1]))['images_skipped'] != 8)" "$TMP/lab/irn-labels_summary.json"

# Bad inputs.
mkdir -p "$TMP/ir_missing" "$TMP/ir_size" "$TMP/ir_range"
cp "$GT"/*.png "$TMP/ir_missing/"
FIRST=$(head -1 "$TMP/list.txt")
rm "$TMP/ir_missing/$FIRST.png"
expect_error "a missing IR label names the file" "ir_missing/$FIRST.png: missing" \
  -- "$PM" train-irn "${BASE[@]}" --arch resnet-tiny --ir-labels "$TMP/ir_missing" --out "$TMP/bad1"
head -1 "$TMP/list.txt" > "$TMP/one.txt"
/usr/bin/python3 - "$GT/$FIRST.png" "$TMP/ir_size/$FIRST.png" "$TMP/ir_range/$FIRST.png" <<'PY'
import sys
import numpy as np
from PIL import Image
gt = np.array(Image.open(sys.argv[1]))
Image.fromarray(gt[:-3]).save(sys.argv[2])
bad = gt.copy(); bad[0, 0] = 30
Image.fromarray(bad).save(sys.argv[3])
PY
ONE=(--dataset "$VOC" --split "$TMP/one.txt" --arch resnet-tiny --crop 128 --batch-size 1
  --iterations 1 --threads 1 --quiet)
expect_error "an IR label of the wrong size names the file" "ir_size/$FIRST.png: IR labels are" \
  -- "$PM" train-irn "${ONE[@]}" --ir-labels "$TMP/ir_size" --out "$TMP/bad2"
expect_error "an IR label out of range names the file" "ir_range/$FIRST.png: label 30 is out of range" \
  -- "$PM" train-irn "${ONE[@]}" --ir-labels "$TMP/ir_range" --out "$TMP/bad3"
expect_error "--crop must be a multiple of 4" "\-\-crop 130" \
  -- "$PM" train-irn "${BASE[@]}" --ir-labels "$GT" --arch resnet-tiny --crop 130 --out "$TMP/bad4"
expect_error "--boundary and --irn exclude each other" "exactly one" \
  -- "$PM" irn-labels --cams "$CAMS" --boundary "$TMP/bnd" --irn "$TMP/irn/model.pth" --dataset "$VOC" --out "$TMP/bad5"
expect_error "irn-labels needs a boundary source" "exactly one" \
  -- "$PM" irn-labels --cams "$CAMS" --out "$TMP/bad6"
expect_error "--irn needs --dataset" "\-\-irn needs \-\-dataset" \
  -- "$PM" irn-labels --cams "$CAMS" --irn "$TMP/irn/model.pth" --out "$TMP/bad7"
expect_error "--irn refuses a file that is not an IRN model, naming it" "$FIRST.npy" \
  -- "$PM" irn-labels --cams "$CAMS" --irn "$TMP/demo/cams/$FIRST.npy" --dataset "$VOC" --list "$TMP/one.txt" --out "$TMP/bad8"
mkdir -p "$TMP/vocbad/JPEGImages"
/usr/bin/python3 -c "
import sys
from PIL import Image
im = Image.open(sys.argv[1]); im.resize((im.width // 2, im.height // 2)).save(sys.argv[2])" \
  "$VOC/JPEGImages/$FIRST.jpg" "$TMP/vocbad/JPEGImages/$FIRST.jpg"
expect_error "--irn names an image whose size differs from its CAMs" "$FIRST.jpg: image is" \
  -- "$PM" irn-labels --cams "$CAMS" --irn "$TMP/irn/model.pth" --dataset "$TMP/vocbad" --list "$TMP/one.txt" --out "$TMP/bad9"
finish train_irn_smoke
