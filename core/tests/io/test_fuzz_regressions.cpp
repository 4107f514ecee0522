// SPDX-License-Identifier: MIT
// Inputs the fuzz targets of core/fuzz once failed on (core/fuzz/regressions/<target>/): each
// must now decode or fail with a pm::Error, also under the ASan + UBSan build.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "pseudomask/core/cam/cam_file.h"
#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/files.h"
#include "pseudomask/core/io/image/image_io.h"
#include "pseudomask/core/io/image/label_io.h"
#include "pseudomask/core/io/numpy/npy.h"
#include "pseudomask/core/io/numpy/npz.h"
#include "pseudomask/core/io/pickle/unpickler.h"
#include "pseudomask/core/io/torch/checkpoint.h"

namespace pm {
namespace {

namespace fs = std::filesystem;

using Decoder = std::function<void(const std::vector<uint8_t>&, const std::string&)>;

const std::map<std::string, Decoder>& decoders() {
  static const std::map<std::string, Decoder> d = {
      {"npy", [](const auto& b, const auto& n) { decode_npy(b.data(), b.size(), n); }},
      {"npz", [](const auto& b, const auto& n) { decode_npz(b.data(), b.size(), n); }},
      {"pickle", [](const auto& b, const auto& n) { load_pickle(b.data(), b.size(), n); }},
      {"checkpoint",
       [](const auto& b, const auto& n) { decode_checkpoint(b.data(), b.size(), n); }},
      {"png", [](const auto& b, const auto& n) { decode_image(b.data(), b.size(), n); }},
      {"jpeg", [](const auto& b, const auto& n) { decode_image(b.data(), b.size(), n); }},
      {"label_map", [](const auto& b, const auto& n) { decode_label_png(b.data(), b.size(), n); }},
      {"cam_dict", [](const auto& b, const auto& n) { decode_cam_file(b.data(), b.size(), n); }},
  };
  return d;
}

TEST(FuzzRegressions, CommittedFindingsDecodeOrFailWithAnError) {
  const fs::path root = fs::path(PM_FIXTURE_DIR) / ".." / ".." / "core" / "fuzz" / "regressions";
  ASSERT_TRUE(fs::is_directory(root)) << root;
  size_t inputs = 0;
  for (const auto& folder : fs::directory_iterator(root)) {
    const std::string target = folder.path().filename().string();
    ASSERT_EQ(decoders().count(target), 1u) << "no decoder for " << target;
    for (const auto& file : fs::directory_iterator(folder.path())) {
      const std::vector<uint8_t> bytes = read_file_bytes(file.path().string());
      const std::string name = target + "/" + file.path().filename().string();
      try {
        decoders().at(target)(bytes, name);
      } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()).rfind(name, 0), 0u) << e.what();  // names the file
      }
      ++inputs;
    }
  }
  EXPECT_GE(inputs, 1u);
}

}  // namespace
}  // namespace pm
