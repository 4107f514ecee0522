# SPDX-License-Identifier: MIT
"""pydensecrf.utils for pseudomask.densecrf: unaries from labels or probabilities, and feature
arrays for DenseCRF.addPairwiseEnergy. Same signatures, defaults and values as pydensecrf's, except
that float16 probabilities are taken to float32 before the logarithm (pydensecrf takes the log in
float16, which rounds the energies to about 3 significant digits)."""

from logging import warning
from numbers import Number

import numpy as np

from .._convert import as_array, check_numeric

__all__ = ["unary_from_labels", "unary_from_softmax", "create_pairwise_gaussian",
           "create_pairwise_bilateral", "compute_unary", "softmax_to_unary"]


def unary_from_labels(labels, n_labels, gt_prob, zero_unsure=True):
    """Unary energies (n_labels, N) float32 from a label map of any shape (N pixels).

    A pixel labelled l gets −log(gt_prob) for its label and −log((1 − gt_prob)/(n_labels − 1))
    for the others. With zero_unsure, labels are 1..n_labels and 0 means unknown (every label
    −log(1/n_labels)); otherwise labels are 0..n_labels−1. Energies are computed in float64.
    """
    if not 0 < gt_prob < 1:
        raise ValueError(f"gt_prob must be in (0, 1), got {gt_prob!r}")
    n_labels = int(n_labels)
    if n_labels < 2:
        raise ValueError(f"n_labels must be >= 2, got {n_labels}")
    flat = as_array(labels, "labels").reshape(-1)
    check_numeric(flat, "labels")
    if flat.size and not np.issubdtype(flat.dtype, np.integer):
        if not np.all(np.isfinite(flat)) or np.any(flat != np.floor(flat)):
            raise ValueError("labels must be whole numbers")
    flat = flat.astype(np.int64)
    index = flat - 1 if zero_unsure else flat
    known = flat != 0 if zero_unsure else np.ones(flat.shape, bool)
    if np.any(known & ((index < 0) | (index >= n_labels))):
        bad = flat[known & ((index < 0) | (index >= n_labels))][0]
        raise ValueError(f"label {bad} is out of range for {n_labels} labels"
                         f"{' (1-based with zero_unsure)' if zero_unsure else ''}")
    other = -np.log((1.0 - gt_prob) / (n_labels - 1))
    own = -np.log(gt_prob)
    u = np.full((n_labels, flat.size), other, dtype=np.float32)
    pixels = np.arange(flat.size)
    u[index[known], pixels[known]] = own
    if zero_unsure:
        u[:, ~known] = -np.log(1.0 / n_labels)
    return u


def unary_from_softmax(sm, scale=None, clip=1e-5):
    """Unary energies (n_classes, N) float32 = −log(p) from probabilities (n_classes, ...).

    scale (0, 1]: mixes the probabilities with the uniform distribution first,
    scale·p + (1 − scale)/n_classes. clip: probabilities are clipped to [clip, 1] (None: not
    clipped; zeros then give +inf energies).
    """
    p = as_array(sm, "sm")
    check_numeric(p, "sm")
    if p.ndim < 1:
        raise ValueError("sm must have a class axis first, (n_classes, ...)")
    if p.dtype == np.float16:
        p = p.astype(np.float32)
    if not np.issubdtype(p.dtype, np.floating):
        p = p.astype(np.float64)
    n = p.shape[0]
    if scale is not None:
        if not 0 < scale <= 1:
            raise ValueError(f"scale must be in (0, 1], got {scale!r}")
        p = scale * p + (1 - scale) * (np.ones(p.shape) / n)
    if clip is not None:
        p = np.clip(p, clip, 1.0)
    return -np.log(p).reshape([n, -1]).astype(np.float32)


def create_pairwise_gaussian(sdims, shape):
    """Position features (len(shape), N) float32 for addPairwiseEnergy: pixel coordinates in
    index order (for an image, (y, x)), each divided by its sdims entry."""
    grid = np.array(np.meshgrid(*[np.arange(s) for s in shape], indexing="ij"), dtype=np.float32)
    for axis, s in enumerate(sdims):
        grid[axis] /= s
    return grid.reshape([len(sdims), -1])


def create_pairwise_bilateral(sdims, schan, img, chdim=-1):
    """Position and channel features (len(sdims) + channels, N) float32 for addPairwiseEnergy.

    img: the image; chdim: its channel axis (-1: no channel axis, one channel). schan: one width
    for all channels or one per channel; sdims: one per spatial axis, in index order ((y, x)).
    """
    a = as_array(img, "img")
    chans = (a[np.newaxis] if chdim == -1 else np.rollaxis(a, chdim)).astype(np.float32)
    if isinstance(schan, Number):
        chans /= schan
    else:
        for c, s in enumerate(schan):
            chans[c] /= s
    grid = np.array(np.meshgrid(*[np.arange(s) for s in chans.shape[1:]], indexing="ij"),
                    dtype=np.float32)
    for axis, s in enumerate(sdims):
        grid[axis] /= s
    feats = np.concatenate([grid, chans])
    return feats.reshape([feats.shape[0], -1])


def compute_unary(labels, M, GT_PROB=0.5):
    """Deprecated in pydensecrf: unary_from_labels(labels, M, GT_PROB)."""
    warning("pydensecrf.compute_unary is deprecated, use unary_from_labels instead.")
    return unary_from_labels(labels, M, GT_PROB)


def softmax_to_unary(sm, GT_PROB=1):
    """Deprecated in pydensecrf: unary_from_softmax without clipping."""
    warning("pydensecrf.softmax_to_unary is deprecated, use unary_from_softmax instead.")
    return unary_from_softmax(sm, None if GT_PROB == 1 else GT_PROB, clip=None)
