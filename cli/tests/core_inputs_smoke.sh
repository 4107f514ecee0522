#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Hostile inputs the core refuses with one clear line and exit 1 (issue 17): kernel widths the
# CRF lattice cannot represent.
# Usage: core_inputs_smoke.sh PSEUDOMASK SHARED_DIR
PM="$1"
SHARED="$2"
source "$(dirname "$0")/lib.sh"

VOC="$SHARED/data/voc_sample"
crf_on_voc() { "$PM" crf --images "$VOC/JPEGImages" --labels "$VOC/SegmentationClass" --out "$TMP/crf" --quiet "$@"; }
expect_error "crf --bilateral 1e-10,13,10 names the width it cannot represent" "bilateral SXY = 1e-10 is too small" -- crf_on_voc --bilateral 1e-10,13,10
expect_error "crf --gaussian 1e-30,3 names the width it cannot represent" "gaussian SXY = 1e-30 is too small" -- crf_on_voc --gaussian 1e-30,3
expect_error "crf --bilateral 80,1e-30,10 names the colour width" "bilateral SRGB = 1e-30 is too small" -- crf_on_voc --bilateral 80,1e-30,10

finish core_inputs_smoke
