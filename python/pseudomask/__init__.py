# SPDX-License-Identifier: MIT
"""pseudomask: WSSS pseudo-mask tools (dense CRF, URN, ORANDNet's ensemble, evaluation) from Python.

The same C++ core as the ``pseudomask`` program, without libtorch: it imports beside any PyTorch.
Inputs are numpy arrays of any numeric dtype and layout, PyTorch CPU tensors, or anything with
``__array__``; outputs are numpy arrays. Computation releases the GIL, so threads
(``concurrent.futures.ThreadPoolExecutor``, a DataLoader's workers) run in parallel, and
``jobs=`` splits one call over threads (results do not depend on it).

    import pseudomask as pm
    labels = pm.crf(image, probs)                    # (H, W) uint8, DeepLab's CRF, 10 iterations
    out = pm.urn(image, probs)                       # URN: M_c, the weight byte map, U
    cm = pm.ConfusionMatrix(21); cm.update(gt, labels); cm.metrics()["mean_iou"]

``pseudomask.densecrf`` is a drop-in for pydensecrf (``import pseudomask.densecrf as dcrf``).
"""

import os

import numpy as np

from . import _core
from ._convert import as_array, as_float32, as_image, as_labels, as_planes, threads

# glibc returns every large freed block to the kernel, so the next CRF's buffers are fresh pages
# whose first touch faults: on virtual machines that made pm.urn 3-4x slower than the CLI (18 s
# against 5 s per VOC image here). Like the CLI, keep freed memory for reuse (mallopt), unless
# PSEUDOMASK_KEEP_FREED_MEMORY=0.
if os.environ.get("PSEUDOMASK_KEEP_FREED_MEMORY", "1") != "0":
    _core.keep_freed_memory_for_reuse()

__all__ = [
    "CRF_PRESETS", "crf", "crf_batch", "urn", "ensemble", "ConfusionMatrix", "load_cams",
    "save_cams", "read_npy", "read_image", "read_labels", "write_labels", "synth", "irn_walk",
    "irn_labels",
]
__version__ = "0.1.0"

#: The CRF parameter sets of the WSSS codes: (Gaussian sxy, w), (bilateral sxy, srgb, w).
CRF_PRESETS = {
    "deeplab": ((3.0, 3.0), (80.0, 13.0, 10.0)),  # DeepLab, PMM, ORANDNet
    "urn": ((1.0, 3.0), (67.0, 3.0, 4.0)),  # URN / PMM segmentation
    "irn": ((3.0, 3.0), (50.0, 5.0, 10.0)),  # IRN's crf_inference_label
}
_INPUTS = ("probs", "logits", "unary")


def _terms(preset, gaussian, bilateral):
    if preset not in CRF_PRESETS:
        raise ValueError(f"preset must be one of {sorted(CRF_PRESETS)}, got {preset!r}")
    g, b = CRF_PRESETS[preset]
    g = tuple(float(v) for v in (gaussian if gaussian is not None else g))
    b = tuple(float(v) for v in (bilateral if bilateral is not None else b))
    if len(g) != 2 or len(b) != 3:
        raise ValueError("gaussian must be (sxy, w) and bilateral (sxy, srgb, w)")
    return [(g[0], 0.0, g[1]), (b[0], b[1], b[2])]


def _check_iters(iters):
    if isinstance(iters, bool) or not isinstance(iters, (int, np.integer)) or not 0 <= iters <= 10000:
        raise ValueError(f"iters must be an int in [0, 10000], got {iters!r}")
    return int(iters)


def _check_input(input):
    if input not in _INPUTS:
        raise ValueError(f"input must be one of {_INPUTS}, got {input!r}")
    return input


def crf(image, probs, preset="deeplab", iters=10, return_q=False, *, input="probs",
        gaussian=None, bilateral=None, jobs=1):
    """Dense CRF (Krähenbühl & Koltun 2011) of one image: the labels ``pseudomask crf`` writes.

    image: (H, W, 3) RGB, 0..255 (uint8, or any dtype holding whole numbers 0..255).
    probs: (C, H, W) or (C, H·W) class probabilities (any float dtype; float16 fine), or logits
        (input="logits", softmax first) or unary energies (input="unary").
    preset: "deeplab", "urn" or "irn" (CRF_PRESETS); gaussian=(sxy, w) and
        bilateral=(sxy, srgb, w) override its terms.
    Returns (H, W) uint8 labels, or (labels, Q (C, H, W) float32) with return_q.
    The unary is −log(clip(p, 1e-5, 1)); probabilities outside [0, 1] raise.
    """
    img = as_image(image)
    h, w = img.shape[:2]
    planes = as_planes(probs, _check_input(input), h, w, finite=input != "probs")
    labels, q = _core.crf(img, planes, input, _terms(preset, gaussian, bilateral),
                          _check_iters(iters), bool(return_q), threads(jobs))
    return (labels, q) if return_q else labels


def crf_batch(image, list_of_probs, preset="deeplab", iters=10, return_q=False, *,
              input="probs", gaussian=None, bilateral=None, jobs=1):
    """Many CRFs on one image (any label counts), sharing its lattices: URN's pattern.

    Equal, CRF by CRF and bit for bit, to calling crf() for each; faster, since the lattices are
    built once and CRFs are filtered together. Returns a list like crf()'s results.
    """
    img = as_image(image)
    h, w = img.shape[:2]
    kind = _check_input(input)
    planes = [as_planes(p, f"{kind}[{i}]", h, w, finite=kind != "probs")
              for i, p in enumerate(list_of_probs)]
    out = _core.crf_batch(img, planes, kind, _terms(preset, gaussian, bilateral),
                          _check_iters(iters), bool(return_q), threads(jobs))
    return [tuple(r) if return_q else r[0] for r in out]


def urn(image, probs, preset="voc", mode="hard", *, threshold=0.05, jobs=1):
    """URN's uncertainty pass on one image (Li et al., AAAI 2022), as ``pseudomask urn``.

    probs: (C, H, W) probabilities of a segmentation model. preset: "voc" or "coco" (the response
    scales); mode: "hard" (the official Eq. 12), "soft" or "prob".
    Returns a dict: mask (H, W) uint8 (M_c), weight_byte (H, W) uint8 (the byte the official PNG
    stores), weight (H, W) float32 (Y), uncertainty (H, W) float64 (U; None in prob mode), present
    (classes of M_c), uncertain_fraction.
    """
    img = as_image(image)
    h, w = img.shape[:2]
    p = as_planes(probs, "probs", h, w, finite=False)
    return _core.urn(img, p, preset, mode, float(threshold), threads(jobs))


def ensemble(cam1, cam2, mode="or", *, official=False, low_res="combine"):
    """ORANDNet's ensemble of two CAMs (Eq. 1): probabilistic "or", "and", or "mean".

    cam1, cam2: (K, H, W) arrays with the same classes (returns a (K, H, W) float32 array), or CAM
    dicts as load_cams returns ({"keys", "high_res", "cam"}; classes matched by key, sizes resized,
    as ``pseudomask ensemble``; returns such a dict). official: the ORANDNet code's variant.
    """
    if isinstance(cam1, dict) != isinstance(cam2, dict):
        raise ValueError("cam1 and cam2 must both be arrays or both CAM dicts")
    if isinstance(cam1, dict):
        return _core.ensemble_dicts(_cam_dict(cam1, "cam1"), _cam_dict(cam2, "cam2"), mode,
                                    bool(official), low_res)
    return _core.ensemble_arrays(as_float32(cam1, "cam1"), as_float32(cam2, "cam2"), mode,
                                 bool(official))


class ConfusionMatrix:
    """One confusion matrix over many images (every pixel weighs the same), as ``pseudomask eval``.

    update(gt, pred) adds an image (gt's ignore label 255 is skipped; other labels ≥ num_classes
    raise); metrics() gives IoU, precision, recall, FP/FN shares per class and their NaN-skipping
    means, and the pixel accuracy. counts is the (N, N) int64 matrix [gt, pred].
    """

    def __init__(self, num_classes):
        if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or \
                not 1 <= num_classes <= 256:
            raise ValueError(f"num_classes must be an int in [1, 256], got {num_classes!r}")
        self._cm = _core.ConfusionMatrix(int(num_classes))

    @property
    def num_classes(self):
        return self._cm.num_classes

    @property
    def counts(self):
        return self._cm.counts

    def update(self, gt, pred, ignore=255):
        g = as_labels(gt, "gt")
        p = as_labels(pred, "pred", g.shape)
        self._cm.update(g, p, int(ignore))
        return self

    def merge(self, other):
        self._cm.merge(other._cm)
        return self

    def metrics(self):
        return self._cm.metrics()


def _cam_dict(d, name):
    if "keys" not in d:
        raise ValueError(f"{name}: a CAM dict needs 'keys'")
    keys = as_array(d["keys"], f"{name}['keys']")
    if keys.ndim != 1 or (keys.size and not np.issubdtype(keys.dtype, np.integer)):
        raise ValueError(f"{name}['keys'] must be a 1-D integer array")
    out = {"keys": [int(k) for k in keys]}
    for member in ("cam", "high_res"):
        if d.get(member) is not None:
            out[member] = as_float32(d[member], f"{name}['{member}']")
    return out


def load_cams(path, plain_has_background=False):
    """Reads a CAM file of any WSSS layout (IRN, AMN, MCTformer, plain arrays) as a dict
    {"keys": int64 (K,), "cam": (K, h, w), "high_res": (K, H, W)} (members that are absent are
    left out). Pickled files are read by a restricted unpickler: nothing is executed."""
    return _core.load_cams(str(path), bool(plain_has_background))


def save_cams(path, cams=None, *, keys=None, cam=None, high_res=None):
    """Writes CAMs in the IRN layout (np.load(path, allow_pickle=True).item() reads them): a dict
    like load_cams returns, or keys= with cam= and/or high_res=."""
    if cams is None:
        cams = {"keys": keys, "cam": cam, "high_res": high_res}
    _core.save_cams(str(path), _cam_dict(cams, "cams"))


def read_npy(path):
    """Reads a .npy (every numeric dtype incl. float16 and bool, C or Fortran order) without
    executing anything: object arrays are refused."""
    return _core.read_npy(str(path))


def read_image(path):
    """Reads a JPEG or PNG as (H, W, 3) uint8 RGB, decoded as PIL does."""
    return _core.read_image(str(path))


def read_labels(path):
    """Reads a label PNG's raw indices (palette or grayscale) as (H, W) uint8."""
    return _core.read_labels(str(path))


def write_labels(path, labels):
    """Writes (H, W) labels as an 8-bit grayscale PNG (raw indices), as the CLI writes them."""
    _core.write_labels(str(path), as_labels(labels, "labels"))


def synth(seed=1, split="train", index=0, size=112):
    """One image of the built-in synthetic WSSS dataset (as ``pseudomask synth`` renders it):
    {"image": (size, size, 3) uint8, "gt": (size, size) uint8, "classes": [0-based ids]}."""
    return _core.synth(int(seed), str(split), int(index), int(size))


def irn_walk(cams, boundary, *, radius=5, beta=10.0, exp_times=8):
    """IRN's random walk (Ahn et al. 2019, Eq. 11-12), as ``pseudomask irn-labels``: stride-4 CAMs
    (K, h, w) diffused through the affinities of a class-boundary map (h, w) in [0, 1]. The
    transition matrix stays sparse. Returns the walked maps (K, h, w) float32 (irn_labels turns
    them into labels)."""
    c = as_float32(cams, "cams")
    if c.ndim != 3:
        raise ValueError(f"cams: shape {c.shape}, expected (K, h, w)")
    b = as_float32(boundary, "boundary")
    if b.ndim == 3 and b.shape[0] == 1:
        b = b[0]
    return _core.irn_walk(c, np.ascontiguousarray(b), int(radius), float(beta), int(exp_times))


def irn_labels(walked, keys, height, width, *, bg_threshold=0.25):
    """IRN's labels from walked maps: upsampled x4 and cropped to height x width, divided by their
    maximum, a background plane at bg_threshold first, argmax; plane k becomes label keys[k] + 1.
    Returns (height, width) uint8."""
    k = [int(v) for v in as_array(keys, "keys").reshape(-1)]
    return _core.irn_labels(as_float32(walked, "walked"), k, int(height), int(width),
                            float(bg_threshold))
