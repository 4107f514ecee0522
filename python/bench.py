#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Benchmarks of the Python module (min and median of N runs, one thread unless said):

- pm.crf on the CRF reference's im1 (320×240) with 21 / 3 / 2 labels, DeepLab parameters, 10
  iterations: the figures docs/performance-anchors.md gives for pydensecrf from Python;
- the drop-in: the same CRF through pseudomask.densecrf's DenseCRF2D calls, as a pydensecrf user
  writes them (unary_from_labels, setUnaryEnergy, addPairwiseGaussian/Bilateral, inference);
- pm.urn on each VOC sample image (VOC size, about 500×375);
- the binding's own overhead: the input checks/conversions and the copies in and out.

    PYTHONPATH=build/python /usr/bin/python3 python/bench.py [--runs N] [--jobs J]
"""

import argparse
import pathlib
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor

# python/ itself holds the package's sources without the built extension: import the built or
# installed package instead.
HERE = pathlib.Path(__file__).resolve().parent
sys.path = [p for p in sys.path if pathlib.Path(p or ".").resolve() != HERE]

import numpy as np  # noqa: E402

import pseudomask as pm  # noqa: E402
import pseudomask.densecrf as dcrf  # noqa: E402
from pseudomask._convert import as_image, as_planes  # noqa: E402
from pseudomask.densecrf.utils import unary_from_labels  # noqa: E402

DATA = pathlib.Path(__file__).resolve().parents[1] / "tests" / "data"


def timed(fn, runs):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times) * 1e3, statistics.median(times) * 1e3


def annotation(image):
    rgb = pm.read_image(DATA / "crf" / f"anno{image}.png").astype(np.uint32)
    code = rgb[:, :, 0] + (rgb[:, :, 1] << 8) + (rgb[:, :, 2] << 16)
    colors, labels = np.unique(code, return_inverse=True)
    return labels, 0 in colors


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--jobs", type=int, default=1)
    args = ap.parse_args()
    img = pm.read_image(DATA / "crf" / "im1.png")
    labels, has_unk = annotation(1)
    print(f"{'case':58s} {'min ms':>8s} {'median ms':>10s}")
    for m in (21, 3, 2):
        u = unary_from_labels(labels, m, 0.7, has_unk)
        probs = np.exp(-u).reshape(m, 240, 320)
        probs /= probs.sum(0)

        def drop_in():
            d = dcrf.DenseCRF2D(320, 240, m)
            d.setUnaryEnergy(u)
            d.addPairwiseGaussian(sxy=3, compat=3)
            d.addPairwiseBilateral(sxy=80, srgb=13, rgbim=img, compat=10)
            return np.argmax(d.inference(10), axis=0)

        print("{:58s} {:8.1f} {:10.1f}".format(
            f"pm.crf im1 M={m} (probs float32, labels only)",
            *timed(lambda: pm.crf(img, probs, jobs=args.jobs), args.runs)))
        print("{:58s} {:8.1f} {:10.1f}".format(
            f"pm.crf im1 M={m} input='unary', return_q",
            *timed(lambda: pm.crf(img, u, input="unary", return_q=True, jobs=args.jobs),
                   args.runs)))
        print("{:58s} {:8.1f} {:10.1f}".format(f"drop-in DenseCRF2D im1 M={m} + argmax",
                                               *timed(drop_in, args.runs)))
        # The binding's own work: the input checks and conversions in Python, then one copy of
        # each array into core's types and one copy of each result out (timed as numpy copies of
        # the same sizes).
        planes = probs.astype(np.float32)
        print("{:58s} {:8.1f} {:10.1f}".format(
            f"  overhead: input checks, float32 probs M={m}",
            *timed(lambda: (as_image(img), as_planes(planes, "probs", 240, 320, False)),
                   args.runs)))
        half = probs.astype(np.float16)
        print("{:58s} {:8.1f} {:10.1f}".format(
            f"  overhead: input checks + conversion, float16 probs M={m}",
            *timed(lambda: (as_image(img), as_planes(half, "probs", 240, 320, False)),
                   args.runs)))
        print("{:58s} {:8.1f} {:10.1f}".format(
            f"  overhead: copies in and out (image, probs, labels, Q) M={m}",
            *timed(lambda: (img.copy(), planes.copy(), planes.copy(),
                            np.empty((240, 320), np.uint8).copy()), args.runs)))
    # The GIL is released while core computes: 4 CRFs from 2 Python threads against one thread.
    u21 = unary_from_labels(labels, 21, 0.7, has_unk)
    four = lambda: [pm.crf(img, u21, input="unary") for _ in range(4)]
    with ThreadPoolExecutor(2) as pool:
        threaded = lambda: list(pool.map(lambda _: pm.crf(img, u21, input="unary"), range(4)))
        print("{:58s} {:8.1f} {:10.1f}".format("4 x pm.crf im1 M=21, one thread", *timed(four, 3)))
        print("{:58s} {:8.1f} {:10.1f}".format("4 x pm.crf im1 M=21, ThreadPoolExecutor(2)",
                                               *timed(threaded, 3)))
    for path in sorted((DATA / "voc_sample" / "JPEGImages").glob("*.jpg")):
        image = pm.read_image(path)
        with np.load(DATA / "voc_sample" / "probs_espnetv2" / f"{path.stem}.npz") as z:
            probs = z["probs"]
        k = len(pm.urn(image, probs)["present"])
        print("{:58s} {:8.1f} {:10.1f}".format(
            f"pm.urn {path.stem} {image.shape[1]}x{image.shape[0]} K={k}",
            *timed(lambda: pm.urn(image, probs, jobs=args.jobs), max(3, args.runs // 2))))


if __name__ == "__main__":
    main()
