# SPDX-License-Identifier: MIT
from os import PathLike
from typing import Any, Dict, List, Literal, Optional, Sequence, Tuple, TypedDict, Union, overload

import numpy as np
import numpy.typing as npt

ArrayLike = npt.ArrayLike
Path = Union[str, PathLike]
Preset = Literal["deeplab", "urn", "irn"]
Input = Literal["probs", "logits", "unary"]

__version__: str
CRF_PRESETS: Dict[str, Tuple[Tuple[float, float], Tuple[float, float, float]]]

@overload
def crf(image: ArrayLike, probs: ArrayLike, preset: Preset = ..., iters: int = ...,
        return_q: Literal[False] = ..., *, input: Input = ...,
        gaussian: Optional[Tuple[float, float]] = ...,
        bilateral: Optional[Tuple[float, float, float]] = ..., jobs: int = ...
        ) -> npt.NDArray[np.uint8]: ...
@overload
def crf(image: ArrayLike, probs: ArrayLike, preset: Preset = ..., iters: int = ...,
        return_q: Literal[True] = ..., *, input: Input = ...,
        gaussian: Optional[Tuple[float, float]] = ...,
        bilateral: Optional[Tuple[float, float, float]] = ..., jobs: int = ...
        ) -> Tuple[npt.NDArray[np.uint8], npt.NDArray[np.float32]]: ...
def crf_batch(image: ArrayLike, list_of_probs: Sequence[ArrayLike], preset: Preset = ...,
              iters: int = ..., return_q: bool = ..., *, input: Input = ...,
              gaussian: Optional[Tuple[float, float]] = ...,
              bilateral: Optional[Tuple[float, float, float]] = ..., jobs: int = ...
              ) -> List[Any]: ...

class UrnResult(TypedDict):
    mask: npt.NDArray[np.uint8]
    weight_byte: npt.NDArray[np.uint8]
    weight: npt.NDArray[np.float32]
    uncertainty: Optional[npt.NDArray[np.float64]]
    present: List[int]
    uncertain_fraction: float

def urn(image: ArrayLike, probs: ArrayLike, preset: Literal["voc", "coco"] = ...,
        mode: Literal["hard", "soft", "prob"] = ..., *, threshold: float = ...,
        jobs: int = ...) -> UrnResult: ...

class CamDict(TypedDict, total=False):
    keys: npt.NDArray[np.int64]
    cam: npt.NDArray[np.float32]
    high_res: npt.NDArray[np.float32]

@overload
def ensemble(cam1: CamDict, cam2: CamDict, mode: Literal["or", "and", "mean"] = ..., *,
             official: bool = ..., low_res: Literal["combine", "downsample", "none"] = ...
             ) -> CamDict: ...
@overload
def ensemble(cam1: ArrayLike, cam2: ArrayLike, mode: Literal["or", "and", "mean"] = ..., *,
             official: bool = ..., low_res: Literal["combine", "downsample", "none"] = ...
             ) -> npt.NDArray[np.float32]: ...

class Metrics(TypedDict):
    iou: List[float]
    precision: List[float]
    recall: List[float]
    fp_share: List[float]
    fn_share: List[float]
    mean_iou: float
    mean_precision: float
    mean_recall: float
    pixel_accuracy: float
    pixels: int

class ConfusionMatrix:
    def __init__(self, num_classes: int) -> None: ...
    @property
    def num_classes(self) -> int: ...
    @property
    def counts(self) -> npt.NDArray[np.int64]: ...
    def update(self, gt: ArrayLike, pred: ArrayLike, ignore: int = ...) -> "ConfusionMatrix": ...
    def merge(self, other: "ConfusionMatrix") -> "ConfusionMatrix": ...
    def metrics(self) -> Metrics: ...

def load_cams(path: Path, plain_has_background: bool = ...) -> CamDict: ...
def save_cams(path: Path, cams: Optional[CamDict] = ..., *, keys: Optional[ArrayLike] = ...,
              cam: Optional[ArrayLike] = ..., high_res: Optional[ArrayLike] = ...) -> None: ...
def read_npy(path: Path) -> np.ndarray: ...
def read_image(path: Path) -> npt.NDArray[np.uint8]: ...
def read_labels(path: Path) -> npt.NDArray[np.uint8]: ...
def write_labels(path: Path, labels: ArrayLike) -> None: ...

class SynthSample(TypedDict):
    image: npt.NDArray[np.uint8]
    gt: npt.NDArray[np.uint8]
    classes: List[int]

def synth(seed: int = ..., split: Literal["train", "val"] = ..., index: int = ...,
          size: int = ...) -> SynthSample: ...

def irn_walk(cams: ArrayLike, boundary: ArrayLike, *, radius: int = ..., beta: float = ...,
             exp_times: int = ...) -> npt.NDArray[np.float32]: ...
def irn_labels(walked: ArrayLike, keys: ArrayLike, height: int, width: int, *,
               bg_threshold: float = ...) -> npt.NDArray[np.uint8]: ...
