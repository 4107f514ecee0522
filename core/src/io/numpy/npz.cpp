// SPDX-License-Identifier: MIT
// .npz archives: one .npy per zip member, as np.savez / np.savez_compressed write them.
#include <algorithm>
#include <cstring>

#include "pseudomask/core/common/files.h"
#include "pseudomask/core/common/printable.h"
#include "pseudomask/core/io/little_endian.h"
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
             printable(key));
    const std::vector<uint8_t> npy = encode_npy(array);
    writer.add(key + kNpySuffix, npy.data(), npy.size());
  }
  return writer.finish();
}

/// The bytes of a member's .npy header (magic, version, length, dict), read from its start.
/// Short members give what there is, for parse_npy_header to refuse.
std::vector<uint8_t> read_npy_header_bytes(zip::MemberReader& reader) {
  constexpr size_t kV1Prefix = 10;  // magic, version, 2-byte length; v2 and v3: 4-byte length
  std::vector<uint8_t> head(static_cast<size_t>(std::min<uint64_t>(reader.remaining(), kV1Prefix)));
  reader.read(head.data(), head.size());
  if (head.size() < kV1Prefix)
    return head;
  const size_t len_bytes = head[6] >= 2 ? 4 : 2;
  if (len_bytes == 4) {
    if (reader.remaining() < 2)
      return head;
    head.resize(kV1Prefix + 2);
    reader.read(head.data() + kV1Prefix, 2);
  }
  const uint64_t header_len = load_le(head.data() + 8, static_cast<int>(len_bytes));
  if (header_len > reader.remaining())
    return head;
  const size_t at = head.size();
  head.resize(at + static_cast<size_t>(header_len));
  reader.read(head.data() + at, static_cast<size_t>(header_len));
  return head;
}

/// A .npy member, inflated straight into the array's storage. When the member is not the size
/// its directory entry declares, that is the error reported (before any .npy size mismatch).
NDArray read_npy_member(zip::MemberReader& reader) {
  const std::string& what = reader.what();
  const std::vector<uint8_t> head = read_npy_header_bytes(reader);
  const NpyHeader header = parse_npy_header(head.data(), head.size(), what);
  PM_CHECK(header.descr.find('O') == std::string::npos,
           "{}: holds pickled Python objects (a CAM dictionary?); read it with read_cam_file",
           what);
  const NpyDType type = parse_npy_descr(header.descr, what);
  NDArray array;
  try {
    array = array_from_reader(
        type,
        header.shape,
        header.fortran_order,
        static_cast<size_t>(reader.remaining()),
        [&reader](uint8_t* dst, size_t n) { reader.read(dst, n); },
        what);
  } catch (const Error&) {
    reader.finish();  // a member of the wrong size or a corrupt stream is the first problem
    throw;
  }
  reader.finish();
  return array;
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
    const std::string what = name + " (" + printable(m.name) + ")";
    const std::string key = m.name.substr(0, m.name.size() - kNpySuffixSize);
    PM_CHECK(arrays.count(key) == 0, "{}: duplicate member in the archive", what);
    zip::MemberReader reader(data, size, m, name);
    arrays.emplace(key, read_npy_member(reader));
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
