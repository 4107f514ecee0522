// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace pm::cli {

/// A file carried inside the program (written at build time by cli/tools/embed_files.cpp).
struct EmbeddedFile {
  const char* path;  ///< relative path, e.g. "JPEGImages/2007_000032.jpg"
  const char* data;
  size_t size;
};

/// The real PASCAL VOC sample `pseudomask selfcheck` runs on (tests/data/voc_sample: the
/// images and ground truth of 8 images, a real network's probabilities for some of them).
const std::vector<EmbeddedFile>& selfcheck_sample_files();

/// Writes every file of `files` under `dir` (atomically; files that exist are kept).
void write_embedded_files(const std::vector<EmbeddedFile>& files, const std::string& dir);

}  // namespace pm::cli
