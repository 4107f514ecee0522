#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# End-to-end checks of `pseudomask ensemble` and `pseudomask labels`: two CAM sets (selfcheck's
# CAMs, made from the VOC sample's ground truth, and a copy shifted right by 24 pixels at half
# resolution) are combined, turned into pseudo-masks and evaluated against the ground truth.
# Usage: ensemble_labels_smoke.sh PSEUDOMASK DATA_DIR   (needs python3, standard library only)
set -u
PM="$1"
DATA="$2"  # tests/data
source "$(dirname "$0")/lib.sh"
json() {  # json FILE EXPRESSION: prints EXPRESSION evaluated on the JSON object j
  python3 -c "import json, sys; j = json.load(open(sys.argv[1])); print($2)" "$1"
}

VOC="$DATA/voc_sample"
GT="$VOC/SegmentationClass"

# --- two CAM sets ---------------------------------------------------------------------------
"$PM" selfcheck --out "$TMP/demo" > /dev/null
check "selfcheck writes the first CAM set" test "$(ls "$TMP/demo/cams" | wc -l)" -eq 8
A="$TMP/demo/cams"
B="$TMP/shifted"

# The second set: every map shifted right (24 px high_res, 6 px cam) and subsampled by 2, written
# in the np.save layout of an IRN dict with the standard library (fake numpy globals).
cat > "$TMP/shift.py" <<'PY'
import array, io, os, pickle, sys, types

class Arr:  # stands in for numpy.ndarray while unpickling
    def __setstate__(self, st):
        self.shape, self.raw = st[1], st[4]

class DType:
    def __init__(self, *args):
        pass
    def __setstate__(self, st):
        pass

class Reader(pickle.Unpickler):
    def find_class(self, module, name):
        table = {("numpy.core.multiarray", "_reconstruct"): lambda *a: Arr(),
                 ("numpy", "ndarray"): Arr, ("numpy", "dtype"): DType}
        if (module, name) not in table:
            raise pickle.UnpicklingError("unexpected global %s.%s" % (module, name))
        return table[(module, name)]

np = types.ModuleType("numpy")
ma = types.ModuleType("numpy.core.multiarray")
def _reconstruct(*args): pass
class ndarray: pass
class dtype: pass
for obj, mod in ((_reconstruct, ma), (ndarray, np), (dtype, np)):
    obj.__module__ = mod.__name__; obj.__qualname__ = obj.__name__; setattr(mod, obj.__name__, obj)
sys.modules.update({"numpy": np, "numpy.core": types.ModuleType("numpy.core"),
                    "numpy.core.multiarray": ma})

class OutDType:
    def __init__(self, descr):
        self.descr = descr
    def __reduce__(self):
        obj = self.descr == "O"
        state = (3, "|" if obj else "<", None, None, None, -1, -1, 63 if obj else 0)
        return (dtype, (self.descr, False, True), state)

class Out:
    def __init__(self, shape, descr, raw):
        self.shape, self.descr, self.raw = shape, descr, raw
    def __reduce__(self):
        state = (1, self.shape, OutDType(self.descr), False, self.raw)
        return (_reconstruct, (ndarray, (0,), b"b"), state)

def read(path):
    data = open(path, "rb").read()
    assert data[:6] == b"\x93NUMPY", path
    size = 2 if data[6] == 1 else 4
    start = 8 + size + int.from_bytes(data[8:8 + size], "little")
    top = Reader(io.BytesIO(data[start:])).load()
    return top.raw[0] if isinstance(top, Arr) else top

def write(path, d):
    body = pickle.dumps(Out((), "O", [d]), protocol=3)
    header = "{'descr': '|O', 'fortran_order': False, 'shape': (), }"
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode() + body)

def shift_and_subsample(member, shift):
    k, h, w = member.shape
    src = array.array("f")
    src.frombytes(member.raw)
    out = array.array("f")
    for c in range(k):
        for y in range(0, h, 2):
            row = src[(c * h + y) * w:(c * h + y + 1) * w]
            out.extend((array.array("f", [0.0] * shift) + row[:w - shift])[::2])
    return Out((k, (h + 1) // 2, (w + 1) // 2), "f4", out.tobytes())

src_dir, dst_dir, shift = sys.argv[1], sys.argv[2], int(sys.argv[3])
os.makedirs(dst_dir, exist_ok=True)
for name in sorted(os.listdir(src_dir)):
    d = read(os.path.join(src_dir, name))
    write(os.path.join(dst_dir, name),
          {"keys": Out(d["keys"].shape, "i8", d["keys"].raw),
           "cam": shift_and_subsample(d["cam"], shift // 4),
           "high_res": shift_and_subsample(d["high_res"], shift)})
PY
python3 "$TMP/shift.py" "$A" "$B" 24
check "python writes the second CAM set" test "$(ls "$B" | wc -l)" -eq 8
"$PM" inspect "$B/2007_000032.npy" > "$TMP/inspect_b.txt"
check "the second set reads back at half size" grep -q "high_res (2, 141, 250)" "$TMP/inspect_b.txt"

# --- ensemble ---------------------------------------------------------------------------------
for mode in or and mean; do
  "$PM" ensemble --cams1 "$A" --cams2 "$B" --mode "$mode" --out "$TMP/$mode" --jobs 2 --quiet > "$TMP/$mode.txt"
  check "ensemble $mode exits 0" test $? -eq 0
  check "ensemble $mode writes 8 CAM files" test "$(ls "$TMP/$mode"/*.npy | wc -l)" -eq 8
done
check "ensemble reports 8 resized images" test "$(json "$TMP/or/ensemble_summary.json" "j['images_resized']")" -eq 8
"$PM" inspect "$TMP/and/2007_000032.npy" > "$TMP/inspect_and.txt"
check "ensemble keeps keys and the first set's sizes" bash -c "grep -q 'keys \[ 0 14 \]' '$TMP/inspect_and.txt' && grep -q 'high_res (2, 281, 500) float32, min 0 max 1 ' '$TMP/inspect_and.txt' && grep -q 'cam (2, 71, 125)' '$TMP/inspect_and.txt'"
"$PM" ensemble --cams1 "$A" --cams2 "$B" --mode or --official --low-res none --out "$TMP/or_official" --quiet > /dev/null
"$PM" inspect "$TMP/or_official/2007_000032.npy" > "$TMP/inspect_official.txt"
check "official OR is not normalised (min 0.15, no cam)" bash -c "grep -q 'high_res (2, 281, 500) float32, min 0.15 max 1.' '$TMP/inspect_official.txt' && ! grep -q '  cam ' '$TMP/inspect_official.txt'"
"$PM" ensemble --cams1 "$A" --cams2 "$B" --mode and --out "$TMP/and_j1" --jobs 1 --quiet > /dev/null
check "ensemble output does not depend on --jobs" bash -c "for f in '$TMP/and'/*.npy; do cmp -s \"\$f\" '$TMP/and_j1'/\$(basename \"\$f\") || exit 1; done"
"$PM" ensemble --cams1 "$A" --cams2 "$B" --mode and --out "$TMP/and" --resume --quiet > "$TMP/resume.txt"
check "ensemble --resume skips finished images" grep -q "0 images written, 8 skipped" "$TMP/resume.txt"
"$PM" ensemble --cams1 "$A" --cams2 "$B" --mode and --out "$TMP/shard" --shard 1/3 --quiet > /dev/null
check "ensemble --shard 1/3 writes 3 of 8" test "$(ls "$TMP/shard"/*.npy | wc -l)" -eq 3

# --- labels and eval ----------------------------------------------------------------------------
for mode in or and; do
  "$PM" labels --cams "$TMP/$mode" --out "$TMP/labels_$mode" --mode threshold --threshold 0.25 --quiet > /dev/null
  check "labels threshold ($mode) exits 0" test $? -eq 0
  "$PM" eval --gt "$GT" --pred "$TMP/labels_$mode" --json "$TMP/eval_$mode.json" --quiet > /dev/null
  check "eval of the $mode labels exits 0" test $? -eq 0
done
P_OR=$(json "$TMP/eval_or.json" "j['mean_precision']"); P_AND=$(json "$TMP/eval_and.json" "j['mean_precision']")
R_OR=$(json "$TMP/eval_or.json" "j['mean_recall']"); R_AND=$(json "$TMP/eval_and.json" "j['mean_recall']")
echo "     OR: precision $P_OR recall $R_OR; AND: precision $P_AND recall $R_AND"
check "AND is more precise than OR" python3 -c "import sys; sys.exit(not $P_AND > $P_OR + 0.02)"
check "OR recalls more than AND" python3 -c "import sys; sys.exit(not $R_OR > $R_AND + 0.02)"

"$PM" labels --cams "$TMP/and" --images "$VOC/JPEGImages" --out "$TMP/labels_crf" --mode crf --jobs 2 --quiet > /dev/null
check "labels crf exits 0" test $? -eq 0
"$PM" eval --gt "$GT" --pred "$TMP/labels_crf" --json "$TMP/eval_crf.json" --quiet > /dev/null
check "eval of the CRF labels exits 0" test $? -eq 0
check "labels crf writes its summary" grep -q '"bilateral"' "$TMP/labels_crf/labels_summary.json"

"$PM" labels --cams "$TMP/and" --images "$VOC/JPEGImages" --out "$TMP/labels_irn" --mode irn --quiet > /dev/null
check "labels irn exits 0" test $? -eq 0
check "labels irn writes 255 at uncertain pixels" python3 -c "import json, sys; sys.exit(not json.load(open('$TMP/labels_irn/labels_summary.json'))['pixel_share']['ignore'] > 0.005)"
"$PM" labels --cams "$TMP/and" --images "$VOC/JPEGImages" --out "$TMP/labels_irn0" --mode irn --no-ignore --quiet > /dev/null
check "labels irn --no-ignore writes no 255" python3 -c "import json, sys; sys.exit(json.load(open('$TMP/labels_irn0/labels_summary.json'))['pixel_share']['ignore'] != 0)"
"$PM" eval --gt "$GT" --pred "$TMP/labels_irn0" --json "$TMP/eval_irn.json" --quiet > /dev/null
check "eval of the IRN labels exits 0" test $? -eq 0
for m in and crf irn; do echo "     mIoU $m: $(json "$TMP/eval_$m.json" "round(100 * j['mean_iou'], 2)")"; done
"$PM" labels --cams "$TMP/and" --images "$VOC/JPEGImages" --out "$TMP/labels_irn" --mode irn --resume --quiet > "$TMP/labels_resume.txt"
check "labels --resume skips finished images" grep -q "0 images written, 8 skipped" "$TMP/labels_resume.txt"

# --- bad input: one line naming the file, non-zero exit, nothing already written lost ---------
mkdir -p "$TMP/bad"
cp "$B"/*.npy "$TMP/bad/"
cp "$B/2007_000061.npy" "$TMP/bad/2007_000032.npy"  # another image's classes
expect_error "ensemble names mismatched keys" "bad/2007_000032.npy: keys \[" -- "$PM" ensemble --cams1 "$A" --cams2 "$TMP/bad" --out "$TMP/bad_out" --quiet
"$PM" ensemble --cams1 "$A" --cams2 "$TMP/bad" --out "$TMP/bad_out" --keep-going --quiet > /dev/null 2> "$TMP/keep.err"
check "ensemble --keep-going completes, exit 3 (inputs skipped)" test $? -eq 3
check "ensemble --keep-going lists the failure" grep -q "2007_000032" "$TMP/keep.err"
check "ensemble --keep-going writes the other 7" test "$(ls "$TMP/bad_out"/*.npy | wc -l)" -eq 7
rm "$TMP/bad/2007_000063.npy"
printf '2007_000063\n' > "$TMP/list.txt"
expect_error "ensemble names a missing CAM file" "bad/2007_000063.npy: missing CAM file" -- "$PM" ensemble --cams1 "$A" --cams2 "$TMP/bad" --list "$TMP/list.txt" --out "$TMP/bad_out2" --quiet
printf 'not a npy' > "$TMP/bad/2007_000129.npy"
expect_error "labels names a corrupt CAM file" "2007_000129.npy" -- "$PM" labels --cams "$TMP/bad" --out "$TMP/bad_labels" --quiet
expect_skipped "labels --keep-going exits 3, naming the bad file" "2007_000129" -- "$PM" labels --cams "$TMP/bad" --out "$TMP/kg_labels" --keep-going --quiet
check "labels --keep-going writes the other 6" test "$(ls "$TMP/kg_labels"/*.png | wc -l)" -eq 6 -a ! -e "$TMP/kg_labels/2007_000129.png"
expect_error "labels crf needs --images" "needs --images" -- "$PM" labels --cams "$TMP/and" --out "$TMP/x" --mode crf --quiet
expect_error "labels refuses a bad --conf-bg, naming the flag" "--conf-bg 0.5 and conf_fg" -- "$PM" labels --cams "$TMP/and" --images "$VOC/JPEGImages" --out "$TMP/x" --mode irn --conf-bg 0.5 --quiet
expect_error "ensemble refuses to write into an input" "input folder" -- "$PM" ensemble --cams1 "$A" --cams2 "$B" --out "$B" --quiet
expect_error "labels names a CAM of the wrong size" "CAMs are 250x141, the image is 500x281" -- "$PM" labels --cams "$B" --images "$VOC/JPEGImages" --out "$TMP/x" --mode crf --quiet

finish ensemble_labels_smoke
