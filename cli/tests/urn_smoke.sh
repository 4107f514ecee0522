#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# End-to-end checks of `pseudomask urn` on two real VOC images (tests/data/voc_sample) with a
# real network's probabilities: the output layout, results independent of --jobs, --resume,
# --shard, the prob mode, and one-line errors naming the file for bad probability maps.
# Usage: urn_smoke.sh PSEUDOMASK DATA_DIR
set -u
PM="$1"
DATA="$2"  # tests/data
source "$(dirname "$0")/lib.sh"
patch_bytes() {  # patch_bytes FILE OFFSET PRINTF_BYTES: overwrite bytes in place
  printf "$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
npy_of() {  # npy_of NPZ NPY: the .npy inside a one-array .npz (python3 standard library)
  python3 -c "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); sys.stdout.buffer.write(z.read(z.namelist()[0]))" "$1" > "$2"
}

S="$DATA/voc_sample"
IMG="$S/JPEGImages"
mkdir -p "$TMP/probs"
# 2007_000032: one class in M_c (K = 1, certain everywhere); 2007_000061: boat + background (K = 2).
# The sample stores them as deflated one-array .npz files, which urn reads like .npy files.
for id in 2007_000032 2007_000061; do cp "$S/probs_espnetv2/$id.npz" "$TMP/probs/"; done

"$PM" urn --help > "$TMP/help.txt"
check "help shows an example" grep -q "pseudomask urn --images" "$TMP/help.txt"
check "help documents the channel order" grep -q "B = M_c, G = R" "$TMP/help.txt"

"$PM" urn --images "$IMG" --probs "$TMP/probs" --out "$TMP/a" --jobs 2 --quiet --save-uncertainty > "$TMP/a.txt"
check "urn exits 0" test $? -eq 0
for d in urn mask weight uncertainty; do
  check "urn writes $d/ for both images" test "$(ls "$TMP/a/$d" | wc -l)" -eq 2
done
check "summary counts 2 images" grep -q '"images_done": 2' "$TMP/a/urn_summary.json"
check "summary has the K histogram (K=1 and K=2)" bash -c "tr -d ' \n' < '$TMP/a/urn_summary.json' | grep -q '\"k_histogram\":{\"1\":1,\"2\":1}'"
check "summary has the mean uncertain fraction" grep -q '"mean_uncertain_fraction": 0.02' "$TMP/a/urn_summary.json"
check "summary records the VOC scales" bash -c "tr -d ' \n' < '$TMP/a/urn_summary.json' | grep -q '\"scales\":\[0.15,0.2,0.25,4.0,5.0,6.0\]'"
"$PM" inspect "$TMP/a/urn/2007_000061.png" "$TMP/a/mask/2007_000061.png" > "$TMP/inspect.txt"
check "inspect recognises the official URN file" grep -q "URN label file (official layout, 8-bit RGB: B = M_c, G = R = weight byte W8)" "$TMP/inspect.txt"
check "inspect shows M_c's labels (background and boat)" grep -q "M_c values (label:pixels): 0:[0-9]* 4:[0-9]*$" "$TMP/inspect.txt"
check "inspect counts the uncertain pixels" grep -q "uncertain (W8/255 <= 0.05) [0-9]* pixels" "$TMP/inspect.txt"
check "the mask is a plain label map" grep -q "label map, values (label:pixels): 0:[0-9]* 4:" "$TMP/inspect.txt"

"$PM" urn --images "$IMG" --probs "$TMP/probs" --out "$TMP/b" --jobs 1 --group-channels 2 --quiet --save-uncertainty > /dev/null
same=1
for d in urn mask weight uncertainty; do
  for f in "$TMP/a/$d"/*; do cmp -s "$f" "$TMP/b/$d/$(basename "$f")" || same=0; done
done
check "outputs do not depend on --jobs or --group-channels" test $same -eq 1
expect_error "urn refuses --group-channels 0, naming the flag" "--group-channels must be >= 1" -- "$PM" urn --images "$IMG" --probs "$TMP/probs" --out "$TMP/g" --group-channels 0 --quiet

"$PM" urn --images "$IMG" --probs "$TMP/probs" --out "$TMP/a" --resume --quiet > "$TMP/resume.txt"
check "resume skips finished images" grep -q "0 images done, 2 skipped" "$TMP/resume.txt"
check "resume still counts them in the summary" grep -q '"images_counted": 2' "$TMP/a/urn_summary.json"

"$PM" urn --images "$IMG" --probs "$TMP/probs" --out "$TMP/s" --shard 0/2 --quiet > /dev/null
check "shard 0/2 does the first image only" test "$(ls "$TMP/s/urn")" = "2007_000032.png"
check "shard writes its own summary" test -f "$TMP/s/urn_summary.shard0-2.json"
check "shard output equals the full run's" cmp -s "$TMP/s/urn/2007_000032.png" "$TMP/a/urn/2007_000032.png"

"$PM" urn --images "$IMG" --probs "$TMP/probs" --out "$TMP/p" --mode prob --quiet > /dev/null
check "prob mode exits 0" test $? -eq 0
check "prob mode keeps M_c" cmp -s "$TMP/p/mask/2007_000061.png" "$TMP/a/mask/2007_000061.png"
check "prob mode writes other weights" bash -c "! cmp -s '$TMP/p/weight/2007_000061.png' '$TMP/a/weight/2007_000061.png'"

# Bad probability maps: one line naming the file, non-zero exit, earlier outputs untouched.
mkdir -p "$TMP/bad"
cp "$S/probs_espnetv2/2007_000032.npz" "$TMP/bad/2007_000061.npz"  # 500x281 map for a 500x333 image
expect_error "wrong-size map names the file" "2007_000061.npz: expected (C, 333, 500)" -- "$PM" urn --images "$IMG" --probs "$TMP/bad" --out "$TMP/bad_out" --quiet
expect_error "class count mismatch" "2007_000032.npz: 21 class channels, expected 20" -- "$PM" urn --images "$IMG" --probs "$TMP/probs" --out "$TMP/c" --num-classes 20 --list <(echo 2007_000032) --quiet
rm "$TMP/bad/2007_000061.npz"
npy_of "$S/probs_espnetv2/2007_000061.npz" "$TMP/bad/2007_000061.npy"
check "the .npy inside the .npz has a 128-byte header" test "$(stat -c %s "$TMP/bad/2007_000061.npy")" -eq $((128 + 21 * 333 * 500 * 2))
patch_bytes "$TMP/bad/2007_000061.npy" 200 '\x00\x7e'  # float16 NaN at class 0, pixel (36, 0)
expect_error "NaN names the file and pixel" "2007_000061.npy: contains NaN" -- "$PM" urn --images "$IMG" --probs "$TMP/bad" --out "$TMP/bad_out" --quiet
npy_of "$S/probs_espnetv2/2007_000061.npz" "$TMP/bad/2007_000061.npy"
patch_bytes "$TMP/bad/2007_000061.npy" 200 '\x00\x43'  # float16 3.5: a logit
expect_error "logits without --logits are refused" "outside \[0, 1\] (logits need a softmax first)" -- "$PM" urn --images "$IMG" --probs "$TMP/bad" --out "$TMP/bad_out" --quiet
check "failed runs wrote no outputs" test ! -e "$TMP/bad_out/urn/2007_000061.png"
cp "$S/probs_espnetv2/2007_000032.npz" "$TMP/bad/2007_000032.npz"
printf '2007_000032\n2007_000061\n2007_000032\n' > "$TMP/repeats.txt"
expect_skipped "urn --keep-going exits 3, naming the bad file" "2007_000061" -- "$PM" urn --images "$IMG" --probs "$TMP/bad" --out "$TMP/kg" --list "$TMP/repeats.txt" --keep-going --quiet
check "urn --keep-going writes the good image only" test -s "$TMP/kg/urn/2007_000032.png" -a ! -e "$TMP/kg/urn/2007_000061.png"
check "urn --keep-going counts one failure, the repeated id once" grep -q '"images_done": 1' "$TMP/kg/urn_summary.json"
expect_error "bad mode is named" "--mode median" -- "$PM" urn --images "$IMG" --probs "$TMP/probs" --out "$TMP/m" --mode median --quiet
expect_error "bad scale is named" "--scales" -- "$PM" urn --images "$IMG" --probs "$TMP/probs" --out "$TMP/m" --scales 0.5,x --quiet

finish urn_smoke
