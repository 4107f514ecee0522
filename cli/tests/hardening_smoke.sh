#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Hostile and careless input to the batch commands (issue 17): ids that try to leave the
# folders given, per-file memory and filesystem errors, values accepted silently, --resume
# after a change of settings, and the smaller batch conventions.
# Usage: hardening_smoke.sh PSEUDOMASK DATA_DIR (tests/data)
set -u
PM="$1"
DATA="$2"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
source "$(dirname "$0")/lib.sh"
patch_bytes() {  # patch_bytes FILE OFFSET PRINTF_BYTES: overwrite bytes in place
  printf "$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

S="$DATA/voc_sample"

# --- ids are plain file names, from every source (issue 17 item 2) ---
mkdir -p "$TMP/w/images" "$TMP/victim"
cp "$S/JPEGImages/2007_000032.jpg" "$TMP/w/images/"
cp "$S/JPEGImages/2007_000061.jpg" "$TMP/victim/target.jpg"
printf 'precious' > "$TMP/victim/target.png"
expect_error "show --ids ../../victim/target is refused" "--ids: image id '../../victim/target'" -- \
  "$PM" show --images "$TMP/w/images" --ids ../../victim/target --out "$TMP/w/out" --quiet
check "nothing written outside --out" test "$(cat "$TMP/victim/target.png")" = precious
printf '2007_000032\n../../victim/target\n' > "$TMP/w/list.txt"
expect_error "show --list with ../../victim/target is refused, naming the line" "list.txt:2: '../../victim/target'" -- \
  "$PM" show --images "$TMP/w/images" --list "$TMP/w/list.txt" --out "$TMP/w/out" --quiet
check "nothing written outside --out (list)" test "$(cat "$TMP/victim/target.png")" = precious
check "nothing written inside --out either" test ! -e "$TMP/w/out/2007_000032.png"
expect_error "an absolute id is refused" "image id '/tmp/x'" -- \
  "$PM" show --images "$TMP/w/images" --ids /tmp/x --out "$TMP/w/out" --quiet
printf '2007_000032\n' > "$TMP/w/ok.txt"
expect_error "eval refuses a list with a parent reference" "bad.txt:1:" -- \
  bash -c "printf '../SegmentationClass/2007_000032\n' > '$TMP/w/bad.txt'; '$PM' eval --gt '$S/SegmentationClass' --pred '$S/SegmentationClass' --list '$TMP/w/bad.txt' --quiet"
"$PM" show --images "$TMP/w/images" --ids 2007_000032 --out "$TMP/w/out" --quiet > /dev/null
check "a plain id still works" test -s "$TMP/w/out/2007_000032.png"

# --- out of memory and filesystem errors are one input's error (issue 17 item 4) ---
# A symbolic link loop in the listed input folder (and the image folder): listed, then that
# input fails naming the file; the others go on under --keep-going.
mkdir -p "$TMP/loop/img" "$TMP/loop/lab" "$TMP/loop/gt" "$TMP/loop/pred"
cp "$S/JPEGImages/2007_000032.jpg" "$TMP/loop/img/"
cp "$S/SegmentationClass/2007_000032.png" "$TMP/loop/lab/"
cp "$S/SegmentationClass/2007_000032.png" "$TMP/loop/gt/"
cp "$S/SegmentationClass/2007_000032.png" "$TMP/loop/pred/"
for d in img lab gt pred; do ln -s loop.png "$TMP/loop/$d/loop.png"; done
expect_error "crf: a symlink loop is an error naming the file" "img/loop.png: cannot read (Too many levels of symbolic links)" -- \
  "$PM" crf --images "$TMP/loop/img" --labels "$TMP/loop/lab" --out "$TMP/loop/out" --quiet
expect_skipped "crf --keep-going skips the symlink loop, listing it" "loop" -- \
  "$PM" crf --images "$TMP/loop/img" --labels "$TMP/loop/lab" --out "$TMP/loop/out" --keep-going --quiet
check "crf --keep-going refines the other image" test -s "$TMP/loop/out/2007_000032.png"
expect_error "eval: a symlink loop is an error naming the file" "gt/loop.png: cannot read" -- \
  "$PM" eval --gt "$TMP/loop/gt" --pred "$TMP/loop/pred" --quiet
expect_skipped "eval --keep-going skips the symlink loop" "loop" -- \
  "$PM" eval --gt "$TMP/loop/gt" --pred "$TMP/loop/pred" --keep-going --quiet

# An image whose declared size (16000x16000 RGB, 768 MB) exceeds what memory allows (ulimit -v):
# std::bad_alloc is that image's error. Skipped under ASan, which needs more address space.
if ldd "$PM" 2>/dev/null | grep -q libasan; then
  echo "skip out-of-memory checks (ASan build)"
else
  mkdir -p "$TMP/oom/img" "$TMP/oom/lab"
  cp "$S/JPEGImages/2007_000032.jpg" "$TMP/oom/img/"
  cp "$S/SegmentationClass/2007_000032.png" "$TMP/oom/lab/"
  cp "$S/SegmentationClass/2007_000032.png" "$TMP/oom/lab/huge.png"
  printf '\x89\x50\x4e\x47\x0d\x0a\x1a\x0a\x00\x00\x00\x0d\x49\x48\x44\x52\x00\x00\x3e\x80\x00\x00\x3e\x80\x08\x02\x00\x00\x00\xce\x1c\x48\x89\x00\x00\x00\x0c\x49\x44\x41\x54\x78\x9c\x63\x60\xa0\x0c\x00\x00\x00\x40\x00\x01\xb7\x34\x7c\xef' > "$TMP/oom/img/huge.png"
  expect_error "crf: out of memory names the image" "image 'huge': out of memory" -- \
    bash -c "ulimit -v 600000; exec '$PM' crf --images '$TMP/oom/img' --labels '$TMP/oom/lab' --out '$TMP/oom/out' --jobs 1 --quiet"
  expect_skipped "crf --keep-going skips the image that does not fit in memory" "huge" -- \
    bash -c "ulimit -v 600000; exec '$PM' crf --images '$TMP/oom/img' --labels '$TMP/oom/lab' --out '$TMP/oom/out' --jobs 1 --keep-going --quiet"
  check "crf --keep-going refines the image that fits" test -s "$TMP/oom/out/2007_000032.png"
fi

# --- one validation per input kind (issue 17 item 8) ---
# crf --probs: probabilities as urn checks them (float16 maps, data at byte 128).
mkdir -p "$TMP/val/probs" "$TMP/npy"
# The repository keeps the sample's maps as .npz: their one member is the original .npy.
unpack_npz() {
  python3 -c "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); sys.stdout.buffer.write(z.read(z.namelist()[0]))" "$1" > "$2"
}
unpack_npz "$S/probs_espnetv2/2007_000032.npz" "$TMP/npy/2007_000032.npy"
unpack_npz "$DATA/crf/reference/im1_unary_M21.npz" "$TMP/npy/im1_unary_M21.npy"
for v in '\x00\x7c:inf' '\x00\xbc:-1' '\x00\x40:2'; do
  cp "$TMP/npy/2007_000032.npy" "$TMP/val/probs/"
  patch_bytes "$TMP/val/probs/2007_000032.npy" 200 "${v%%:*}"
  expect_error "crf --probs refuses the value ${v##*:}" "2007_000032.npy: value ${v##*:} at class 0, pixel (x=36, y=0) is outside \[0, 1\]" -- \
    "$PM" crf --images "$S/JPEGImages" --probs "$TMP/val/probs" --out "$TMP/val/out" --quiet
done
check "crf wrote nothing for refused maps" test ! -e "$TMP/val/out/2007_000032.png"
expect_error "crf --iters -5 is an error naming the flag" "--iters must be in \[0, 10000\], got -5" -- \
  "$PM" crf --images "$S/JPEGImages" --probs "$S/probs_espnetv2" --out "$TMP/val/out" --iters -5 --quiet
expect_error "labels --iters -5 is an error naming the flag" "--iters must be in \[0, 10000\], got -5" -- \
  "$PM" labels --images "$S/JPEGImages" --cams "$TMP/val/probs" --mode crf --out "$TMP/val/out" --iters -5 --quiet
for spec in 0/-2 0/2abc -1/2 0/0 ' 0/2' 0/; do
  expect_error "--shard '$spec' is refused" "--shard $spec" -- \
    "$PM" crf --images "$S/JPEGImages" --probs "$S/probs_espnetv2" --out "$TMP/val/out" --shard "$spec" --quiet
done
# eval-cam: an all-NaN CAM is refused as ensemble and labels refuse it (a plain (C, H, W) array).
mkdir -p "$TMP/val/cams" "$TMP/val/gt"
cp "$DATA/crf/anno1.png" "$TMP/val/gt/im1.png"
# The reference unary (21, 76800) float32 of im1 (320x240) with its header rewritten to (21, 240, 320).
{ printf '\x93NUMPY\x01\x00\x76\x00'
  printf '%-117s\n' "{'descr': '<f4', 'fortran_order': False, 'shape': (21, 240, 320), }"
  tail -c +129 "$TMP/npy/im1_unary_M21.npy"; } > "$TMP/val/cams/im1.npy"
"$PM" eval-cam --gt "$TMP/val/gt" --cams "$TMP/val/cams" --plain-has-background --thresholds 0.5 --quiet > /dev/null
check "eval-cam reads the finite plain CAM" test $? -eq 0
size=$(stat -c %s "$TMP/val/cams/im1.npy")
head -c $((size - 128)) /dev/zero | tr '\0' '\377' | dd of="$TMP/val/cams/im1.npy" bs=128 seek=1 conv=notrunc status=none
expect_error "eval-cam refuses an all-NaN CAM" "im1.npy: high_res holds a non-finite value" -- \
  "$PM" eval-cam --gt "$TMP/val/gt" --cams "$TMP/val/cams" --plain-has-background --thresholds 0.5 --quiet

# --- smaller ones (issue 17 item 9) ---
GT="$S/SegmentationClass"
mkdir -p "$TMP/sm/gt" "$TMP/sm/pred"
cp "$GT/2007_000032.png" "$GT/2007_000061.png" "$TMP/sm/pred/"
cp "$GT/2007_000032.png" "$GT/2007_000061.png" "$TMP/sm/gt/"
# Labels out of range in both files: the error names the ground truth, read first.
mkdir -p "$TMP/sm/gt_bad" "$TMP/sm/pred_bad"
cp "$ROOT/tests/fixtures/images/pil_pal4_13x7.png" "$TMP/sm/gt_bad/x.png"
cp "$ROOT/tests/fixtures/images/pil_pal4_13x7.png" "$TMP/sm/pred_bad/x.png"
expect_error "eval blames the ground truth for its label out of range" "gt_bad/x.png: ground-truth label" -- \
  "$PM" eval --gt "$TMP/sm/gt_bad" --pred "$TMP/sm/pred_bad" --num-classes 2 --quiet
expect_error "eval --json X.csv is refused (the CSV would overwrite it)" "--json $TMP/sm/r.csv: the CSV report would overwrite it" -- \
  "$PM" eval --gt "$TMP/sm/gt" --pred "$TMP/sm/pred" --json "$TMP/sm/r.csv" --quiet
expect_error "eval --csv equal to --json is refused" "the CSV report would overwrite it" -- \
  "$PM" eval --gt "$TMP/sm/gt" --pred "$TMP/sm/pred" --json "$TMP/sm/r.json" --csv "$TMP/sm/./r.json" --quiet
printf '2007_000032\n2007_000032\n2007_000061\n' > "$TMP/sm/repeat.txt"
"$PM" eval --gt "$TMP/sm/gt" --pred "$TMP/sm/pred" --list "$TMP/sm/repeat.txt" --quiet > "$TMP/sm/repeat.out"
check "eval counts a repeated id once" grep -q "^2 images" "$TMP/sm/repeat.out"
expect_error "crf --labels D --out D is refused" "is an input folder" -- \
  "$PM" crf --images "$S/JPEGImages" --labels "$TMP/sm/pred" --out "$TMP/sm/pred/" --quiet
expect_error "urn --out equal to --probs is refused" "is an input folder" -- \
  "$PM" urn --images "$S/JPEGImages" --probs "$TMP/val/probs" --out "$TMP/val/probs" --quiet
expect_error "show --out equal to --gt is refused" "is an input folder" -- \
  "$PM" show --images "$S/JPEGImages" --gt "$TMP/sm/gt" --out "$TMP/sm/gt" --quiet
# Shards of one --out each write their own summary.
"$PM" crf --images "$S/JPEGImages" --labels "$TMP/sm/pred" --out "$TMP/sm/shards" --iters 1 --shard 0/2 --quiet > /dev/null &&
  "$PM" crf --images "$S/JPEGImages" --labels "$TMP/sm/pred" --out "$TMP/sm/shards" --iters 1 --shard 1/2 --quiet > /dev/null
check "crf: one summary per shard" test -f "$TMP/sm/shards/crf_summary.shard0-2.json" -a -f "$TMP/sm/shards/crf_summary.shard1-2.json"
"$PM" show --images "$S/JPEGImages" --gt "$TMP/sm/gt" --list "$TMP/sm/repeat.txt" --out "$TMP/sm/show" --shard 1/2 --quiet > /dev/null
check "show: a per-shard summary" test -f "$TMP/sm/show/show_summary.shard1-2.json"
for k in 0 1; do
  "$PM" show --images "$S/JPEGImages" --list "$TMP/sm/repeat.txt" --out "$TMP/sm/sheet.png" --shard $k/2 --quiet > /dev/null
done
check "show: a contact sheet and its JSON per shard" test -s "$TMP/sm/sheet.shard0-2.png" -a -s "$TMP/sm/sheet.shard1-2.png" -a -f "$TMP/sm/sheet.shard0-2.json" -a -f "$TMP/sm/sheet.shard1-2.json"
# inspect: a FIFO is an error, not a hang; cls_labels.npy and .pth checkpoints are described.
mkfifo "$TMP/sm/pipe.npy"
expect_error "inspect refuses a FIFO" "pipe.npy: not a regular file" -- timeout 10 "$PM" inspect "$TMP/sm/pipe.npy"
"$PM" inspect "$ROOT/tests/fixtures/cams/cls_labels_str.npy" > "$TMP/sm/cls.txt"
check "inspect describes cls_labels.npy" grep -q "image-level labels (cls_labels), [0-9]* images, [0-9]* foreground classes" "$TMP/sm/cls.txt"
"$PM" inspect "$ROOT/tests/fixtures/checkpoints/dtypes.pth" > "$TMP/sm/pth.txt"
check "inspect describes a .pth: tensors, shapes and dtypes" grep -q "checkpoint (state dict), [0-9]* tensors" "$TMP/sm/pth.txt"
expect_error "inspect names a forbidden global in a .pth" "forbidden_os_system.pth" -- \
  "$PM" inspect "$ROOT/tests/fixtures/checkpoints/forbidden_os_system.pth"

# --- --resume trusts only outputs of the same settings, complete (issue 17 item 7) ---
R="$TMP/res"
mkdir -p "$R/probs"
cp "$TMP/npy/2007_000032.npy" "$R/probs/"
"$PM" urn --images "$S/JPEGImages" --probs "$R/probs" --out "$R/urn" --mode hard --quiet > /dev/null
check "urn --mode hard records its settings" grep -q '"mode": "hard"' "$R/urn/urn_settings.json"
expect_error "urn --mode prob --resume over hard-mode outputs is refused" 'mode: "hard" -> "prob"' -- \
  "$PM" urn --images "$S/JPEGImages" --probs "$R/probs" --out "$R/urn" --mode prob --resume --quiet
"$PM" urn --images "$S/JPEGImages" --probs "$R/probs" --out "$R/urn" --mode hard --resume --quiet > "$R/urn_same.txt"
check "urn --resume with the same settings skips" grep -q "0 images done, 1 skipped" "$R/urn_same.txt"
"$PM" urn --images "$S/JPEGImages" --probs "$R/probs" --out "$R/urn" --mode prob --quiet > /dev/null
"$PM" urn --images "$S/JPEGImages" --probs "$R/probs" --out "$R/urn" --mode prob --resume --quiet > "$R/urn_prob.txt"
check "urn: a run without --resume records the new settings; --resume then skips" grep -q "0 images done, 1 skipped" "$R/urn_prob.txt"
check "urn: the summary and the weights agree (prob)" grep -q '"mode": "prob"' "$R/urn/urn_summary.json"

CRF=(crf --images "$S/JPEGImages" --labels "$TMP/sm/pred" --iters 1 --quiet)
"$PM" "${CRF[@]}" --out "$R/crf" > /dev/null
"$PM" "${CRF[@]}" --out "$R/crf" --save-q --resume > "$R/crf_q.txt"
check "crf --save-q --resume redoes images without their Q file" grep -q "2 images refined, 0 skipped" "$R/crf_q.txt"
check "crf --save-q --resume writes the Q files" test -s "$R/crf/q/2007_000032.npy" -a -s "$R/crf/q/2007_000061.npy"
: > "$R/crf/2007_000061.png"
"$PM" "${CRF[@]}" --out "$R/crf" --save-q --resume > "$R/crf_empty.txt"
check "crf --resume redoes a 0-byte output" grep -q "1 images refined, 1 skipped" "$R/crf_empty.txt"
check "the redone output is a PNG again" test -s "$R/crf/2007_000061.png"
"$PM" crf --images "$S/JPEGImages" --labels "$TMP/sm/pred" --iters 2 --quiet --out "$R/crf" --list <(echo 2007_000032) > /dev/null
"$PM" crf --images "$S/JPEGImages" --labels "$TMP/sm/pred" --iters 2 --quiet --out "$R/crf" --resume > "$R/crf_mixed.txt"
check "crf --resume redoes outputs older than the settings record" grep -q "1 images refined, 1 skipped" "$R/crf_mixed.txt"
rm "$R/crf/crf_settings.json"
"$PM" "${CRF[@]}" --out "$R/crf" --resume > "$R/crf_norecord.txt"
check "crf --resume without a settings record redoes everything" grep -q "2 images refined, 0 skipped" "$R/crf_norecord.txt"

finish hardening_smoke
