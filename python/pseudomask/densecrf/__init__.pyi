# SPDX-License-Identifier: MIT
import enum
from typing import Any, Tuple, Union

import numpy as np
import numpy.typing as npt

class KernelType(enum.IntEnum):
    CONST_KERNEL = 0
    DIAG_KERNEL = 1
    FULL_KERNEL = 2

class NormalizationType(enum.IntEnum):
    NO_NORMALIZATION = 0
    NORMALIZE_BEFORE = 1
    NORMALIZE_AFTER = 2
    NORMALIZE_SYMMETRIC = 3

CONST_KERNEL: KernelType
DIAG_KERNEL: KernelType
FULL_KERNEL: KernelType
NO_NORMALIZATION: NormalizationType
NORMALIZE_BEFORE: NormalizationType
NORMALIZE_AFTER: NormalizationType
NORMALIZE_SYMMETRIC: NormalizationType

Compat = Union[float, npt.ArrayLike]
Widths = Union[float, Tuple[float, ...]]

class Unary: ...
class ConstUnary(Unary):
    def __init__(self, u: npt.ArrayLike) -> None: ...
class LogisticUnary(Unary):
    def __init__(self, L: Any, f: Any) -> None: ...

class DenseCRF:
    threads: int
    def __init__(self, nvar: int, nlabels: int, *_: Any, **__: Any) -> None: ...
    def addPairwiseEnergy(self, features: npt.ArrayLike, compat: Compat,
                          kernel: int = ..., normalization: int = ...) -> None: ...
    def setUnary(self, u: ConstUnary) -> None: ...
    def setUnaryEnergy(self, u: npt.ArrayLike, f: Any = ...) -> None: ...
    def inference(self, n_iterations: int) -> npt.NDArray[np.float32]: ...
    def startInference(self) -> Tuple[npt.NDArray[np.float32], np.ndarray, np.ndarray]: ...
    def stepInference(self, Q: npt.NDArray[np.float32], tmp1: Any, tmp2: Any) -> None: ...
    def klDivergence(self, Q: npt.ArrayLike) -> float: ...

class DenseCRF2D(DenseCRF):
    def __init__(self, w: int, h: int, nlabels: int, *_: Any, **__: Any) -> None: ...
    def addPairwiseGaussian(self, sxy: Widths, compat: Compat, kernel: int = ...,
                            normalization: int = ...) -> None: ...
    def addPairwiseBilateral(self, sxy: Widths, srgb: Widths, rgbim: npt.ArrayLike,
                             compat: Compat, kernel: int = ..., normalization: int = ...) -> None: ...
