# SPDX-License-Identifier: MIT
"""A drop-in for pydensecrf's ``pydensecrf.densecrf`` on pseudomask's CRF.

Change the import and keep the code::

    import pseudomask.densecrf as dcrf            # was: import pydensecrf.densecrf as dcrf
    from pseudomask.densecrf.utils import unary_from_softmax   # was: from pydensecrf.utils ...

The classes, methods, argument names, defaults and constants are pydensecrf's (v1.0rc3, the
Krähenbühl densecrf v2 API it wraps), and the labels are the same: DenseCRF2D with
addPairwiseGaussian/addPairwiseBilateral gives the reference's labels bit for bit.

Where pydensecrf crashes or silently misbehaves, this module converts what is unambiguous and
raises ``ValueError`` for the rest:

- unary: float64/float16/integer energies are converted to float32, non-contiguous arrays copied,
  and (M, H, W) accepted for DenseCRF2D (pydensecrf needs (M, H·W)); a wrong label count, a
  transposed (N, M) array, NaN, −inf, or a pixel with +inf for every label raise;
- rgbim: non-contiguous arrays are copied, other integer dtypes and float arrays holding whole
  numbers 0..255 converted; floats in [0, 1], a wrong size or channel count raise;
- features: any float dtype and layout, (d, N) as pydensecrf;
- kernel widths too small for the lattice (a tiny ``srgb``, where pydensecrf corrupts its heap)
  raise, naming the kernel, the feature and the largest feature value the lattice resolves;
- inference before setUnaryEnergy raises (pydensecrf silently uses a zero unary).
"""

import enum
from numbers import Number

import numpy as np

from .. import _core
from .._convert import as_array, as_float32, as_image

__all__ = [
    "DenseCRF", "DenseCRF2D", "Unary", "ConstUnary", "LogisticUnary", "KernelType",
    "NormalizationType", "CONST_KERNEL", "DIAG_KERNEL", "FULL_KERNEL", "NO_NORMALIZATION",
    "NORMALIZE_BEFORE", "NORMALIZE_AFTER", "NORMALIZE_SYMMETRIC",
]


class KernelType(enum.IntEnum):
    """pydensecrf's KernelType. For inference all three are the same kernel (they differ only in
    the parameters densecrf's learning would adjust, which pydensecrf does not expose)."""
    CONST_KERNEL = 0
    DIAG_KERNEL = 1
    FULL_KERNEL = 2


class NormalizationType(enum.IntEnum):
    """pydensecrf's NormalizationType: with n_i = Σ_j k(f_i, f_j), none, k/n_j, k/n_i, or
    k/sqrt(n_i·n_j) (the default)."""
    NO_NORMALIZATION = 0
    NORMALIZE_BEFORE = 1
    NORMALIZE_AFTER = 2
    NORMALIZE_SYMMETRIC = 3


CONST_KERNEL = KernelType.CONST_KERNEL
DIAG_KERNEL = KernelType.DIAG_KERNEL
FULL_KERNEL = KernelType.FULL_KERNEL
NO_NORMALIZATION = NormalizationType.NO_NORMALIZATION
NORMALIZE_BEFORE = NormalizationType.NORMALIZE_BEFORE
NORMALIZE_AFTER = NormalizationType.NORMALIZE_AFTER
NORMALIZE_SYMMETRIC = NormalizationType.NORMALIZE_SYMMETRIC

_MAX_LABELS = 256


class Unary:
    """Base of the unary classes DenseCRF.setUnary takes."""


class ConstUnary(Unary):
    """A fixed unary energy (M, N), as setUnaryEnergy(u)."""

    def __init__(self, u):
        self.u = u


class LogisticUnary(Unary):
    """pydensecrf's learned logistic unary; not supported (it is only useful with learning,
    which pydensecrf does not wrap either)."""

    def __init__(self, L, f):
        raise NotImplementedError("LogisticUnary is not supported; compute the energies and use "
                                  "setUnaryEnergy")


def _compat(compat, nlabels):
    """(Potts weight, compatibility matrix or None) from pydensecrf's compat argument: a number
    (Potts), a 1-D array (diagonal) or a 2-D (M, M) array (matrix)."""
    if isinstance(compat, Number) and not isinstance(compat, bool):
        w = float(compat)
        if not np.isfinite(w):
            raise ValueError(f"compat must be finite, got {compat!r}")
        return w, None
    a = as_float32(compat, "compat")
    if a.ndim == 1:
        if a.shape[0] != nlabels:
            raise ValueError(f"compat: a diagonal of {a.shape[0]} values for {nlabels} labels")
        return 0.0, np.ascontiguousarray(np.diag(a))
    if a.ndim == 2:
        if a.shape != (nlabels, nlabels):
            raise ValueError(f"compat: shape {a.shape}, expected ({nlabels}, {nlabels})")
        return 0.0, a
    raise ValueError("LabelCompatibility of dimension >2 not meaningful.")


def _enum(value, kind, name):
    try:
        return kind(int(value))
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be one of {[e.name for e in kind]}, got {value!r}") from None


class DenseCRF:
    """A fully-connected CRF over ``nvar`` points with ``nlabels`` labels (pydensecrf's generic
    DenseCRF): unary energies (nlabels, nvar), pairwise kernels from feature arrays (d, nvar)."""

    def __init__(self, nvar, nlabels, *_, **__):
        nvar, nlabels = int(nvar), int(nlabels)
        if nvar <= 0:
            raise ValueError(f"nvar must be positive, got {nvar}")
        if not 1 <= nlabels <= _MAX_LABELS:
            raise ValueError(f"nlabels must be in [1, {_MAX_LABELS}], got {nlabels}")
        self._nvar = nvar
        self._nlabel = nlabels
        # The lattice is built over points laid out as a 1 × nvar "image"; a DenseCRF2D uses h × w.
        self._shape = (1, nvar)
        self._kernels = []
        self._unary = None
        self._engine = None
        self.threads = 1  # threads inside one inference (results do not depend on it)

    # -- set-up ---------------------------------------------------------------------------
    def addPairwiseEnergy(self, features, compat, kernel=DIAG_KERNEL,
                          normalization=NORMALIZE_SYMMETRIC):
        """Adds the kernel w·exp(−½|f_i − f_j|²) over features (d, nvar), with compat a number
        (Potts), a 1-D array (diagonal) or an (M, M) matrix."""
        f = as_float32(features, "features", finite=False)
        if f.ndim != 2 or f.shape[1] != self._nvar:
            raise ValueError("Bad shape for pairwise energy (Need (?, {}), got {})".format(
                self._nvar, f.shape))
        if not 1 <= f.shape[0] <= 16:
            raise ValueError(f"features: {f.shape[0]} dimensions, expected 1..16")
        self._add_kernel(np.ascontiguousarray(f.T), compat, kernel, normalization,
                         "addPairwiseEnergy: features")

    def _add_kernel(self, pixel_major, compat, kernel, normalization, what):
        top = float(np.abs(pixel_major).max()) if pixel_major.size else 0.0
        limit = _core.max_resolved_feature(pixel_major.shape[1])
        if not top <= limit:  # NaN too
            raise ValueError(f"{what} reach {top:.4g}, beyond the ±{limit:.0f} the CRF lattice "
                             f"resolves (a kernel width too small: pydensecrf corrupts its heap "
                             f"here)")
        _enum(kernel, KernelType, "kernel")
        norm = _enum(normalization, NormalizationType, "normalization")
        w, matrix = _compat(compat, self._nlabel)
        self._kernels.append((pixel_major, w, matrix, int(norm)))
        self._engine = None

    def setUnary(self, u):
        """Sets a ConstUnary."""
        if not isinstance(u, ConstUnary):
            raise ValueError(f"setUnary takes a ConstUnary, got {type(u).__name__}")
        self.setUnaryEnergy(u.u)

    def setUnaryEnergy(self, u, f=None):
        """Sets the unary energies, (nlabels, nvar) (DenseCRF2D also takes (nlabels, H, W)):
        negative log-probabilities, e.g. from utils.unary_from_softmax."""
        if f is not None:
            raise NotImplementedError("the logistic unary (setUnaryEnergy(u, f)) is not supported")
        a = as_float32(u, "unary", finite=None)  # checked below
        m, n = self._nlabel, self._nvar
        h, w = self._shape
        if a.ndim == 3 and a.shape == (m, h, w):
            a = a.reshape(m, n)
        if a.ndim == 2 and a.shape == (n, m) and n != m:
            raise ValueError(f"Bad shape for unary energy (Need {(m, n)}, got {a.shape}): it "
                             f"looks transposed (use U.T)")
        if a.ndim != 2 or a.shape != (m, n):
            raise ValueError(f"Bad shape for unary energy (Need {(m, n)}, got {a.shape})")
        if not np.isfinite(a).all():  # one pass; the details only when something is off
            if np.isnan(a).any() or np.isneginf(a).any():
                raise ValueError("unary: NaN or -inf energies (energies are -log(p); clip p, "
                                 "e.g. with utils.unary_from_softmax)")
            if np.isposinf(a).all(axis=0).any():
                raise ValueError("unary: a pixel has +inf energy for every label (probability 0 "
                                 "everywhere); clip p, e.g. with utils.unary_from_softmax")
        self._unary = np.ascontiguousarray(a.reshape(m, h, w))

    # -- inference ------------------------------------------------------------------------
    def _ready(self):
        if self._unary is None:
            raise ValueError("no unary energy: call setUnaryEnergy first")
        if self._engine is None:
            h, w = self._shape
            self._engine = _core.FeatureCrf(w, h, self._kernels, int(self.threads))
        return self._engine

    def inference(self, n_iterations):
        """Runs n_iterations mean-field steps; returns Q (nlabels, nvar) float32.
        The MAP is np.argmax(Q, axis=0)."""
        n = int(n_iterations)
        if not 0 <= n <= 10000:
            raise ValueError(f"n_iterations must be in [0, 10000], got {n_iterations!r}")
        q = self._ready().run(self._unary, None, n)
        return q.reshape(self._nlabel, self._nvar)

    def startInference(self):
        """Returns (Q, tmp1, tmp2): Q = softmax(−U), (nlabels, nvar), for stepInference."""
        q = self._ready().run(self._unary, None, 0).reshape(self._nlabel, self._nvar)
        return q, np.empty(0, np.float32), np.empty(0, np.float32)

    def _q_planes(self, Q):
        q = as_array(Q, "Q")
        if q.shape != (self._nlabel, self._nvar):
            raise ValueError(f"Q: shape {q.shape}, expected {(self._nlabel, self._nvar)}")
        h, w = self._shape
        return as_float32(q, "Q").reshape(self._nlabel, h, w)

    def stepInference(self, Q, tmp1, tmp2):
        """One mean-field step, updating Q (from startInference) in place."""
        if not isinstance(Q, np.ndarray) or Q.dtype != np.float32 or not Q.flags.writeable:
            raise ValueError("Q must be the float32 array startInference returned (updated in "
                             "place)")
        new = self._ready().run(self._unary, self._q_planes(Q), 1)
        Q[...] = new.reshape(Q.shape)

    def klDivergence(self, Q):
        """The KL divergence of Q from the CRF's distribution (up to a constant)."""
        return self._ready().kl_divergence(self._unary, self._q_planes(Q))


class DenseCRF2D(DenseCRF):
    """A dense CRF over a w × h image (pydensecrf's DenseCRF2D(w, h, nlabels))."""

    def __init__(self, w, h, nlabels, *_, **__):
        w, h = int(w), int(h)
        if w <= 0 or h <= 0:
            raise ValueError(f"w and h must be positive, got {w} x {h}")
        super().__init__(w * h, nlabels)
        self._w, self._h = w, h
        self._shape = (h, w)

    def _positions(self, sx, sy):
        xs = np.arange(self._w, dtype=np.float32) / np.float32(sx)
        ys = np.arange(self._h, dtype=np.float32) / np.float32(sy)
        f = np.empty((self._h, self._w, 2), np.float32)
        f[:, :, 0] = xs[None, :]
        f[:, :, 1] = ys[:, None]
        return f

    @staticmethod
    def _widths(value, n, name):
        v = (value,) * n if isinstance(value, Number) else tuple(value)
        if len(v) != n:
            raise ValueError(f"{name} must be a number or {n} numbers, got {value!r}")
        v = tuple(float(x) for x in v)
        if not all(np.isfinite(x) and x > 0 for x in v):
            raise ValueError(f"{name} must be > 0, got {value!r}")
        return v

    def addPairwiseGaussian(self, sxy, compat, kernel=DIAG_KERNEL,
                            normalization=NORMALIZE_SYMMETRIC):
        """Adds the smoothness kernel over positions (x/sx, y/sy); sxy a number or (sx, sy)."""
        sx, sy = self._widths(sxy, 2, "sxy")
        f = self._positions(sx, sy).reshape(-1, 2)
        self._add_kernel(f, compat, kernel, normalization,
                         f"addPairwiseGaussian: positions / sxy (sxy = {sxy!r})")

    def addPairwiseBilateral(self, sxy, srgb, rgbim, compat, kernel=DIAG_KERNEL,
                             normalization=NORMALIZE_SYMMETRIC):
        """Adds the appearance kernel over (x/sx, y/sy, r/sr, g/sg, b/sb); rgbim (h, w, 3)."""
        sx, sy = self._widths(sxy, 2, "sxy")
        sr, sg, sb = self._widths(srgb, 3, "srgb")
        a = as_array(rgbim, "rgbim")
        if a.ndim != 3 or a.shape[:2] != (self._h, self._w):
            raise ValueError("Bad shape for pairwise bilateral (Need {}, got {})".format(
                (self._h, self._w, 3), a.shape))
        if a.shape[2] != 3:
            raise ValueError("addPairwiseBilateral only works for RGB images. For other types, "
                             "use `utils.create_pairwise_bilateral` to construct your own "
                             "pairwise energy and add it through `addPairwiseEnergy`.")
        img = as_image(a, "rgbim")
        f = np.empty((self._h, self._w, 5), np.float32)
        f[:, :, :2] = self._positions(sx, sy)
        colour = img.astype(np.float32)
        for c, s in enumerate((sr, sg, sb)):
            f[:, :, 2 + c] = colour[:, :, c] / np.float32(s)
        self._add_kernel(f.reshape(-1, 5), compat, kernel, normalization,
                         f"addPairwiseBilateral: positions / sxy and colours / srgb (sxy = "
                         f"{sxy!r}, srgb = {srgb!r})")
