# SPDX-License-Identifier: MIT
"""Fuzzed shapes, dtypes, layouts and values into every entry point: each call either works or
raises ValueError (NotImplementedError for pydensecrf's unwrapped learning API); nothing crashes
(a crash would end this process, failing the test)."""

import unittest

import numpy as np

import pseudomask as pm
import pseudomask.densecrf as dcrf
from pseudomask.densecrf import utils

DTYPES = [np.uint8, np.int8, np.int32, np.int64, np.uint16, np.float16, np.float32, np.float64,
          np.bool_, np.complex64]


def random_array(rng, shape):
    dtype = DTYPES[rng.integers(len(DTYPES))]
    kind = rng.integers(4)
    if kind == 0:
        a = rng.random(shape)
    elif kind == 1:
        a = rng.normal(0, 100, shape)
    elif kind == 2:
        a = rng.integers(0, 300, shape)
    else:
        a = rng.choice(np.array([0, 1, np.nan, np.inf, -np.inf, 1e30, -1e-30]), shape)
    with np.errstate(all="ignore"):
        a = a.astype(dtype)
    if rng.integers(3) == 0 and a.ndim >= 2:
        a = np.asfortranarray(a)
    if rng.integers(4) == 0 and a.ndim >= 1:
        a = a[..., ::-1]
    return a


def random_shape(rng, ndim=None):
    ndim = int(rng.integers(0, 5)) if ndim is None else ndim
    return tuple(int(rng.integers(0, 7)) for _ in range(ndim))


class Fuzz(unittest.TestCase):
    def call(self, fn):
        try:
            fn()
        except (ValueError, NotImplementedError):
            pass

    def test_api(self):
        rng = np.random.default_rng(2026)
        for _ in range(300):
            h, w, c = (int(v) for v in rng.integers(1, 6, 3))
            img = random_array(rng, (h, w, 3) if rng.integers(3) else random_shape(rng))
            p = random_array(rng, (c, h, w) if rng.integers(3) else random_shape(rng))
            self.call(lambda: pm.crf(img, p, iters=int(rng.integers(0, 3)),
                                     input=["probs", "logits", "unary"][rng.integers(3)]))
            self.call(lambda: pm.crf_batch(img, [p, p], iters=1))
            self.call(lambda: pm.urn(img, p, mode=["hard", "soft", "prob"][rng.integers(3)]))
            self.call(lambda: pm.ensemble(p, random_array(rng, p.shape), "mean"))
            cm = pm.ConfusionMatrix(int(rng.integers(1, 30)))
            self.call(lambda: cm.update(random_array(rng, (h, w)), random_array(rng, (h, w))))
            self.call(lambda: pm.ensemble({"keys": rng.integers(-2, 5, c), "high_res": p},
                                          {"keys": rng.integers(0, 5, c), "cam": p}))

    def test_densecrf(self):
        rng = np.random.default_rng(11)
        for _ in range(300):
            h, w, m = (int(v) for v in rng.integers(1, 6, 3))

            def one():
                d = dcrf.DenseCRF2D(w, h, m)
                d.setUnaryEnergy(random_array(rng, (m, h * w) if rng.integers(3)
                                              else random_shape(rng)))
                d.addPairwiseGaussian(sxy=float(rng.choice([1e-9, 0.5, 3, 1e9])), compat=3)
                d.addPairwiseBilateral(sxy=3, srgb=float(rng.choice([1e-6, 0.01, 13])),
                                       rgbim=random_array(rng, (h, w, 3)),
                                       compat=random_array(rng, random_shape(rng, 1 + rng.integers(2)))
                                       if rng.integers(2) else 10)
                q, t1, t2 = d.startInference()
                d.stepInference(q, t1, t2)
                d.klDivergence(q)
                d.inference(int(rng.integers(0, 3)))
            self.call(one)

            def generic():
                d = dcrf.DenseCRF(h * w, m)
                d.setUnaryEnergy(utils.unary_from_softmax(random_array(rng, (m, h, w))))
                d.addPairwiseEnergy(random_array(rng, (int(rng.integers(0, 18)), h * w)), compat=1)
                d.inference(2)
            self.call(generic)
            self.call(lambda: utils.unary_from_labels(random_array(rng, (h, w)), m, 0.7))


if __name__ == "__main__":
    unittest.main()
