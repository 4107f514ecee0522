// SPDX-License-Identifier: MIT
// .npz archives: one .npy per zip member, as np.savez / np.savez_compressed write them.
#include <cstring>

#include "pseudomask/core/common/files.h"
#include "pseudomask/core/io/numpy/npy.h"
#include "pseudomask/core/io/numpy/npz.h"
#include "pseudomask/core/io/zip/zip.h"

namespace pm {

namespace {

constexpr char kNpySuffix[] = ".npy";
constexpr size_t kNpySuffixSize = 4;

bool ends_with_npy(const std::string& s) {
  return s.size() > kNpySuffixSize &&
         s.compare(s.size() - kNpySuffixSize, kNpySuffixSize, kNpySuffix) == 0;
}

std::vector<uint8_t> encode_npz_named(const std::map<std::string, NDArray>& arrays,
                                      bool compress,
                                      const std::string& name) {
  zip::ZipWriter writer(compress);
  for (const auto& [key, array] : arrays) {
    PM_CHECK(!key.empty() && key.size() < 0xFFFF - kNpySuffixSize,
             "{}: bad array name '{}' for a .npz member",
             name,
             zip::printable_name(key));
    const std::vector<uint8_t> npy = encode_npy(array);
    writer.add(key + kNpySuffix, npy.data(), npy.size());
  }
  return writer.finish();
}

}  // namespace

std::map<std::string, NDArray> decode_npz(const uint8_t* data,
                                          size_t size,
                                          const std::string& name) {
  PM_CHECK(size < 6 || std::memcmp(data, "\x93NUMPY", 6) != 0,
           "{}: is a .npy file, not a .npz archive; read it with read_npy",
           name);
  std::map<std::string, NDArray> arrays;
  for (const zip::ZipMember& m : zip::list_members(data, size, name)) {
    if (!ends_with_npy(m.name))
      continue;  // np.load exposes these as raw bytes; we skip them
    const std::string what = name + " (" + zip::printable_name(m.name) + ")";
    const std::string key = m.name.substr(0, m.name.size() - kNpySuffixSize);
    PM_CHECK(arrays.count(key) == 0, "{}: duplicate member in the archive", what);
    const zip::MemberBytes bytes = zip::read_member(data, size, m, name);
    arrays.emplace(key, decode_npy(bytes.data, bytes.size, what));
  }
  return arrays;
}

std::vector<uint8_t> encode_npz(const std::map<std::string, NDArray>& arrays, bool compress) {
  return encode_npz_named(arrays, compress, "encode_npz");
}

std::map<std::string, NDArray> read_npz(const std::string& path) {
  const std::vector<uint8_t> bytes = read_file_bytes(path);
  return decode_npz(bytes.data(), bytes.size(), path);
}

void write_npz(const std::string& path,
               const std::map<std::string, NDArray>& arrays,
               bool compress) {
  write_file_atomic(path, encode_npz_named(arrays, compress, path));
}

}  // namespace pm
