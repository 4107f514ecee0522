// SPDX-License-Identifier: MIT
// A small zip reader and writer, shared by .npz archives and torch.save checkpoints.
//
// The reader trusts only the central directory (so members with data descriptors need no
// special handling), bounds-checks every field against the bytes present, understands the
// ZIP64 records and extra fields that numpy's savez writes (it forces ZIP64 on every member),
// inflates with zlib and verifies CRC-32.
#include <zlib.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/printable.h"
#include "pseudomask/core/io/little_endian.h"
#include "pseudomask/core/io/zip/zip.h"

namespace pm {
namespace zip {
namespace {

constexpr uint32_t kLocalSig = 0x04034b50;
constexpr uint32_t kCentralSig = 0x02014b50;
constexpr uint32_t kEndSig = 0x06054b50;
constexpr uint32_t kZip64EndSig = 0x06064b50;
constexpr uint32_t kZip64LocatorSig = 0x07064b50;
constexpr size_t kLocalSize = 30;
constexpr size_t kCentralSize = 46;
constexpr size_t kEndSize = 22;
constexpr size_t kZip64EndSize = 56;
constexpr size_t kZip64LocatorSize = 20;
constexpr uint64_t kMax32 = 0xFFFFFFFFu;
constexpr uint16_t kDosDate1980 = (0 << 9) | (1 << 5) | 1;  // 1980-01-01, as numpy's savez
constexpr uInt kZlibChunk = 1u << 30;  // zlib counts in uInt; feed it at most this much at once
constexpr uint64_t kMaxDeflateRatio = 1032;  // deflate cannot expand one byte to more than this

uint16_t rd16(const uint8_t* p) {
  return static_cast<uint16_t>(load_le(p, 2));
}
uint32_t rd32(const uint8_t* p) {
  return static_cast<uint32_t>(load_le(p, 4));
}
uint64_t rd64(const uint8_t* p) {
  return load_le(p, 8);
}

void put16(std::vector<uint8_t>& out, uint64_t v) {
  append_le(out, v, 2);
}
void put32(std::vector<uint8_t>& out, uint64_t v) {
  append_le(out, v, 4);
}
void put64(std::vector<uint8_t>& out, uint64_t v) {
  append_le(out, v, 8);
}

}  // namespace

namespace {

/// "<archive> (<member>)": the context of member errors.
std::string member_context(const std::string& archive, const std::string& member) {
  return archive + " (" + printable(member) + ")";
}

uint32_t crc32_of(const uint8_t* data, size_t size) {
  uLong crc = crc32(0L, Z_NULL, 0);
  while (size > 0) {
    const uInt n = static_cast<uInt>(std::min<size_t>(size, kZlibChunk));
    crc = crc32(crc, data, n);
    data += n;
    size -= n;
  }
  return static_cast<uint32_t>(crc);
}

// ---- reading ----

/// Where the central directory is, from the end record (or its ZIP64 version).
struct EndRecord {
  uint64_t entries = 0;
  uint64_t cd_size = 0;
  uint64_t cd_offset = 0;
  uint64_t cd_limit = 0;  ///< the central directory must end at or before this offset
};

/// Offset of the end-of-central-directory record: the last signature whose comment fits.
size_t find_end_record(const uint8_t* data, size_t size, const std::string& archive) {
  PM_CHECK(size >= kEndSize, "{}: not a zip archive (only {} bytes)", archive, size);
  const size_t last = size - kEndSize;
  const size_t lowest = last > 0xFFFF ? last - 0xFFFF : 0;  // the comment is at most 64 KiB
  for (size_t pos = last + 1; pos-- > lowest;) {
    if (rd32(data + pos) == kEndSig && rd16(data + pos + 20) <= size - pos - kEndSize)
      return pos;
  }
  PM_FAIL("{}: not a zip archive (no end of central directory record)", archive);
}

EndRecord read_end_record(const uint8_t* data, size_t size, const std::string& archive) {
  const size_t pos = find_end_record(data, size, archive);
  const uint8_t* e = data + pos;
  EndRecord r;
  uint32_t disk = rd16(e + 4), cd_disk = rd16(e + 6);
  r.entries = rd16(e + 10);
  r.cd_size = rd32(e + 12);
  r.cd_offset = rd32(e + 16);
  r.cd_limit = pos;
  if (pos >= kZip64LocatorSize && rd32(e - kZip64LocatorSize) == kZip64LocatorSig) {
    const size_t locator = pos - kZip64LocatorSize;
    const uint64_t off = rd64(data + locator + 8);
    PM_CHECK(off <= locator && locator - off >= kZip64EndSize && rd32(data + off) == kZip64EndSig,
             "{}: corrupt zip archive (bad ZIP64 end of central directory)",
             archive);
    const uint8_t* z = data + off;
    disk = rd32(z + 16);
    cd_disk = rd32(z + 20);
    r.entries = rd64(z + 32);
    r.cd_size = rd64(z + 40);
    r.cd_offset = rd64(z + 48);
    r.cd_limit = off;
  }
  PM_CHECK(disk == 0 && cd_disk == 0, "{}: multi-volume zip archives are not supported", archive);
  PM_CHECK(r.cd_offset <= r.cd_limit && r.cd_size <= r.cd_limit - r.cd_offset,
           "{}: corrupt zip archive (central directory at {} + {} bytes lies outside the file)",
           archive,
           r.cd_offset,
           r.cd_size);
  return r;
}

/// Replaces the 0xFFFFFFFF placeholders of a central directory entry by the values of its
/// ZIP64 extra field (id 1), which holds only the fields that overflowed, in this order.
void apply_zip64_extra(const uint8_t* p, size_t n, ZipMember* m, const std::string& what) {
  size_t pos = 0;
  while (n - pos >= 4) {
    const uint16_t id = rd16(p + pos);
    const size_t len = rd16(p + pos + 2);
    pos += 4;
    PM_CHECK(len <= n - pos, "{}: corrupt zip extra field", what);
    const uint8_t* f = p + pos;
    size_t left = len;
    auto take = [&](uint64_t* v) {
      PM_CHECK(left >= 8, "{}: truncated ZIP64 extra field", what);
      *v = rd64(f);
      f += 8;
      left -= 8;
    };
    if (id == 0x0001) {
      if (m->size == kMax32)
        take(&m->size);
      if (m->compressed_size == kMax32)
        take(&m->compressed_size);
      if (m->local_header_offset == kMax32)
        take(&m->local_header_offset);
    }
    pos += len;
  }
}

// ---- writing ----

std::vector<uint8_t> deflate_raw(const uint8_t* data, size_t size) {
  z_stream zs{};
  PM_CHECK(deflateInit2(
               &zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK,
           "write_npz: cannot initialise zlib");
  struct Guard {
    z_stream* zs;
    ~Guard() { deflateEnd(zs); }
  } guard{&zs};
  std::vector<uint8_t> out(deflateBound(&zs, static_cast<uLong>(size)) + 64);
  size_t in_pos = 0, out_pos = 0;
  int ret = Z_OK;
  while (ret != Z_STREAM_END) {
    if (zs.avail_in == 0 && in_pos < size) {
      zs.next_in = const_cast<Bytef*>(data + in_pos);
      zs.avail_in = static_cast<uInt>(std::min<size_t>(size - in_pos, kZlibChunk));
      in_pos += zs.avail_in;
    }
    if (out_pos == out.size())
      out.resize(out.size() * 2);
    zs.next_out = out.data() + out_pos;
    zs.avail_out = static_cast<uInt>(std::min<size_t>(out.size() - out_pos, kZlibChunk));
    const uInt before = zs.avail_out;
    ret = deflate(&zs, in_pos == size ? Z_FINISH : Z_NO_FLUSH);
    PM_CHECK(ret == Z_OK || ret == Z_STREAM_END || ret == Z_BUF_ERROR, "write_npz: deflate failed");
    out_pos += before - zs.avail_out;
  }
  out.resize(out_pos);
  return out;
}

uint16_t version_needed(bool zip64) {
  return zip64 ? 45 : 20;
}

}  // namespace

std::vector<ZipMember> list_members(const uint8_t* data, size_t size, const std::string& archive) {
  const EndRecord r = read_end_record(data, size, archive);
  std::vector<ZipMember> members;
  size_t pos = static_cast<size_t>(r.cd_offset);
  const size_t end = static_cast<size_t>(r.cd_offset + r.cd_size);
  for (uint64_t i = 0; i < r.entries; ++i) {
    PM_CHECK(end - pos >= kCentralSize && rd32(data + pos) == kCentralSig,
             "{}: corrupt zip central directory (entry {} of {})",
             archive,
             i + 1,
             r.entries);
    const uint8_t* c = data + pos;
    ZipMember m;
    m.flags = rd16(c + 8);
    m.method = rd16(c + 10);
    m.crc32 = rd32(c + 16);
    m.compressed_size = rd32(c + 20);
    m.size = rd32(c + 24);
    const size_t name_len = rd16(c + 28), extra_len = rd16(c + 30), comment_len = rd16(c + 32);
    m.local_header_offset = rd32(c + 42);
    PM_CHECK(end - pos - kCentralSize >= name_len + extra_len + comment_len,
             "{}: corrupt zip central directory (entry {} overruns it)",
             archive,
             i + 1);
    m.name.assign(reinterpret_cast<const char*>(c + kCentralSize), name_len);
    apply_zip64_extra(c + kCentralSize + name_len, extra_len, &m, member_context(archive, m.name));
    members.push_back(std::move(m));
    pos += kCentralSize + name_len + extra_len + comment_len;
  }
  return members;
}

uint64_t max_member_bytes() {
  const char* env = std::getenv(kMaxMemberBytesVariable);
  if (env == nullptr || *env == '\0')
    return kDefaultMaxMemberBytes;
  const std::string text(env);
  PM_CHECK(text.size() <= 19 && text.find_first_not_of("0123456789") == std::string::npos &&
               std::stoull(text) > 0,
           "{}={}: expected a number of bytes > 0",
           kMaxMemberBytesVariable,
           printable(text));
  return std::stoull(text);
}

/// zlib's state for a deflated member.
struct MemberReader::Inflater {
  z_stream zs{};
  bool ended = false;  ///< Z_STREAM_END seen
  Inflater() = default;
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;
  ~Inflater() { inflateEnd(&zs); }
};

MemberReader::MemberReader(const uint8_t* data,
                           size_t size,
                           const ZipMember& member,
                           const std::string& archive)
    : what_(member_context(archive, member.name)),
      compressed_(member.compressed_size),
      declared_(member.size),
      expected_crc_(member.crc32) {
  PM_CHECK((member.flags & 1) == 0, "{}: encrypted zip members are not supported", what_);
  PM_CHECK(member.method == 0 || member.method == 8,
           "{}: unsupported zip compression method {} (only stored and deflated)",
           what_,
           member.method);
  const uint64_t off = member.local_header_offset;
  PM_CHECK(off <= size && size - off >= kLocalSize && rd32(data + off) == kLocalSig,
           "{}: corrupt zip archive (no local header at offset {})",
           what_,
           off);
  const uint8_t* local = data + off;
  const size_t name_len = rd16(local + 26), extra_len = rd16(local + 28);
  const uint64_t start = off + kLocalSize + name_len + extra_len;
  PM_CHECK(start <= size && compressed_ <= size - start,
           "{}: truncated zip member: expected {} bytes at offset {}, the archive has {}",
           what_,
           compressed_,
           start,
           size);
  PM_CHECK(name_len == member.name.size() &&
               std::memcmp(local + kLocalSize, member.name.data(), name_len) == 0,
           "{}: corrupt zip archive (local header names another member)",
           what_);
  src_ = data + start;
  if (member.method == 0) {
    PM_CHECK(compressed_ == declared_,
             "{}: corrupt zip archive (stored member of {} bytes claims {} uncompressed)",
             what_,
             compressed_,
             declared_);
    return;
  }
  check_declared_size();
  inflater_ = std::make_unique<Inflater>();
  PM_CHECK(inflateInit2(&inflater_->zs, -MAX_WBITS) == Z_OK, "{}: cannot initialise zlib", what_);
}

MemberReader::~MemberReader() = default;

void MemberReader::check_declared_size() const {
  PM_CHECK(declared_ / kMaxDeflateRatio <= compressed_ + 1,
           "{}: corrupt zip member ({} compressed bytes cannot inflate to {})",
           what_,
           compressed_,
           declared_);
  const uint64_t limit = max_member_bytes();
  PM_CHECK(declared_ <= limit,
           "{}: declares {} bytes uncompressed, more than the {} allowed per member (set {} to "
           "allow more)",
           what_,
           declared_,
           limit,
           kMaxMemberBytesVariable);
}

void MemberReader::read(uint8_t* out, size_t n) {
  if (n == 0)
    return;  // (out may be null)
  PM_CHECK(
      n <= remaining(), "{}: {} more bytes asked of a member with {} left", what_, n, remaining());
  if (inflater_ == nullptr)
    std::memcpy(out, src_ + produced_, n);
  else
    inflate_into(out, n);
  for (size_t done = 0; done < n;) {
    const uInt chunk = static_cast<uInt>(std::min<size_t>(n - done, kZlibChunk));
    crc_ = static_cast<uint32_t>(crc32(crc_, out + done, chunk));
    done += chunk;
  }
  produced_ += n;
}

void MemberReader::inflate_into(uint8_t* out, size_t n) {
  z_stream& zs = inflater_->zs;
  size_t done = 0;
  while (done < n) {
    PM_CHECK(!inflater_->ended,
             "{}: inflates to {} bytes, the directory says {}",
             what_,
             produced_ + done,
             declared_);
    if (zs.avail_in == 0 && consumed_ < compressed_) {
      zs.next_in = const_cast<Bytef*>(src_ + consumed_);
      zs.avail_in = static_cast<uInt>(std::min<uint64_t>(compressed_ - consumed_, kZlibChunk));
      consumed_ += zs.avail_in;
    }
    zs.next_out = out + done;
    zs.avail_out = static_cast<uInt>(std::min<size_t>(n - done, kZlibChunk));
    const uInt out_before = zs.avail_out, in_before = zs.avail_in;
    const int ret = inflate(&zs, Z_NO_FLUSH);
    const uInt produced = out_before - zs.avail_out;
    done += produced;
    check_inflate_step(ret, produced, in_before);
  }
}

void MemberReader::check_inflate_step(int ret, unsigned produced, unsigned in_before) {
  const z_stream& zs = inflater_->zs;
  PM_CHECK(ret == Z_OK || ret == Z_STREAM_END || ret == Z_BUF_ERROR,
           "{}: corrupt deflate data ({})",
           what_,
           zs.msg != nullptr ? zs.msg : "zlib error");
  inflater_->ended = ret == Z_STREAM_END;
  // Every call has output space and, while any is left, input: no progress means the stream
  // ended early.
  PM_CHECK(ret == Z_STREAM_END || produced > 0 || zs.avail_in != in_before,
           "{}: truncated deflate data",
           what_);
}

void MemberReader::finish() {
  uint8_t scratch[1 << 14];
  while (remaining() > 0)
    read(scratch, static_cast<size_t>(std::min<uint64_t>(remaining(), sizeof(scratch))));
  if (inflater_ != nullptr) {
    // Give zlib one spare byte until the stream ends, to detect output beyond the declared size.
    z_stream& zs = inflater_->zs;
    uint8_t probe = 0;
    while (!inflater_->ended) {
      if (zs.avail_in == 0 && consumed_ < compressed_) {
        zs.next_in = const_cast<Bytef*>(src_ + consumed_);
        zs.avail_in = static_cast<uInt>(std::min<uint64_t>(compressed_ - consumed_, kZlibChunk));
        consumed_ += zs.avail_in;
      }
      zs.next_out = &probe;
      zs.avail_out = 1;
      const uInt in_before = zs.avail_in;
      const int ret = inflate(&zs, Z_NO_FLUSH);
      PM_CHECK(
          zs.avail_out == 1, "{}: inflates to more than the declared {} bytes", what_, declared_);
      check_inflate_step(ret, 0, in_before);
    }
  }
  PM_CHECK(crc_ == expected_crc_, "{}: CRC-32 mismatch (corrupt archive)", what_);
}

MemberBytes read_member(const uint8_t* data,
                        size_t size,
                        const ZipMember& member,
                        const std::string& archive) {
  MemberReader reader(data, size, member, archive);
  MemberBytes bytes;
  if (member.method == 0) {
    bytes.data = reader.stored_data();
    bytes.size = static_cast<size_t>(member.size);
    PM_CHECK(crc32_of(bytes.data, bytes.size) == member.crc32,
             "{}: CRC-32 mismatch (corrupt archive)",
             reader.what());
    return bytes;
  }
  // The buffer grows with the data actually inflated, not with the size the directory claims.
  while (reader.remaining() > 0) {
    const size_t have = bytes.storage.size();
    const size_t more = static_cast<size_t>(
        std::min<uint64_t>(reader.remaining(), std::max<size_t>(have, size_t{1} << 16)));
    bytes.storage.resize(have + more);
    reader.read(bytes.storage.data() + have, more);
  }
  reader.finish();
  bytes.data = bytes.storage.data();
  bytes.size = bytes.storage.size();
  return bytes;
}

void ZipWriter::add(const std::string& name, const uint8_t* data, size_t size, size_t alignment) {
  PM_CHECK(!name.empty() && name.size() <= 0xFFFF, "zip: bad member name '{}'", printable(name));
  ZipMember m;
  m.name = name;
  m.method = compress_ ? 8 : 0;
  const bool ascii = std::all_of(name.begin(), name.end(), [](char c) { return (c & 0x80) == 0; });
  m.flags = ascii ? 0 : 0x800;  // bit 11: the name is UTF-8 (as Python's zipfile sets it)
  m.crc32 = crc32_of(data, size);
  m.size = size;
  m.local_header_offset = out_.size();
  std::vector<uint8_t> deflated;
  if (compress_)
    deflated = deflate_raw(data, size);
  m.compressed_size = compress_ ? deflated.size() : size;
  const bool zip64 = force_zip64_ || m.size >= kMax32 || m.compressed_size >= kMax32;
  // Padding extra field (id "FB", as torch's writer) so that the data starts aligned.
  size_t padding = 0;
  const bool pad = !compress_ && alignment > 1;
  if (pad) {
    const size_t unpadded = out_.size() + kLocalSize + name.size() + (zip64 ? 20 : 0) + 4;
    padding = (alignment - unpadded % alignment) % alignment;
  }
  const size_t extra_len = (zip64 ? 20 : 0) + (pad ? 4 + padding : 0);
  PM_CHECK(extra_len <= 0xFFFF, "zip: alignment {} is too large", alignment);
  reserve_for(kLocalSize + name.size() + extra_len + m.compressed_size, name);
  put32(out_, kLocalSig);
  put16(out_, version_needed(zip64));
  put16(out_, m.flags);
  put16(out_, m.method);
  put16(out_, 0);  // time 00:00:00
  put16(out_, kDosDate1980);
  put32(out_, m.crc32);
  put32(out_, zip64 ? kMax32 : m.compressed_size);
  put32(out_, zip64 ? kMax32 : m.size);
  put16(out_, name.size());
  put16(out_, extra_len);
  out_.insert(out_.end(), name.begin(), name.end());
  if (zip64) {
    put16(out_, 0x0001);
    put16(out_, 16);
    put64(out_, m.size);
    put64(out_, m.compressed_size);
  }
  if (pad) {
    put16(out_, 0x4246);
    put16(out_, padding);
    out_.insert(out_.end(), padding, uint8_t{'Z'});
  }
  if (compress_) {
    out_.insert(out_.end(), deflated.begin(), deflated.end());
  } else if (size > 0) {
    out_.insert(out_.end(), data, data + size);
  }
  members_.push_back(std::move(m));
}

void ZipWriter::reserve_for(size_t extra, const std::string& name) {
  if (directory_bytes_ == 0)
    directory_bytes_ = kZip64EndSize + kZip64LocatorSize + kEndSize;
  directory_bytes_ += kCentralSize + name.size() + 28;  // the entry with its largest ZIP64 extra
  const size_t needed = out_.size() + extra + directory_bytes_;
  if (needed > out_.capacity())
    out_.reserve(std::max(needed, out_.capacity() + out_.capacity() / 2));
}

void ZipWriter::write_central_entry(const ZipMember& m) {
  const bool big_sizes = force_zip64_ || m.size >= kMax32 || m.compressed_size >= kMax32;
  const bool big_offset = force_zip64_ || m.local_header_offset >= kMax32;
  std::vector<uint8_t> extra;
  if (big_sizes || big_offset) {
    put16(extra, 0x0001);
    put16(extra, (big_sizes ? 16 : 0) + (big_offset ? 8 : 0));
    if (big_sizes) {
      put64(extra, m.size);
      put64(extra, m.compressed_size);
    }
    if (big_offset)
      put64(extra, m.local_header_offset);
  }
  const bool zip64 = !extra.empty();
  put32(out_, kCentralSig);
  put16(out_, (3 << 8) | version_needed(zip64));  // made by: Unix
  put16(out_, version_needed(zip64));
  put16(out_, m.flags);
  put16(out_, m.method);
  put16(out_, 0);
  put16(out_, kDosDate1980);
  put32(out_, m.crc32);
  put32(out_, big_sizes ? kMax32 : m.compressed_size);
  put32(out_, big_sizes ? kMax32 : m.size);
  put16(out_, m.name.size());
  put16(out_, extra.size());
  put16(out_, 0);               // comment
  put16(out_, 0);               // disk
  put16(out_, 0);               // internal attributes
  put32(out_, 0100644u << 16);  // external attributes: regular file, rw-r--r--
  put32(out_, big_offset ? kMax32 : m.local_header_offset);
  out_.insert(out_.end(), m.name.begin(), m.name.end());
  out_.insert(out_.end(), extra.begin(), extra.end());
}

void ZipWriter::write_end_records(uint64_t cd_offset) {
  const uint64_t cd_size = out_.size() - cd_offset;
  const uint64_t n = members_.size();
  if (force_zip64_ || n >= 0xFFFF || cd_size >= kMax32 || cd_offset >= kMax32) {
    const uint64_t end64 = out_.size();
    put32(out_, kZip64EndSig);
    put64(out_, kZip64EndSize - 12);  // size of the rest of the record
    put16(out_, (3 << 8) | 45);
    put16(out_, 45);
    put32(out_, 0);
    put32(out_, 0);
    put64(out_, n);
    put64(out_, n);
    put64(out_, cd_size);
    put64(out_, cd_offset);
    put32(out_, kZip64LocatorSig);
    put32(out_, 0);
    put64(out_, end64);
    put32(out_, 1);  // number of disks
  }
  put32(out_, kEndSig);
  put16(out_, 0);
  put16(out_, 0);
  put16(out_, std::min<uint64_t>(n, 0xFFFF));
  put16(out_, std::min<uint64_t>(n, 0xFFFF));
  put32(out_, std::min(cd_size, kMax32));
  put32(out_, std::min(cd_offset, kMax32));
  put16(out_, 0);  // comment
}

std::vector<uint8_t> ZipWriter::finish() {
  const uint64_t cd_offset = out_.size();
  for (const ZipMember& m : members_)
    write_central_entry(m);
  write_end_records(cd_offset);
  std::vector<uint8_t> result = std::move(out_);
  out_.clear();
  members_.clear();
  directory_bytes_ = 0;
  return result;
}

}  // namespace zip
}  // namespace pm
