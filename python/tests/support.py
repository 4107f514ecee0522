# SPDX-License-Identifier: MIT
"""What the Python tests share: the test data folder, the built CLI, the CRF reference cases."""

import os
import pathlib

import numpy as np

import pseudomask as pm

DATA = pathlib.Path(os.environ.get("PM_TEST_DATA_DIR",
                                   pathlib.Path(__file__).resolve().parents[2] / "tests" / "data"))
CRF = DATA / "crf"
REFERENCE = CRF / "reference"
VOC = DATA / "voc_sample"
CLI = os.environ.get("PM_CLI", "")


def annotation_labels(image):
    """pydensecrf's examples/inference.py label extraction: colours 0xBBGGRR ranked by
    np.unique, black = 0 = unknown. Returns (labels (H·W,) int, n_labels, has_unknown)."""
    anno_rgb = pm.read_image(CRF / f"anno{image}.png").astype(np.uint32)
    anno_lbl = anno_rgb[:, :, 0] + (anno_rgb[:, :, 1] << 8) + (anno_rgb[:, :, 2] << 16)
    colors, labels = np.unique(anno_lbl, return_inverse=True)
    has_unk = 0 in colors
    n_labels = len(set(labels.flat)) - int(has_unk)
    return labels, n_labels, has_unk


def reference_labels(image, m, iters):
    return pm.read_labels(REFERENCE / f"im{image}_M{m}_it{iters}_labels.png")


def reference_q(image):
    with np.load(REFERENCE / f"im{image}_M2_it10_Q.npz") as z:
        return z[z.files[0]]


def voc_probs(image_id):
    with np.load(VOC / "probs_espnetv2" / f"{image_id}.npz") as z:
        return z["probs"]


def voc_image(image_id):
    return pm.read_image(VOC / "JPEGImages" / f"{image_id}.jpg")
