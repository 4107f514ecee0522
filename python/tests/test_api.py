# SPDX-License-Identifier: MIT
"""The Pythonic API equals the CLI's outputs on tests/data/voc_sample byte for byte (CRF, URN,
ensemble, eval), takes any dtype/layout/torch tensor, and refuses bad input with ValueError."""

import json
import os
import pathlib
import subprocess
import tempfile
import unittest
from concurrent.futures import ThreadPoolExecutor

import numpy as np

import pseudomask as pm

from support import CLI, VOC, voc_image, voc_probs

IDS = ["2007_000129", "2007_000648"]  # two classes / one class + background
URN_ID = "2007_000648"  # URN costs 1 + 6·K CRFs: one image is enough


def run_cli(*args):
    subprocess.run([CLI, *[str(a) for a in args]], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)


@unittest.skipUnless(CLI and os.path.exists(CLI), "the pseudomask program is not built")
class EqualsTheCli(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.dir = pathlib.Path(cls.tmp.name)
        (cls.dir / "list.txt").write_text("\n".join(IDS) + "\n")
        cls.images = {i: voc_image(i) for i in IDS}
        cls.probs = {i: voc_probs(i) for i in IDS}
        # The CLI's outputs, once for the tests below.
        cls.crf_out = cls.dir / "crf"
        run_cli("crf", "--images", VOC / "JPEGImages", "--probs", VOC / "probs_espnetv2",
                "--list", cls.dir / "list.txt", "--out", cls.crf_out, "--preset", "deeplab")
        (cls.dir / "urn_list.txt").write_text(URN_ID + "\n")
        cls.urn_out = cls.dir / "urn"
        run_cli("urn", "--images", VOC / "JPEGImages", "--probs", VOC / "probs_espnetv2",
                "--list", cls.dir / "urn_list.txt", "--out", cls.urn_out)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_crf_labels_are_the_cli_files_byte_for_byte(self):
        mine = self.dir / "crf_py"
        mine.mkdir()
        for i in IDS:
            labels = pm.crf(self.images[i], self.probs[i], preset="deeplab")
            pm.write_labels(mine / f"{i}.png", labels)
            self.assertEqual((mine / f"{i}.png").read_bytes(),
                             (self.crf_out / f"{i}.png").read_bytes(), i)

    def test_crf_batch_equals_single_crfs_and_the_cli(self):
        i = IDS[1]
        p = self.probs[i]
        two = np.stack([p[0], 1 - p[0]])
        batch = pm.crf_batch(self.images[i], [p, two, p], return_q=True)
        self.assertTrue(np.array_equal(batch[0][0], pm.read_labels(self.crf_out / f"{i}.png")))
        self.assertTrue(np.array_equal(batch[0][1], batch[2][1]))
        single = pm.crf(self.images[i], two, return_q=True)
        self.assertTrue(np.array_equal(batch[1][0], single[0]))
        self.assertTrue(np.array_equal(batch[1][1], single[1]))

    def test_urn_equals_the_cli(self):
        i = URN_ID
        r = pm.urn(self.images[i], self.probs[i], preset="voc", mode="hard")
        official = pm.read_image(self.urn_out / "urn" / f"{i}.png")  # (W8, W8, M_c)
        self.assertTrue(np.array_equal(r["mask"], official[:, :, 2]))
        self.assertTrue(np.array_equal(r["weight_byte"], official[:, :, 1]))
        self.assertTrue(np.array_equal(r["mask"], pm.read_labels(self.urn_out / "mask" / f"{i}.png")))
        self.assertEqual(r["present"], sorted(set(np.unique(r["mask"]).tolist())))
        self.assertEqual(r["uncertainty"].dtype, np.float64)
        self.assertGreater(r["uncertain_fraction"], 0.0)
        hard = np.where(r["weight_byte"].astype(np.float32) / 255 <= np.float32(0.05),
                        np.float32(0.05), np.float32(1))
        self.assertTrue(np.array_equal(r["weight"], hard))

    def test_ensemble_files_are_the_cli_files_byte_for_byte(self):
        a, b = self.dir / "cams_a", self.dir / "cams_b"
        a.mkdir()
        b.mkdir()
        for i in IDS:
            p = self.probs[i].astype(np.float32)
            keys = np.array([1, 4, 14], np.int64)  # three foreground classes (0-based)
            pm.save_cams(a / f"{i}.npy", keys=keys, high_res=p[keys + 1])
            pm.save_cams(b / f"{i}.npy", {"keys": keys[::-1].copy(), "high_res": p[keys[::-1] + 1] ** 2})
        for mode in ("or", "and", "mean"):
            out = self.dir / f"ens_{mode}"
            run_cli("ensemble", "--cams1", a, "--cams2", b, "--out", out, "--mode", mode)
            for i in IDS:
                got = pm.ensemble(pm.load_cams(a / f"{i}.npy"), pm.load_cams(b / f"{i}.npy"),
                                  mode=mode)
                mine = self.dir / f"ens_{mode}_{i}.npy"
                pm.save_cams(mine, got)
                self.assertEqual(mine.read_bytes(), (out / f"{i}.npy").read_bytes(), (mode, i))
                # numpy reads what we write (no pseudomask needed downstream).
                d = np.load(mine, allow_pickle=True).item()
                self.assertEqual(list(d["keys"]), [1, 4, 14])

    def test_irn_walk_labels_are_the_cli_files_byte_for_byte(self):
        # Stride-4 CAMs and a boundary map made from a VOC image's probabilities.
        cams, bounds, out = self.dir / "irn_cams", self.dir / "irn_bounds", self.dir / "irn"
        cams.mkdir()
        bounds.mkdir()
        i = IDS[1]
        p = self.probs[i].astype(np.float32)[:, ::4, ::4]  # (21, h, w) = (21, ⌈H/4⌉, ⌈W/4⌉)
        keys = np.array([6, 14], np.int64)  # two foreground classes (0-based)
        cam = np.ascontiguousarray(p[keys + 1])
        boundary = np.clip(np.abs(np.diff(p[0], axis=0, prepend=p[0, :1])) * 4, 0, 1)
        pm.save_cams(cams / f"{i}.npy", keys=keys, cam=cam)
        np.save(bounds / f"{i}.npy", boundary.astype(np.float32))
        (self.dir / "irn_list.txt").write_text(i + "\n")
        run_cli("irn-labels", "--cams", cams, "--boundary", bounds, "--out", out, "--list",
                self.dir / "irn_list.txt")
        walked = pm.irn_walk(cam, boundary)
        self.assertEqual(walked.shape, cam.shape)
        labels = pm.irn_labels(walked, keys, 4 * cam.shape[1], 4 * cam.shape[2])
        pm.write_labels(self.dir / "irn_py.png", labels)
        self.assertEqual((self.dir / "irn_py.png").read_bytes(), (out / f"{i}.png").read_bytes())
        self.assertEqual(set(np.unique(labels).tolist()) - {0}, {7, 15})

    def test_confusion_matrix_equals_eval(self):
        report = self.dir / "eval.json"
        run_cli("eval", "--gt", VOC / "SegmentationClass", "--pred", self.crf_out, "--list",
                self.dir / "list.txt", "--json", report)
        j = json.loads(report.read_text())
        cm = pm.ConfusionMatrix(21)
        for i in IDS:
            cm.update(pm.read_labels(VOC / "SegmentationClass" / f"{i}.png"),
                      pm.read_labels(self.crf_out / f"{i}.png"))
        m = cm.metrics()
        self.assertTrue(np.array_equal(cm.counts, np.array(j["confusion"])))
        for key in ("mean_iou", "mean_precision", "mean_recall", "pixel_accuracy", "pixels"):
            self.assertEqual(m[key], j[key], key)
        for c in j["classes"]:
            for key in ("iou", "precision", "recall", "fp_share", "fn_share"):
                want = c[key] if c[key] is not None else float("nan")
                got = m[key][c["id"]]
                self.assertTrue(got == want or (np.isnan(got) and np.isnan(want)),
                                (c["id"], key, got, want))


class Inputs(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        rng = np.random.default_rng(5)
        cls.img = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
        p = rng.random((3, 20, 30)).astype(np.float32)
        cls.p = p / p.sum(0)
        cls.want = pm.crf(cls.img, cls.p)

    def same(self, img, p, **kw):
        self.assertTrue(np.array_equal(pm.crf(img, p, **kw), self.want))

    def test_dtypes_layouts_and_shapes_are_converted(self):
        self.same(self.img, self.p.astype(np.float64))
        self.same(self.img, np.asfortranarray(self.p))
        self.same(self.img, self.p.reshape(3, -1))
        self.same(self.img.transpose(2, 0, 1), self.p)  # (3, H, W) image
        self.same(self.img.astype(np.float32), self.p)
        self.same(self.img.tolist(), self.p.tolist())
        self.same(self.img, self.p, jobs=2)
        self.same(self.img, np.log(self.p), input="logits")

    def test_torch_tensors(self):
        try:
            import torch
        except ImportError:
            self.skipTest("torch is not installed")
        t = torch.from_numpy(self.p).requires_grad_(True)
        self.same(torch.from_numpy(self.img), t)
        self.same(self.img, t.to(torch.float16).float())

    def test_bad_inputs_raise_value_errors(self):
        for img, p, what in ((self.img / 255.0, self.p, "0..255"),
                             (self.img[:, :, 0], self.p, "RGB"),
                             (self.img, self.p[:, :10], "expected"),
                             (self.img, self.p.transpose(1, 2, 0), r"\(H, W, C\)"),
                             (self.img, self.p * 3, "outside"),
                             (self.img, np.full_like(self.p, np.nan), "not a number"),
                             (self.img, self.p.astype(np.complex64), "real number")):
            with self.assertRaisesRegex(ValueError, what):
                pm.crf(img, p)
        for kw in ({"preset": "nope"}, {"iters": -1}, {"jobs": -2}, {"input": "x"}):
            with self.assertRaises(ValueError):
                pm.crf(self.img, self.p, **kw)
        with self.assertRaisesRegex(ValueError, "hard"):
            pm.urn(self.img, self.p, mode="bogus")
        with self.assertRaisesRegex(ValueError, "mode"):
            pm.ensemble(self.p, self.p, mode="xor")
        with self.assertRaises(ValueError):
            pm.ConfusionMatrix(21).update(np.zeros((4, 4)), np.full((4, 4), 30))
        with self.assertRaises(ValueError):
            pm.load_cams("/nonexistent/cams.npy")

    def test_threads_scale_and_give_the_same_results(self):
        with ThreadPoolExecutor(4) as ex:
            outs = list(ex.map(lambda _: pm.crf(self.img, self.p), range(8)))
        for o in outs:
            self.assertTrue(np.array_equal(o, self.want))

    def test_read_npy_and_cams_round_trip(self):
        with tempfile.TemporaryDirectory() as d:
            for dtype in (np.float16, np.float32, np.int64, np.bool_, np.uint8):
                a = (np.arange(12).reshape(3, 4) % 3).astype(dtype)
                np.save(f"{d}/a.npy", np.asfortranarray(a))
                got = pm.read_npy(f"{d}/a.npy")
                self.assertEqual(got.dtype, a.dtype)
                self.assertTrue(np.array_equal(got, a))
            np.save(f"{d}/obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
            with self.assertRaises(ValueError):
                pm.read_npy(f"{d}/obj.npy")
            cams = {"keys": np.array([2, 7]), "high_res": self.p[:2]}
            pm.save_cams(f"{d}/c.npy", cams)
            back = pm.load_cams(f"{d}/c.npy")
            self.assertEqual(back["keys"].tolist(), [2, 7])
            self.assertTrue(np.array_equal(back["high_res"], self.p[:2]))
            self.assertNotIn("cam", back)

    def test_ensemble_arrays_follow_eq1(self):
        a, b = self.p[:2], self.p[1:]
        o = pm.ensemble(a, b, "or")
        raw = a + b - a * b
        self.assertTrue(np.allclose(o, raw / raw.max(axis=(1, 2), keepdims=True), atol=1e-6))

    def test_synth_is_deterministic(self):
        s = pm.synth(seed=3, split="train", index=2, size=64)
        self.assertEqual(s["image"].shape, (64, 64, 3))
        self.assertEqual(s["gt"].shape, (64, 64))
        self.assertTrue(np.array_equal(s["gt"], pm.synth(3, "train", 2, 64)["gt"]))
        self.assertEqual(sorted(set(np.unique(s["gt"]).tolist()) - {0}),
                         [c + 1 for c in s["classes"]])


if __name__ == "__main__":
    unittest.main()
