#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# End-to-end checks of `pseudomask irn-labels`: selfcheck's CAMs of the VOC sample (blurred ground
# truth) walked with class-boundary maps drawn from the ground truth's own edges, as .npy and as
# .png; the labels are scored; bad boundary maps and flags fail in one line naming the problem.
# Usage: irn_smoke.sh PSEUDOMASK DATA_DIR   (needs python3 with numpy and PIL)
set -u
PM="$1"
DATA="$2"  # tests/data
source "$(dirname "$0")/lib.sh"
GT="$DATA/voc_sample/SegmentationClass"
PY=""
for p in python3 /usr/bin/python3; do
  if "$p" -c "import numpy, PIL" > /dev/null 2>&1; then PY="$p"; break; fi
done
if [ -z "$PY" ]; then
  echo "irn_smoke: python3 with PIL and numpy not found (Debian python3-pil, python3-numpy); skipped"
  exit 0
fi

"$PM" selfcheck --out "$TMP/demo" > /dev/null
CAMS="$TMP/demo/cams"
mkdir -p "$TMP/boundary" "$TMP/boundary_open" "$TMP/bad"
# Boundary 1 at stride-4 pixels whose label differs from an 8-neighbour's (void takes no side).
"$PY" - "$GT" "$TMP/boundary" "$TMP/bad" <<'PY'
import os, sys
import numpy as np
from PIL import Image
gt_dir, out, bad = sys.argv[1:4]
for i, name in enumerate(sorted(os.listdir(gt_dir))):
    gt = np.array(Image.open(os.path.join(gt_dir, name)))
    s = gt[::4, ::4].astype(int)
    h, w = s.shape
    b = np.zeros((h, w), np.float32)
    for y in range(h):
        for x in range(w):
            seen = s[y, x]
            for yy in range(max(y - 1, 0), min(y + 2, h)):
                for xx in range(max(x - 1, 0), min(x + 2, w)):
                    o = s[yy, xx]
                    if o == 255:
                        continue
                    if seen == 255:
                        seen = o
                    elif o != seen:
                        b[y, x] = 1
    stem = name[:-4]
    np.save(os.path.join(out + "_open", stem + ".npy"), np.zeros_like(b))
    if i % 2:
        np.save(os.path.join(out, stem + ".npy"), b)
    else:
        Image.fromarray((b * 255).astype(np.uint8)).save(os.path.join(out, stem + ".png"))
    if i == 0:
        np.save(os.path.join(bad, stem + ".npy"), b[:-1])
PY
check "the boundary maps are written" test "$(ls "$TMP/boundary" | wc -l)" -eq 8

"$PM" irn-labels --cams "$CAMS" --boundary "$TMP/boundary" --out "$TMP/irn" --jobs 2 --quiet > /dev/null
check "irn-labels exits 0" test $? -eq 0
check "irn-labels writes a label PNG per CAM file" test "$(ls "$TMP/irn"/*.png | wc -l)" -eq 8
# The control: the same walk with no boundaries spreads every class over its neighbours.
"$PM" irn-labels --cams "$CAMS" --boundary "$TMP/boundary_open" --out "$TMP/open" --quiet > /dev/null
for set in irn open; do
  "$PM" eval --gt "$GT" --pred "$TMP/$set" --json "$TMP/eval_$set.json" --quiet > /dev/null
done
MIOU_IRN=$(python3 -c "import json; print(json.load(open('$TMP/eval_irn.json'))['mean_iou'])")
MIOU_OPEN=$(python3 -c "import json; print(json.load(open('$TMP/eval_open.json'))['mean_iou'])")
echo "     mIoU of the walk: with ground-truth boundaries $MIOU_IRN, with none $MIOU_OPEN"
check "the walk stops at the boundaries" \
  python3 -c "import sys; sys.exit(not $MIOU_IRN > $MIOU_OPEN + 0.05)"

"$PM" irn-labels --cams "$CAMS" --boundary "$TMP/boundary" --out "$TMP/irn" --resume --quiet > /dev/null
check "--resume skips the finished images" \
  python3 -c "import json, sys; sys.exit(json.load(open('$TMP/irn/irn-labels_summary.json'))['images_skipped'] != 8)"

FIRST=$(ls "$TMP/bad")
echo "${FIRST%.npy}" > "$TMP/first.txt"
expect_error "a boundary map of the wrong size names the file and the size" "${FIRST}: expected a (" \
  -- "$PM" irn-labels --cams "$CAMS" --boundary "$TMP/bad" --out "$TMP/bad_out" --list "$TMP/first.txt" --quiet
expect_skipped "--keep-going skips images without a boundary map" "boundary map" \
  -- "$PM" irn-labels --cams "$CAMS" --boundary "$TMP/bad" --out "$TMP/bad_out2" --keep-going --quiet
expect_error "--beta 0 is refused, naming the flag" "--beta" \
  -- "$PM" irn-labels --cams "$CAMS" --boundary "$TMP/boundary" --out "$TMP/x" --beta 0
expect_exit_status_help irn-labels
finish irn_smoke
