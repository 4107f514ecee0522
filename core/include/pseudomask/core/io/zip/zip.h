// SPDX-License-Identifier: MIT
// A minimal zip reader and writer, shared by .npz archives (io/numpy) and torch.save
// checkpoints (io/torch).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace pm {
namespace zip {

/// One member as described by the central directory (ZIP64 extra fields already applied).
struct ZipMember {
  std::string name;
  uint16_t flags = 0;   ///< general purpose bit flags (bit 0: encrypted, bit 3: data descriptor)
  uint16_t method = 0;  ///< 0 = stored, 8 = deflated
  uint32_t crc32 = 0;
  uint64_t compressed_size = 0;
  uint64_t size = 0;  ///< uncompressed size
  uint64_t local_header_offset = 0;
};

/// A member name fit for a one-line error message (control bytes replaced, length capped).
std::string printable_name(const std::string& name);

/// Lists the members of a zip archive held in memory from its central directory (ZIP64 end
/// records understood). `archive` names the archive in error messages. Never reads past `size`.
std::vector<ZipMember> list_members(const uint8_t* data, size_t size, const std::string& archive);

/// The uncompressed bytes of a member: a view into the archive for stored members, or the
/// inflated bytes held in `storage` (`data` points into it; moving keeps it valid).
struct MemberBytes {
  MemberBytes() = default;
  MemberBytes(MemberBytes&&) = default;
  MemberBytes& operator=(MemberBytes&&) = default;
  MemberBytes(const MemberBytes&) = delete;  // a copy would point into the original's storage
  MemberBytes& operator=(const MemberBytes&) = delete;

  const uint8_t* data = nullptr;
  size_t size = 0;
  std::vector<uint8_t> storage;
};

/// Returns the uncompressed bytes of a member (stored or deflated), CRC-32 verified. Memory
/// grows with the data actually inflated, not with the size the directory claims. The result
/// may point into `data`, which must outlive it.
MemberBytes read_member(const uint8_t* data,
                        size_t size,
                        const ZipMember& member,
                        const std::string& archive);

/// Builds a zip archive in memory. Members carry a fixed 1980-01-01 timestamp, so the output
/// is reproducible. ZIP64 records are written where sizes or offsets need them (always with
/// `force_zip64`, which exists for tests).
class ZipWriter {
 public:
  explicit ZipWriter(bool compress, bool force_zip64 = false)
      : compress_(compress), force_zip64_(force_zip64) {}

  /// Appends a member. With `alignment` > 1 a stored (not compressed) member's data starts at
  /// an offset that is a multiple of `alignment`, padded through a local extra field as
  /// torch.save does (64), so readers can map the data in place.
  void add(const std::string& name, const uint8_t* data, size_t size, size_t alignment = 1);
  /// Writes the central directory and returns the whole archive; the writer is left empty.
  std::vector<uint8_t> finish();

 private:
  bool compress_;
  bool force_zip64_;
  /// Grows `out_` so that `extra` more bytes and the final directory fit without another copy.
  void reserve_for(size_t extra, const std::string& name);
  /// Appends the central directory entry of `m`.
  void write_central_entry(const ZipMember& m);
  /// Appends the (ZIP64) end of central directory records for a directory at `cd_offset`.
  void write_end_records(uint64_t cd_offset);

  std::vector<uint8_t> out_;
  std::vector<ZipMember> members_;
  size_t directory_bytes_ = 0;  ///< upper bound of the central directory and end records
};

}  // namespace zip
}  // namespace pm
