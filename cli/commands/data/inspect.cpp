// SPDX-License-Identifier: MIT
// `pseudomask inspect`: what is inside an image, label map, .npy/.npz or CAM file.
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <limits>

#include "commands/commands.h"
#include "pseudomask/core/cam/cam_file.h"
#include "pseudomask/core/common/files.h"
#include "pseudomask/core/common/image_id.h"
#include "pseudomask/core/common/printable.h"
#include "pseudomask/core/datasets/cls_labels.h"
#include "pseudomask/core/io/image/image_io.h"
#include "pseudomask/core/io/image/label_io.h"
#include "pseudomask/core/io/numpy/npy.h"
#include "pseudomask/core/io/numpy/npz.h"
#include "pseudomask/core/io/torch/checkpoint.h"
#include "pseudomask/core/urn/uncertainty.h"
#include "pseudomask/core/urn/urn_png.h"

namespace pm::cli {
namespace {

std::string value_range(const NDArray& a) {
  if (a.numel() == 0)
    return "empty";
  double lo = std::numeric_limits<double>::infinity(), hi = -lo, sum = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    const double v = a.value_at(i);
    lo = std::min(lo, v);
    hi = std::max(hi, v);
    sum += v;
  }
  return fmt::format(
      "min {:.6g} max {:.6g} mean {:.6g}", lo, hi, sum / static_cast<double>(a.numel()));
}

/// " v:count ..." for every value present.
std::string value_histogram(const LabelMap& map) {
  std::vector<int64_t> counts(256, 0);
  for (uint8_t v : map.labels)
    ++counts[v];
  std::string hist;
  for (int v = 0; v < 256; ++v) {
    if (counts[static_cast<size_t>(v)])
      hist += fmt::format(" {}:{}", v, counts[static_cast<size_t>(v)]);
  }
  return hist;
}

/// An RGB image with R = G everywhere and some B ≠ R: the official URN file (B = M_c,
/// G = R = weight byte), as `pseudomask urn` writes to <out>/urn/.
bool looks_like_urn_file(const RgbImage& image) {
  bool gray = true;
  for (size_t p = 0; p < image.num_pixels(); ++p) {
    if (image.pixels[3 * p] != image.pixels[3 * p + 1])
      return false;
    gray = gray && image.pixels[3 * p + 2] == image.pixels[3 * p];
  }
  return !gray;
}

void describe_urn_file(const std::string& path, const RgbImage& image) {
  const UrnLabel urn = split_urn_official_image(image, path);
  const float t = UrnOptions{}.threshold;
  size_t uncertain = 0;
  for (uint8_t w : urn.weight_byte.bytes)
    uncertain += is_uncertain(w, t);
  const auto [lo, hi] =
      std::minmax_element(urn.weight_byte.bytes.begin(), urn.weight_byte.bytes.end());
  std::printf(
      "  URN label file (official layout, 8-bit RGB: B = M_c, G = R = weight byte W8)\n"
      "  M_c values (label:pixels):%s\n"
      "  W8 min %d max %d; uncertain (W8/255 <= %g) %zu pixels (%.2f %%)\n",
      value_histogram(urn.mask).c_str(),
      *lo,
      *hi,
      t,
      uncertain,
      100.0 * static_cast<double>(uncertain) / static_cast<double>(image.num_pixels()));
}

void describe_png(const std::string& path) {
  const RgbImage image = read_image(path);
  std::printf("%s: image %dx%d\n", path.c_str(), image.width, image.height);
  try {
    const LabelMap labels = read_label_png(path);
    std::printf("  label map, values (label:pixels):%s\n", value_histogram(labels).c_str());
    return;
  } catch (const Error&) {
  }
  if (looks_like_urn_file(image))
    describe_urn_file(path, image);
  else
    std::printf("  not an 8-bit label map (colour image)\n");
}

void describe_cls_labels(const std::string& path, const ClsLabels& labels) {
  std::vector<int64_t> images_with(static_cast<size_t>(labels.num_classes), 0);
  for (const auto& [id, hot] : labels.multi_hot) {
    for (size_t c = 0; c < hot.size(); ++c)
      images_with[c] += hot[c];
  }
  std::string per_class;
  for (size_t c = 0; c < images_with.size(); ++c)
    per_class += fmt::format(" {}:{}", c, images_with[c]);
  std::printf("%s: image-level labels (cls_labels), %zu images, %d foreground classes\n",
              path.c_str(),
              labels.multi_hot.size(),
              labels.num_classes);
  if (!labels.multi_hot.empty())
    std::printf("  first id %s\n", printable(labels.multi_hot.begin()->first).c_str());
  std::printf("  images per class (class:images):%s\n", per_class.c_str());
}

void describe_checkpoint(const std::string& path) {
  const Checkpoint ckpt = read_checkpoint(path);
  int64_t values = 0;
  for (const auto& [name, a] : ckpt.tensors)
    values += a.numel();
  std::printf("%s: checkpoint (state dict), %zu tensors, %lld values\n",
              path.c_str(),
              ckpt.tensors.size(),
              static_cast<long long>(values));
  for (const auto& [key, value] : ckpt.metadata)
    std::printf("  metadata %s = %s\n", printable(key).c_str(), printable(value).c_str());
  for (const auto& [name, a] : ckpt.tensors)
    std::printf("  %s %s\n", printable(name, 200).c_str(), a.describe().c_str());
}

void describe_npy(const std::string& path, const CamReadOptions& options) {
  const auto bytes = read_file_bytes(path);
  const NpyHeader h = parse_npy_header(bytes.data(), bytes.size(), path);
  if (h.descr != "|O") {
    const NDArray a = decode_npy(bytes.data(), bytes.size(), path);
    std::printf("%s: array %s (%s order, format %d), %s\n",
                path.c_str(),
                a.describe().c_str(),
                h.fortran_order ? "Fortran" : "C",
                h.major_version,
                value_range(a).c_str());
    return;
  }
  CamFile cams;
  try {
    cams = read_cam_file(path, options);
  } catch (const Error&) {
    // Not a CAM dictionary: IRN/SEAM's cls_labels.npy is the other pickled dict the tools use;
    // if it is not that either, the CAM reader's error says what is wrong.
    try {
      return describe_cls_labels(path, decode_cls_labels(bytes.data(), bytes.size(), path));
    } catch (const Error&) {
    }
    throw;
  }
  std::string keys;
  for (int k : cams.keys)
    keys += fmt::format(" {}", k);
  std::printf("%s: CAM dictionary, keys [%s ]\n", path.c_str(), keys.c_str());
  // As arrays, so that the shape is printed with its dtype: "(K, H, W) float32".
  if (!cams.cam.empty()) {
    const NDArray cam = planes_to_ndarray(cams.cam);
    std::printf("  cam %s, %s\n", cam.describe().c_str(), value_range(cam).c_str());
  }
  if (!cams.high_res.empty()) {
    const NDArray high_res = planes_to_ndarray(cams.high_res);
    std::printf("  high_res %s, %s\n", high_res.describe().c_str(), value_range(high_res).c_str());
  }
}

void describe(const std::string& path, const CamReadOptions& options) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char ch) {
    return static_cast<char>(std::tolower(ch));
  });
  if (ext == ".npy")
    return describe_npy(path, options);
  if (ext == ".npz") {
    for (const auto& [name, a] : read_npz(path)) {
      std::printf("%s[%s]: array %s, %s\n",
                  path.c_str(),
                  name.c_str(),
                  a.describe().c_str(),
                  value_range(a).c_str());
    }
    return;
  }
  if (ext == ".png")
    return describe_png(path);
  if (ext == ".pth" || ext == ".pt")
    return describe_checkpoint(path);
  const RgbImage image = read_image(path);
  std::printf("%s: image %dx%d\n", path.c_str(), image.width, image.height);
}

}  // namespace

void add_inspect_command(CLI::App& app, int& exit_code) {
  auto files = std::make_shared<std::vector<std::string>>();
  auto background = std::make_shared<bool>(false);
  CLI::App* sub =
      app.add_subcommand("inspect",
                         "Show what an image, label PNG, .npy/.npz, CAM file, cls_labels.npy or "
                         ".pth checkpoint holds");
  sub->footer(
      "Example:\n  pseudomask inspect cams/2007_000032.npy SegmentationClass/2007_000032.png");
  sub->add_option("files", *files, "Files to inspect")->required()->check(CLI::ExistingFile);
  sub->add_flag("--plain-has-background",
                *background,
                "Plain (C,H,W) CAM arrays have a background channel first");
  sub->callback([files, background, &exit_code] {
    CamReadOptions options;
    options.plain_has_background = *background;
    for (const auto& f : *files)
      describe(f, options);
    exit_code = 0;
  });
}

}  // namespace pm::cli
