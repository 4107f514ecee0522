#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# End-to-end check of `pseudomask demo` at a tiny size: every step runs, the report holds both
# tables with numbers, a rerun skips everything, a deleted marker reruns one step, and a failing
# step stops the run with one line naming it while the finished outputs stay.
# Usage: demo_smoke.sh PSEUDOMASK [DATA_DIR]
set -u
PM="$1"
source "$(dirname "$0")/lib.sh"

skip_without_nn demo_smoke

O="$TMP/demo"
ARGS=(--out "$O" --size 24 --image-size 64 --epoch-scale 0.05)
"$PM" demo "${ARGS[@]}" --dry-run > "$TMP/dry.txt"
check "dry run exits 0" test $? -eq 0
check "dry run lists the URN step's command" grep -q "urn .*--mode hard" "$TMP/dry.txt"
check "dry run runs nothing and writes nothing" test ! -e "$O"

"$PM" demo "${ARGS[@]}" > "$TMP/run.txt" 2>&1
rc=$?
check "demo exits 0" test $rc -eq 0
[ $rc -eq 0 ] || tail -30 "$TMP/run.txt"
steps=$(grep -c " done in " "$TMP/run.txt")
check "every step ran ($steps)" test "$steps" -eq "$(ls "$O/pipeline/done" | wc -l)"
check "results.md has the pseudo-mask table" grep -q "| ORANDNet | " "$O/report/results.md"
check "results.md has the segmentation table" grep -q "| M_c + URN weights (t = 0.05) | " "$O/report/results.md"
check "the terminal shows the tables" grep -q "## (2) Segmentation on val" "$TMP/run.txt"
check "index.html links the overlays" grep -q 'src="pseudo_masks.png"' "$O/report/index.html"
check "the overlays exist" test -s "$O/report/pseudo_masks.png" -a -s "$O/report/predictions.png"
python3 - "$O/report/results.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
assert len(r["pseudo_masks"]) == 6 and len(r["segmentation"]) == 6, r.keys()
for row in r["pseudo_masks"]:
    for v in (row["miou"], row["precision"], row["crf"]["miou"], row["irn"]["miou"]):
        assert v is not None and 0 <= v <= 1, row
for row in r["segmentation"]:
    assert len(row["miou"]) == 1 and 0 <= row["mean"] <= 1, row
assert r["config"]["train_images"] == 24 and r["wall_seconds"] > 0
EOF
check "results.json: 6 + 6 rows of fractions" test $? -eq 0

"$PM" demo "${ARGS[@]}" > "$TMP/rerun.txt" 2>&1
check "rerun exits 0" test $? -eq 0
check "rerun skips every step" test "$(grep -c "done earlier, skipped" "$TMP/rerun.txt")" -eq "$steps"

rm "$O/pipeline/done/eval-val-cyclic-urn-s0.json"
"$PM" demo "${ARGS[@]}" > "$TMP/one.txt" 2>&1
check "a deleted marker reruns that step only" test "$(grep -c " done in " "$TMP/one.txt")" -eq 1
check "... and it is that step" grep -q "eval-val-cyclic-urn-s0 .*done in" "$TMP/one.txt"

rm "$O/pipeline/done/eval-crf-A.json"
first="$(head -1 "$O/data/ImageSets/Segmentation/train.txt")"
printf 'not a png' > "$O/masks/A_crf/$first.png"
"$PM" demo "${ARGS[@]}" > /dev/null 2> "$TMP/err.txt"
rc=$?
check "a failing step fails the demo" test $rc -ne 0
check "the error names the step and its log" grep -q "step 'eval-crf-A' failed.*logs/eval-crf-A.log" "$TMP/err.txt"
check "the error shows the bad file" grep -q "$first.png" "$TMP/err.txt"
check "finished outputs stay" test -s "$O/report/results.json" -a -s "$O/seg/pseudo/seed0/model.pth"

expect_error "bad --seeds" "seeds" -- "$PM" demo --out "$TMP/x" --seeds 0
finish demo_smoke
