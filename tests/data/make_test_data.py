#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Makes tests/data from the project's original reference data folder (shared/data), once.

Run with a Python that has numpy and PIL (Debian python3-numpy, python3-pil):
    /usr/bin/python3 tests/data/make_test_data.py /path/to/shared/data tests/data

What it changes (README.md says the same):
- crf/reference: the unaries im{1,2}_unary_M{2,3,21}.npy are not copied (the tests derive
  them from anno{1,2}.png by the README's formula and check a CRC-32 of the original bytes),
  except the two M = 21 ones as deflated .npz for the CLI smoke test; the marginals Q become
  deflated .npz. im3.png (no reference outputs, unused) is left out.
- voc_sample/probs_espnetv2/<id>.npy become deflated <id>.npz (one array "probs", float16,
  unchanged shape). In the channels of classes that can never be present in the image (not
  in the argmax, not in the URN reference's M_c), values below 1e-5 are stored as 0. Every
  consumer clips probabilities at 1e-5 before taking logs (unary -log(clip(p, 1e-5, 1))) and
  only classes present in M_c are raised to URN's scales, so the results are the same bit for
  bit (checked: `pseudomask urn` and `pseudomask crf --preset urn` write byte-identical files
  from both); it makes the files 18 % smaller.
The "In this repository" notes at the top of the two copied READMEs were added by hand after.
"""
import os
import shutil
import sys

import numpy as np
from PIL import Image


def copy(src_root, dst_root, rel):
    os.makedirs(os.path.dirname(os.path.join(dst_root, rel)), exist_ok=True)
    shutil.copyfile(os.path.join(src_root, rel), os.path.join(dst_root, rel))


def savez(path, array):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    np.savez_compressed(path, probs=array) if "probs_" in path else np.savez_compressed(path, array)


def main(src, dst):
    for name in ["anno1.png", "anno2.png", "anno3.png", "im1.png", "im2.png"]:
        copy(src, dst, "crf/" + name)
    ref = os.path.join(src, "crf/reference")
    for name in sorted(os.listdir(ref)):
        if name.endswith("_labels.png") or name == "README.md":
            copy(src, dst, "crf/reference/" + name)
        elif name.endswith("_Q.npy") or name.endswith("_unary_M21.npy"):
            savez(os.path.join(dst, "crf/reference", name[:-4] + ".npz"),
                  np.load(os.path.join(ref, name)))
    voc = "voc_sample"
    for sub in ["JPEGImages", "SegmentationClass", "urn_reference"]:
        for name in sorted(os.listdir(os.path.join(src, voc, sub))):
            copy(src, dst, f"{voc}/{sub}/{name}")
    for name in ["README.md", "SOURCES.md"]:
        copy(src, dst, f"{voc}/{name}")
    probs_dir = os.path.join(src, voc, "probs_espnetv2")
    for name in sorted(os.listdir(probs_dir)):
        stem = name[:-4]
        p = np.load(os.path.join(probs_dir, name))
        m_c = np.array(Image.open(os.path.join(src, voc, "urn_reference", stem + ".png"))
                       .convert("RGB"))[:, :, 2]
        keep = set(np.unique(m_c).tolist()) | set(np.unique(p.argmax(0)).tolist())
        q = p.copy()
        for c in range(p.shape[0]):
            if c not in keep:
                q[c][q[c].astype(np.float32) < np.float32(1e-5)] = 0
        savez(os.path.join(dst, voc, "probs_espnetv2", stem + ".npz"), q)
        print(stem, "kept", sorted(keep))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
