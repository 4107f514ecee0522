# SPDX-License-Identifier: MIT
"""Input conversion shared by the API and the pydensecrf drop-in.

Every array a user passes goes through one of these functions: numpy arrays of any numeric dtype
and layout, PyTorch CPU tensors, and anything with ``__array__`` or the buffer protocol. What is
unambiguous is converted (float64/float16/integers to float32, non-contiguous to contiguous, a
(C, H, W) image to (H, W, C)); what is not raises a ``ValueError`` that says what was expected and
what was found.
"""

import numpy as np

__all__ = ["as_array", "as_image", "as_float32", "as_planes", "as_labels", "check_numeric", "threads"]


def as_array(x, name):
    """``x`` as a numpy array (a copy only where needed); torch tensors are detached."""
    if isinstance(x, np.ndarray):
        return x
    if hasattr(x, "detach") and hasattr(x, "cpu") and hasattr(x, "numpy"):  # a torch.Tensor
        if getattr(x, "is_cuda", False) or str(getattr(x, "device", "cpu")) != "cpu":
            raise ValueError(f"{name}: a tensor on {x.device}; pass it as .cpu()")
        t = x.detach()
        if str(t.dtype) == "torch.bfloat16":
            t = t.float()
        return t.numpy()
    try:
        return np.asarray(x)
    except Exception as e:  # noqa: BLE001 - any failure is the caller's bad input
        raise ValueError(f"{name}: not an array ({type(x).__name__}): {e}") from None


def check_numeric(a, name):
    if a.dtype == np.bool_ or not (np.issubdtype(a.dtype, np.integer) or
                                   np.issubdtype(a.dtype, np.floating)):
        raise ValueError(f"{name}: dtype {a.dtype} is not a real number type")


def as_float32(x, name, finite=True):
    """A C-contiguous float32 copy (or view) of a numeric array; NaN (and ±inf with finite=True)
    raise; finite=None checks no values (the caller does)."""
    a = as_array(x, name)
    check_numeric(a, name)
    a = np.ascontiguousarray(a, dtype=np.float32)
    if a.size and finite is not None:
        bad = np.isnan(a) if not finite else ~np.isfinite(a)
        if bad.any():
            idx = np.unravel_index(int(np.argmax(bad)), a.shape)
            raise ValueError(f"{name}: value {a[idx]} at index {tuple(int(i) for i in idx)} "
                             f"is not {'a number' if not finite else 'finite'}")
    return a


def as_planes(x, name, height, width, finite=True):
    """(C, H, W) float32 planes for an image of height×width: accepts (C, H, W) and (C, H·W)."""
    a = as_float32(x, name, finite=finite)
    n = height * width
    if a.ndim == 2 and a.shape[1] == n:
        return a.reshape(a.shape[0], height, width)
    if a.ndim == 3 and a.shape[1:] == (height, width):
        return a
    if a.ndim == 3 and a.shape[:2] == (height, width):
        raise ValueError(f"{name}: shape {a.shape} looks like (H, W, C); expected (C, {height}, "
                         f"{width}) (use .transpose(2, 0, 1))")
    raise ValueError(f"{name}: shape {a.shape}, expected (C, {height}, {width}) or (C, {n})")


def as_image(x, name="image", height=None, width=None):
    """An (H, W, 3) uint8 C-contiguous RGB image.

    Accepts (H, W, 3) of any integer dtype with values in 0..255 and float dtypes whose values
    are whole numbers in 0..255, and (3, H, W) (a torch layout) when its last axis is not 3.
    Float images in [0, 1], grayscale and RGBA images raise: scaling and colour conversion are
    the caller's to choose.
    """
    a = as_array(x, name)
    check_numeric(a, name)
    if a.ndim == 3 and a.shape[0] == 3 and a.shape[2] != 3:
        a = np.transpose(a, (1, 2, 0))
    if a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"{name}: shape {a.shape}, expected an RGB image (H, W, 3)")
    if height is not None and (a.shape[0], a.shape[1]) != (height, width):
        raise ValueError(f"{name}: shape {a.shape}, expected ({height}, {width}, 3)")
    if a.dtype != np.uint8:
        if a.size and (np.any(a < 0) or np.any(a > 255) or
                       (np.issubdtype(a.dtype, np.floating) and np.any(a != np.floor(a)))):
            lo, hi = (float(a.min()), float(a.max())) if a.size else (0.0, 0.0)
            raise ValueError(f"{name}: {a.dtype} values in [{lo:g}, {hi:g}]; expected 0..255 "
                             f"colours (e.g. (img * 255).round().astype(np.uint8))")
        a = a.astype(np.uint8)
    return np.ascontiguousarray(a)


def as_labels(x, name, shape=None):
    """An (H, W) uint8 label map from any integer array with values in 0..255."""
    a = as_array(x, name)
    check_numeric(a, name)
    if a.ndim != 2:
        raise ValueError(f"{name}: shape {a.shape}, expected a label map (H, W)")
    if shape is not None and a.shape != tuple(shape):
        raise ValueError(f"{name}: shape {a.shape}, expected {tuple(shape)}")
    if a.dtype != np.uint8:
        if np.issubdtype(a.dtype, np.floating) and a.size and np.any(a != np.floor(a)):
            raise ValueError(f"{name}: {a.dtype} values that are not whole numbers")
        if a.size and (np.any(a < 0) or np.any(a > 255)):
            raise ValueError(f"{name}: labels outside 0..255 (min {a.min()}, max {a.max()})")
        a = a.astype(np.uint8)
    return np.ascontiguousarray(a)


def threads(jobs):
    """Threads for ``jobs=``: 0 means all cores; negative values raise."""
    if isinstance(jobs, bool) or not isinstance(jobs, (int, np.integer)) or jobs < 0:
        raise ValueError(f"jobs must be an int >= 0 (0 = all cores), got {jobs!r}")
    return int(jobs)
