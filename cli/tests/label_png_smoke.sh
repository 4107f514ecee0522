#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Label PNGs every reader reads the same: by default they are 8-bit grayscale, so PIL, imageio
# and OpenCV (which turn a palette PNG into its colours) all get the raw indices; --palette voc
# writes the VOC colours for viewing. The decoding checks need python3 with PIL and numpy
# (Debian python3-pil, python3-numpy) and are skipped without them.
# Usage: label_png_smoke.sh PSEUDOMASK [DATA_DIR]
set -u
PM="$1"
source "$(dirname "$0")/lib.sh"

"$PM" synth --out "$TMP/gray" --train 3 --val 1 --size 48 --quiet > /dev/null
check "synth exits 0" test $? -eq 0
"$PM" synth --out "$TMP/voc" --train 3 --val 1 --size 48 --palette voc --quiet > /dev/null
check "synth --palette voc exits 0" test $? -eq 0
check "synth --help documents --palette" bash -c '"$0" synth --help | grep -q -- "--palette.*none.*grayscale"' "$PM"
for cmd in labels crf urn; do
  check "$cmd --help documents --palette" bash -c '"$0" "$1" --help | grep -q -- "--palette"' "$PM" "$cmd"
done
expect_error "a bad --palette names the flag and the choices" "--palette jet: expected none or voc" -- "$PM" synth --out "$TMP/bad" --train 1 --val 1 --size 48 --palette jet --quiet
check "a bad --palette writes nothing" test ! -e "$TMP/bad"
# Our own reader gets the same indices from both.
"$PM" inspect "$TMP/gray/SegmentationClass/"*.png > "$TMP/gray.txt"
"$PM" inspect "$TMP/voc/SegmentationClass/"*.png | sed 's|/voc/|/gray/|' > "$TMP/voc.txt"
check "both hold the same label values" cmp -s "$TMP/gray.txt" "$TMP/voc.txt"
check "the IHDR colour type is 0 (grayscale) by default" bash -c 'for f in "$0"/*.png; do [ "$(od -An -tu1 -j25 -N1 "$f" | tr -d " ")" = 0 ] || exit 1; done' "$TMP/gray/SegmentationClass"
check "and 3 (palette) with --palette voc" bash -c 'for f in "$0"/*.png; do [ "$(od -An -tu1 -j25 -N1 "$f" | tr -d " ")" = 3 ] || exit 1; done' "$TMP/voc/SegmentationClass"

PY=""
for p in python3 /usr/bin/python3; do
  if "$p" -c "import numpy, PIL" > /dev/null 2>&1; then PY="$p"; break; fi
done
if [ -z "$PY" ]; then
  echo "label_png_smoke: python3 with PIL and numpy not found; decoding checks skipped"
else
  # PIL: mode L and the indices. A colour decode (imageio's and OpenCV's of a palette PNG; PIL's
  # convert) sees the indices as gray levels in every channel for our default PNGs, but the VOC
  # colours for palette PNGs: the trap the default avoids.
  "$PY" - "$TMP/gray/SegmentationClass" "$TMP/voc/SegmentationClass" > "$TMP/py.txt" 2>&1 <<'PYEOF'
import os, sys
import numpy as np
from PIL import Image
gray_dir, voc_dir = sys.argv[1], sys.argv[2]
for name in sorted(os.listdir(gray_dir)):
    g = Image.open(os.path.join(gray_dir, name))
    p = Image.open(os.path.join(voc_dir, name))
    assert g.mode == "L", (name, g.mode)
    assert p.mode == "P", (name, p.mode)
    idx = np.array(p)  # PIL gives a palette PNG's indices
    assert idx.max() > 0, name
    assert np.array_equal(np.array(g), idx), name
    rgb = np.array(g.convert("RGB"))
    assert all(np.array_equal(rgb[..., c], idx) for c in range(3)), name
    assert np.array_equal(np.array(g.convert("L")), idx), name
    assert not np.array_equal(np.array(p.convert("RGB"))[..., 0], idx), name
print("decoded", len(os.listdir(gray_dir)))
PYEOF
  rc=$?
  check "PIL reads mode L with the raw indices; colour decodes see the indices" test $rc -eq 0
  [ $rc -eq 0 ] || cat "$TMP/py.txt"
fi

finish label_png_smoke
