// SPDX-License-Identifier: MIT
// pseudomask._core: the core library for Python (pybind11). Thin on purpose: arrays come in as
// C-contiguous numpy arrays of the dtype each function names (the Python package, pseudomask/,
// converts and checks user input first), are copied once into core's types, and the GIL is
// released while core computes. Every pm::Error becomes a ValueError with core's one-line message.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "pseudomask/core/cam/cam_file.h"
#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/memory.h"
#include "pseudomask/core/common/ndarray.h"
#include "pseudomask/core/common/parallel.h"
#include "pseudomask/core/common/planes.h"
#include "pseudomask/core/common/value_checks.h"
#include "pseudomask/core/crf/crf_inputs.h"
#include "pseudomask/core/crf/dense_crf.h"
#include "pseudomask/core/ensemble/ensemble.h"
#include "pseudomask/core/eval/confusion.h"
#include "pseudomask/core/io/image/image_io.h"
#include "pseudomask/core/io/image/label_io.h"
#include "pseudomask/core/io/numpy/npy.h"
#include "pseudomask/core/irn/random_walk.h"
#include "pseudomask/core/synth/synth.h"
#include "pseudomask/core/urn/uncertainty.h"

namespace py = pybind11;

namespace pm {
namespace {

using FloatArray = py::array_t<float, py::array::c_style | py::array::forcecast>;
using ByteArray = py::array_t<uint8_t, py::array::c_style | py::array::forcecast>;

// ---- numpy <-> core types (one copy each way) ----

// (C, H, W) float32 planes from a 3-D array.
Planes planes_from(const FloatArray& a, const char* what) {
  PM_CHECK(a.ndim() == 3, "{} must be 3-D (C, H, W), got {} dimensions", what, a.ndim());
  Planes p(
      static_cast<int>(a.shape(0)), static_cast<int>(a.shape(1)), static_cast<int>(a.shape(2)));
  if (p.size() > 0)
    std::memcpy(p.data(), a.data(), p.size() * sizeof(float));
  return p;
}

/// f() with the GIL released (the computation of a binding), its result returned.
template <class F>
auto without_gil(F&& f) {
  py::gil_scoped_release release;
  return f();
}

py::array_t<float> to_numpy(const Planes& p) {
  py::array_t<float> out({p.channels(), p.height(), p.width()});
  if (p.size() > 0)
    std::memcpy(out.mutable_data(), p.data(), p.size() * sizeof(float));
  return out;
}

RgbImage image_from(const ByteArray& a) {
  PM_CHECK(a.ndim() == 3 && a.shape(2) == 3, "image must be (H, W, 3) uint8");
  RgbImage im(static_cast<int>(a.shape(1)), static_cast<int>(a.shape(0)));
  std::memcpy(im.pixels.data(), a.data(), im.pixels.size());
  return im;
}

py::array_t<uint8_t> to_numpy(const RgbImage& im) {
  py::array_t<uint8_t> out({im.height, im.width, 3});
  std::memcpy(out.mutable_data(), im.pixels.data(), im.pixels.size());
  return out;
}

LabelMap labels_from(const ByteArray& a, const char* what) {
  PM_CHECK(a.ndim() == 2, "{} must be 2-D (H, W), got {} dimensions", what, a.ndim());
  LabelMap m(static_cast<int>(a.shape(1)), static_cast<int>(a.shape(0)));
  std::memcpy(m.labels.data(), a.data(), m.labels.size());
  return m;
}

py::array_t<uint8_t> bytes_to_numpy(const std::vector<uint8_t>& bytes, int width, int height) {
  py::array_t<uint8_t> out({height, width});
  std::memcpy(out.mutable_data(), bytes.data(), bytes.size());
  return out;
}

const char* numpy_dtype(DType t) {
  return dtype_name(t);  // numpy's own names ("float16", "bool", ...)
}

py::array ndarray_to_numpy(const NDArray& a) {
  std::vector<py::ssize_t> shape(a.shape().begin(), a.shape().end());
  py::array out(py::dtype(numpy_dtype(a.dtype())), shape);
  if (a.nbytes() > 0)
    std::memcpy(out.mutable_data(), a.raw(), a.nbytes());
  return out;
}

// ---- CRF ----

CrfParams params_from(const std::vector<std::tuple<float, float, float>>& terms, int iterations) {
  CrfParams p;
  p.iterations = iterations;
  for (const auto& [sxy, srgb, weight] : terms) {
    PairwiseTerm t;
    t.sxy = sxy;
    t.srgb = srgb;
    t.weight = weight;
    p.terms.push_back(t);
  }
  return p;
}

// A CRF's unary from what the caller gave, as `pseudomask crf` computes it: "probs" (checked,
// −log(clip(p, 1e-5, 1))), "logits" (softmax first) or "unary" (energies as given).
Unary unary_from_input(Planes planes, const std::string& kind, const std::string& name) {
  if (kind == "unary")
    return planes;
  PM_CHECK(kind == "probs" || kind == "logits", "input kind must be probs, logits or unary");
  if (kind == "logits")
    softmax_labels(planes);
  check_probabilities(planes, name);
  return unary_from_probabilities(planes);
}

py::tuple crf_result(const CrfResult& r, bool return_q) {
  py::array_t<uint8_t> labels = bytes_to_numpy(r.map.labels, r.map.width, r.map.height);
  if (!return_q)
    return py::make_tuple(labels, py::none());
  return py::make_tuple(labels, to_numpy(r.q));
}

// One CRF on an image: (labels (H, W) uint8, Q (M, H, W) float32 or None).
py::tuple crf_on_image(const ByteArray& image,
                       const FloatArray& input,
                       const std::string& kind,
                       const std::vector<std::tuple<float, float, float>>& terms,
                       int iterations,
                       bool return_q,
                       int threads) {
  const RgbImage im = image_from(image);
  Planes planes = planes_from(input, kind.c_str());
  CrfResult r;
  {
    py::gil_scoped_release release;
    const Unary u = unary_from_input(std::move(planes), kind, kind);
    const DenseCrf2D crf(im, params_from(terms, iterations), resolve_jobs(threads));
    r = crf.infer(u, nullptr, return_q ? CrfOutputs::kLabelsAndMarginals : CrfOutputs::kLabels);
  }
  return crf_result(r, return_q);
}

// Many CRFs on one image, sharing its lattices: a list of (labels, Q or None).
py::list crf_batch_on_image(const ByteArray& image,
                            const std::vector<FloatArray>& inputs,
                            const std::string& kind,
                            const std::vector<std::tuple<float, float, float>>& terms,
                            int iterations,
                            bool return_q,
                            int threads) {
  const RgbImage im = image_from(image);
  std::vector<Unary> us;
  for (const FloatArray& a : inputs)
    us.push_back(planes_from(a, kind.c_str()));
  std::vector<CrfResult> rs;
  {
    py::gil_scoped_release release;
    for (size_t i = 0; i < us.size(); ++i)
      us[i] = unary_from_input(std::move(us[i]), kind, fmt::format("{}[{}]", kind, i));
    const DenseCrf2D crf(im, params_from(terms, iterations), resolve_jobs(threads));
    std::vector<const Unary*> batch;
    for (const Unary& u : us)
      batch.push_back(&u);
    rs = crf.infer_batch(batch,
                         /*max_group_channels=*/48,
                         nullptr,
                         return_q ? CrfOutputs::kLabelsAndMarginals : CrfOutputs::kLabels);
  }
  py::list out;
  for (const CrfResult& r : rs)
    out.append(crf_result(r, return_q));
  return out;
}

// A CRF whose kernels are given by their features: pydensecrf's DenseCRF / DenseCRF2D. Built once
// (the lattices), then inferred any number of times.
class FeatureCrf {
 public:
  // kernels: (features (N, d) float32 pixel-major, Potts weight, compat (M, M) or None,
  // normalization 0..3 as pydensecrf's NormalizationType).
  FeatureCrf(int width,
             int height,
             const std::vector<std::tuple<FloatArray, float, py::object, int>>& kernels,
             int threads) {
    std::vector<PairwiseFeatures> ks;
    for (const auto& [features, weight, compat, normalization] : kernels) {
      PM_CHECK(features.ndim() == 2, "pairwise features must be 2-D");
      PairwiseFeatures k;
      k.dims = static_cast<int>(features.shape(1));
      k.features.assign(features.data(), features.data() + features.size());
      k.term.weight = weight;
      if (!compat.is_none()) {
        const FloatArray m = compat.cast<FloatArray>();
        k.term.compat.assign(m.data(), m.data() + m.size());
      }
      PM_CHECK(normalization >= 0 && normalization <= 3,
               "normalization must be 0..3, got {}",
               normalization);
      k.term.normalization = static_cast<Normalization>(normalization);
      ks.push_back(std::move(k));
    }
    py::gil_scoped_release release;
    crf_ = std::make_unique<DenseCrf2D>(width, height, std::move(ks), 0, resolve_jobs(threads));
  }

  // `steps` mean-field steps from q (or from softmax(−U) when q is None): Q (M, H, W).
  py::array_t<float> run(const FloatArray& unary, const py::object& q, int steps) const {
    const Unary u = planes_from(unary, "unary");
    Planes start;  // empty: from softmax(−U)
    if (!q.is_none())
      start = planes_from(q.cast<FloatArray>(), "Q");
    CrfResult r = without_gil([&] { return crf_->continue_inference(u, start, steps); });
    return to_numpy(r.q);
  }

  double kl_divergence(const FloatArray& unary, const FloatArray& q) const {
    const Unary u = planes_from(unary, "unary");
    const Planes qq = planes_from(q, "Q");
    py::gil_scoped_release release;
    return crf_->kl_divergence(u, qq);
  }

 private:
  std::unique_ptr<DenseCrf2D> crf_;
};

// ---- URN ----

py::dict urn_on_image(const ByteArray& image,
                      const FloatArray& probs,
                      const std::string& dataset,
                      const std::string& mode,
                      float threshold,
                      int threads) {
  const RgbImage im = image_from(image);
  const Planes p = planes_from(probs, "probs");
  UrnOptions o = UrnOptions::preset(dataset == "coco" ? UrnDataset::kCoco : UrnDataset::kVoc);
  PM_CHECK(
      dataset == "voc" || dataset == "coco", "preset must be 'voc' or 'coco', got '{}'", dataset);
  PM_CHECK(mode == "hard" || mode == "soft" || mode == "prob",
           "mode must be 'hard', 'soft' or 'prob', got '{}'",
           mode);
  o.mode = mode == "hard"   ? UrnWeightMode::kHard
           : mode == "soft" ? UrnWeightMode::kSoft
                            : UrnWeightMode::kProb;
  o.threshold = threshold;
  o.validate();
  PM_CHECK(p.height() == im.height && p.width() == im.width,
           "probs are {}, the image is {}x{} (W x H)",
           p.describe(),
           im.width,
           im.height);
  check_probabilities(p, "probs");
  UrnResult r;
  {
    py::gil_scoped_release release;
    const DenseCrf2D crf(im, o.crf, resolve_jobs(threads));
    r = compute_urn(crf, p, o);
  }
  py::dict out;
  out["mask"] = bytes_to_numpy(r.cyclic_mask.labels, im.width, im.height);
  out["weight_byte"] = bytes_to_numpy(r.weight_byte.bytes, im.width, im.height);
  py::array_t<float> weight({im.height, im.width});
  std::memcpy(weight.mutable_data(), r.weight.data(), r.weight.size() * sizeof(float));
  out["weight"] = weight;
  if (r.uncertainty.empty()) {
    out["uncertainty"] = py::none();
  } else {
    py::array_t<double> u({im.height, im.width});
    std::memcpy(u.mutable_data(), r.uncertainty.data(), r.uncertainty.size() * sizeof(double));
    out["uncertainty"] = u;
  }
  out["present"] = std::vector<int>(r.present.begin(), r.present.end());
  out["uncertain_fraction"] = r.uncertain_fraction();
  return out;
}

// ---- CAMs and the ensemble ----

CamFile cam_file_from(const py::dict& d) {
  CamFile c;
  c.keys = d["keys"].cast<std::vector<int>>();
  if (d.contains("cam") && !d["cam"].is_none())
    c.cam = planes_from(d["cam"].cast<FloatArray>(), "cam");
  if (d.contains("high_res") && !d["high_res"].is_none())
    c.high_res = planes_from(d["high_res"].cast<FloatArray>(), "high_res");
  return c;
}

py::dict cam_file_to_dict(const CamFile& c) {
  py::dict d;
  d["keys"] = py::array_t<int64_t>(static_cast<py::ssize_t>(c.keys.size()),
                                   std::vector<int64_t>(c.keys.begin(), c.keys.end()).data());
  if (!c.cam.empty())
    d["cam"] = to_numpy(c.cam);
  if (!c.high_res.empty())
    d["high_res"] = to_numpy(c.high_res);
  return d;
}

EnsembleMode ensemble_mode(const std::string& mode) {
  if (mode == "or")
    return EnsembleMode::kOr;
  if (mode == "and")
    return EnsembleMode::kAnd;
  PM_CHECK(mode == "mean", "mode must be 'or', 'and' or 'mean', got '{}'", mode);
  return EnsembleMode::kMean;
}

LowResPolicy low_res_policy(const std::string& p) {
  if (p == "combine")
    return LowResPolicy::kCombine;
  if (p == "downsample")
    return LowResPolicy::kDownsample;
  PM_CHECK(p == "none", "low_res must be 'combine', 'downsample' or 'none', got '{}'", p);
  return LowResPolicy::kNone;
}

py::array_t<float> ensemble_arrays(const FloatArray& a,
                                   const FloatArray& b,
                                   const std::string& mode,
                                   bool official) {
  const Planes pa = planes_from(a, "cam1"), pb = planes_from(b, "cam2");
  PM_CHECK(pa.channels() == pb.channels() && pa.height() == pb.height() && pa.width() == pb.width(),
           "cam1 is {} but cam2 is {}",
           pa.describe(),
           pb.describe());
  EnsembleOptions o;
  o.mode = ensemble_mode(mode);
  o.official = official;
  Planes out = without_gil([&] { return combine_cams(pa, pb, o); });
  return to_numpy(out);
}

py::dict ensemble_dicts(const py::dict& a,
                        const py::dict& b,
                        const std::string& mode,
                        bool official,
                        const std::string& low_res) {
  const CamFile ca = cam_file_from(a), cb = cam_file_from(b);
  EnsembleOptions o;
  o.mode = ensemble_mode(mode);
  o.official = official;
  o.low_res = low_res_policy(low_res);
  CamFile out = without_gil([&] { return ensemble_cams(ca, cb, o, "cam1", "cam2"); });
  return cam_file_to_dict(out);
}

// ---- evaluation ----

py::dict metrics_dict(const ConfusionMatrix& cm) {
  const Metrics m = compute_metrics(cm);
  std::vector<double> iou, precision, recall, fp_share, fn_share;
  for (const ClassMetrics& c : m.classes) {
    iou.push_back(c.iou);
    precision.push_back(c.precision);
    recall.push_back(c.recall);
    fp_share.push_back(c.fp_share);
    fn_share.push_back(c.fn_share);
  }
  py::dict d;
  d["iou"] = iou;
  d["precision"] = precision;
  d["recall"] = recall;
  d["fp_share"] = fp_share;
  d["fn_share"] = fn_share;
  d["mean_iou"] = m.mean_iou;
  d["mean_precision"] = m.mean_precision;
  d["mean_recall"] = m.mean_recall;
  d["pixel_accuracy"] = m.pixel_accuracy;
  d["pixels"] = m.pixels;
  return d;
}

py::array_t<int64_t> counts_array(const ConfusionMatrix& cm) {
  const int n = cm.num_classes();
  py::array_t<int64_t> out({n, n});
  if (n > 0)
    std::memcpy(out.mutable_data(), cm.counts().data(), cm.counts().size() * sizeof(int64_t));
  return out;
}

// ---- IRN's random walk ----

py::array_t<float> irn_walk(
    const FloatArray& cams, const FloatArray& boundary, int radius, double beta, int exp_times) {
  const Planes c = planes_from(cams, "cams");
  PM_CHECK(
      boundary.ndim() == 2 && boundary.shape(0) == c.height() && boundary.shape(1) == c.width(),
      "boundary must be (h, w) = ({}, {}) like the CAMs",
      c.height(),
      c.width());
  const std::vector<float> b(boundary.data(), boundary.data() + boundary.size());
  RandomWalkOptions o;
  o.radius = radius;
  o.beta = beta;
  o.exp_times = exp_times;
  o.validate();
  Planes walked = without_gil([&] { return random_walk(c, b, o); });
  return to_numpy(walked);
}

py::array_t<uint8_t> irn_labels(const FloatArray& walked,
                                const std::vector<int>& keys,
                                int height,
                                int width,
                                float bg_threshold) {
  const Planes w = planes_from(walked, "walked");
  PM_CHECK(static_cast<int>(keys.size()) == w.channels(),
           "{} keys for {} walked maps",
           keys.size(),
           w.channels());
  PM_CHECK(height > 0 && width > 0 && height <= 4 * w.height() && width <= 4 * w.width(),
           "height x width must be within 4x the walked maps ({}x{}), got {}x{}",
           4 * w.height(),
           4 * w.width(),
           height,
           width);
  LabelMap l = without_gil([&] { return walk_labels(w, keys, height, width, bg_threshold); });
  return bytes_to_numpy(l.labels, l.width, l.height);
}

// ---- the synthetic dataset ----

py::dict synth_sample(uint64_t seed, const std::string& split, int index, int size) {
  SynthOptions o;
  o.seed = seed;
  o.size = size;
  o.validate();
  PM_CHECK(split == "train" || split == "val", "split must be 'train' or 'val', got '{}'", split);
  PM_CHECK(index >= 0, "index must be >= 0, got {}", index);
  SynthItem item;
  item.split = split;
  item.index = index;
  SynthSample s = without_gil([&] { return render_synth_sample(o, item); });
  py::dict d;
  d["image"] = to_numpy(s.image);
  d["gt"] = bytes_to_numpy(s.gt.labels, s.gt.width, s.gt.height);
  d["classes"] = s.classes;
  return d;
}

}  // namespace
}  // namespace pm

PYBIND11_MODULE(_core, m) {
  using namespace pm;
  m.doc() = "pseudomask's core (C++), used by the pseudomask package; see pseudomask/__init__.py";
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p)
        std::rethrow_exception(p);
    } catch (const Error& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    }
  });

  m.def("crf",
        &crf_on_image,
        py::arg("image"),
        py::arg("input"),
        py::arg("kind"),
        py::arg("terms"),
        py::arg("iterations"),
        py::arg("return_q"),
        py::arg("threads"));
  m.def("crf_batch",
        &crf_batch_on_image,
        py::arg("image"),
        py::arg("inputs"),
        py::arg("kind"),
        py::arg("terms"),
        py::arg("iterations"),
        py::arg("return_q"),
        py::arg("threads"));
  py::class_<FeatureCrf>(m, "FeatureCrf")
      .def(py::init<int,
                    int,
                    const std::vector<std::tuple<FloatArray, float, py::object, int>>&,
                    int>(),
           py::arg("width"),
           py::arg("height"),
           py::arg("kernels"),
           py::arg("threads") = 1)
      .def("run", &FeatureCrf::run, py::arg("unary"), py::arg("q"), py::arg("steps"))
      .def("kl_divergence", &FeatureCrf::kl_divergence, py::arg("unary"), py::arg("q"));
  m.def("urn",
        &urn_on_image,
        py::arg("image"),
        py::arg("probs"),
        py::arg("preset"),
        py::arg("mode"),
        py::arg("threshold"),
        py::arg("threads"));
  m.def("ensemble_arrays",
        &ensemble_arrays,
        py::arg("cam1"),
        py::arg("cam2"),
        py::arg("mode"),
        py::arg("official"));
  m.def("ensemble_dicts",
        &ensemble_dicts,
        py::arg("cam1"),
        py::arg("cam2"),
        py::arg("mode"),
        py::arg("official"),
        py::arg("low_res"));

  py::class_<ConfusionMatrix>(m, "ConfusionMatrix")
      .def(py::init<int>(), py::arg("num_classes"))
      .def_property_readonly("num_classes", &ConfusionMatrix::num_classes)
      .def(
          "update",
          [](ConfusionMatrix& cm, const ByteArray& gt, const ByteArray& pred, int ignore) {
            const LabelMap g = labels_from(gt, "gt"), p = labels_from(pred, "pred");
            py::gil_scoped_release release;
            cm.add(g, p, "update", ignore);
          },
          py::arg("gt"),
          py::arg("pred"),
          py::arg("ignore") = 255)
      .def("merge", &ConfusionMatrix::merge, py::arg("other"))
      .def_property_readonly("counts", &counts_array)
      .def("metrics", &metrics_dict);

  m.def(
      "load_cams",
      [](const std::string& path, bool plain_has_background) {
        CamReadOptions o;
        o.plain_has_background = plain_has_background;
        CamFile c = without_gil([&] { return read_cam_file(path, o); });
        return cam_file_to_dict(c);
      },
      py::arg("path"),
      py::arg("plain_has_background") = false);
  m.def(
      "save_cams",
      [](const std::string& path, const py::dict& d) {
        const CamFile c = cam_file_from(d);
        py::gil_scoped_release release;
        write_cam_file(path, c);
      },
      py::arg("path"),
      py::arg("cams"));
  m.def(
      "read_npy",
      [](const std::string& path) {
        NDArray a = without_gil([&] { return read_npy(path); });
        return ndarray_to_numpy(a);
      },
      py::arg("path"));
  m.def(
      "read_image",
      [](const std::string& path) {
        RgbImage im = without_gil([&] { return read_image(path); });
        return to_numpy(im);
      },
      py::arg("path"));
  m.def(
      "read_labels",
      [](const std::string& path) {
        LabelMap l = without_gil([&] { return read_label_png(path); });
        return bytes_to_numpy(l.labels, l.width, l.height);
      },
      py::arg("path"));
  m.def(
      "write_labels",
      [](const std::string& path, const ByteArray& labels) {
        const LabelMap l = labels_from(labels, "labels");
        py::gil_scoped_release release;
        write_label_png(path, l);
      },
      py::arg("path"),
      py::arg("labels"));
  m.def("irn_walk",
        &irn_walk,
        py::arg("cams"),
        py::arg("boundary"),
        py::arg("radius"),
        py::arg("beta"),
        py::arg("exp_times"));
  m.def("irn_labels",
        &irn_labels,
        py::arg("walked"),
        py::arg("keys"),
        py::arg("height"),
        py::arg("width"),
        py::arg("bg_threshold"));
  m.def("keep_freed_memory_for_reuse", &keep_freed_memory_for_reuse);
  m.def("max_resolved_feature", &PermutohedralLattice::max_resolved_feature, py::arg("dims"));
  m.def(
      "synth", &synth_sample, py::arg("seed"), py::arg("split"), py::arg("index"), py::arg("size"));
}
