// SPDX-License-Identifier: MIT
// A minimal zip reader and writer, shared by .npz archives (io/numpy) and torch.save
// checkpoints (io/torch).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
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

/// The environment variable that overrides the uncompressed size limit of deflated members.
constexpr const char* kMaxMemberBytesVariable = "PSEUDOMASK_MAX_MEMBER_BYTES";
/// The default limit: 2^28 float32 values (the image-size limit's worth, 1 GiB).
constexpr uint64_t kDefaultMaxMemberBytes = uint64_t{1} << 30;
/// The largest uncompressed size a deflated member may declare: $PSEUDOMASK_MAX_MEMBER_BYTES
/// (a number of bytes) if set, else kDefaultMaxMemberBytes. Stored members need no limit: their
/// bytes are in the file. Throws naming the variable when its value is not a number > 0.
uint64_t max_member_bytes();

/// Streams the uncompressed bytes of one member in order, so that readers can inflate straight
/// into an array's storage instead of holding the inflated bytes and a copy. Before anything is
/// inflated, the declared size is checked against what the compressed bytes can hold and
/// against max_member_bytes(); a member whose actual size differs from its declared size, or
/// whose CRC-32 does not match, fails in read() or finish(). Errors name "<archive> (<member>)".
class MemberReader {
 public:
  MemberReader(const uint8_t* data,
               size_t size,
               const ZipMember& member,
               const std::string& archive);
  ~MemberReader();
  MemberReader(const MemberReader&) = delete;
  MemberReader& operator=(const MemberReader&) = delete;

  /// "<archive> (<member>)", for messages.
  const std::string& what() const { return what_; }
  /// The declared uncompressed size and how much of it is still unread.
  uint64_t size() const { return declared_; }
  uint64_t remaining() const { return declared_ - produced_; }
  /// The member's bytes in the archive if it is stored (not compressed), else nullptr.
  const uint8_t* stored_data() const { return inflater_ == nullptr ? src_ : nullptr; }

  /// The next `n` bytes (n <= remaining()) to `out`.
  void read(uint8_t* out, size_t n);
  /// Reads what is left (discarding it), then checks that the member ends exactly at its
  /// declared size and that its CRC-32 matches.
  void finish();

 private:
  struct Inflater;
  void check_declared_size() const;
  void inflate_into(uint8_t* out, size_t n);
  void check_inflate_step(int ret, unsigned produced, unsigned in_before);

  std::string what_;
  const uint8_t* src_ = nullptr;  ///< the member's bytes (compressed or stored) in the archive
  uint64_t compressed_ = 0;
  uint64_t declared_ = 0;
  uint64_t produced_ = 0;  ///< uncompressed bytes delivered
  uint64_t consumed_ = 0;  ///< compressed bytes handed to zlib
  uint32_t expected_crc_ = 0;
  uint32_t crc_ = 0;                    ///< CRC-32 of the bytes delivered
  std::unique_ptr<Inflater> inflater_;  ///< null for stored members
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
