#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Hostile inputs the core refuses with one clear line and exit 1 (issue 17): kernel widths the
# CRF lattice cannot represent, zip members over the size limit, escape sequences in a header.
# Usage: core_inputs_smoke.sh PSEUDOMASK DATA_DIR (tests/data)
PM="$1"
DATA="$2"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
source "$(dirname "$0")/lib.sh"

VOC="$DATA/voc_sample"
crf_on_voc() { "$PM" crf --images "$VOC/JPEGImages" --labels "$VOC/SegmentationClass" --out "$TMP/crf" --quiet "$@"; }
expect_error "crf --bilateral 1e-10,13,10 names the width it cannot represent" "bilateral SXY = 1e-10 is too small" -- crf_on_voc --bilateral 1e-10,13,10
expect_error "crf --gaussian 1e-30,3 names the width it cannot represent" "gaussian SXY = 1e-30 is too small" -- crf_on_voc --gaussian 1e-30,3
expect_error "crf --bilateral 80,1e-30,10 names the colour width" "bilateral SRGB = 1e-30 is too small" -- crf_on_voc --bilateral 80,1e-30,10

NPZ="$ROOT/tests/fixtures/npy/compressed.npz"
expect_error "a deflated member over PSEUDOMASK_MAX_MEMBER_BYTES is refused, naming file and member" "compressed.npz (a.npy): declares 152 bytes uncompressed, more than the 100 allowed" -- env PSEUDOMASK_MAX_MEMBER_BYTES=100 "$PM" inspect "$NPZ"
check "the default limit reads the same archive" bash -c '"$1" inspect "$2" > /dev/null' _ "$PM" "$NPZ"

# A .npy whose dtype is a terminal escape sequence (set the window title, clear the screen).
header="{'descr': '"$'\e]0;pwned\a\e[2J'"', 'fortran_order': False, 'shape': (1,), }"
{ printf '\x93NUMPY\x01\x00'; printf "\\x$(printf %02x ${#header})\\x00"; printf '%s' "$header"; } > "$TMP/evil.npy"
expect_error "escape sequences from a .npy header are escaped" "unsupported dtype '\\\\x1b]0;pwned\\\\x07" -- "$PM" inspect "$TMP/evil.npy"
check "no raw ESC byte reaches stderr" bash -c '! "$1" inspect "$2" 2>&1 | grep -q $'"'"'\e'"'"'' _ "$PM" "$TMP/evil.npy"

# Outputs whose names are 250 bytes long (the temp file beside them must not be longer than 255).
ID="$(printf 'l%.0s' $(seq 246))"
mkdir -p "$TMP/long/img" "$TMP/long/lab"
cp "$VOC/JPEGImages/2007_000032.jpg" "$TMP/long/img/$ID.jpg"
cp "$VOC/SegmentationClass/2007_000032.png" "$TMP/long/lab/$ID.png"
"$PM" crf --images "$TMP/long/img" --labels "$TMP/long/lab" --out "$TMP/long/out" --quiet > /dev/null 2>&1
check "crf writes an output named with 250 bytes" test -s "$TMP/long/out/$ID.png"
check "and leaves no temp file behind" bash -c '! ls -A "$1" | grep -q "^\.pm-tmp-"' _ "$TMP/long/out"

finish core_inputs_smoke
