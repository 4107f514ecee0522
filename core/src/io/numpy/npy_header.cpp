// SPDX-License-Identifier: MIT
// The .npy header, parsed and written: magic "\x93NUMPY", version, little-endian header length
// (2 bytes in v1, 4 bytes in v2/v3), then a Python dict literal with the keys 'descr',
// 'fortran_order' and 'shape'. v3 only differs by allowing UTF-8 in the header.
#include <cctype>
#include <cstring>
#include <limits>

#include "pseudomask/core/common/printable.h"
#include "pseudomask/core/io/little_endian.h"
#include "pseudomask/core/io/numpy/npy.h"

namespace pm {
namespace {

constexpr char kNpyMagic[] = "\x93NUMPY";
constexpr size_t kNpyMagicSize = 6;
constexpr size_t kNpyAlign = 64;          // numpy's ARRAY_ALIGN
constexpr size_t kGrowthAxisDigits = 21;  // numpy's GROWTH_AXIS_MAX_DIGITS

// A tiny cursor over the header dict text; every read is bounds-checked.
class HeaderCursor {
 public:
  HeaderCursor(std::string text, std::string name)
      : text_(std::move(text)), name_(std::move(name)) {}

  void skip_space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_])))
      ++pos_;
  }
  bool peek(char c) {
    skip_space();
    return pos_ < text_.size() && text_[pos_] == c;
  }
  void expect(char c) {
    PM_CHECK(peek(c),
             "{}: malformed .npy header (expected '{}' at offset {}): {}",
             name_,
             c,
             pos_,
             printable(text_));
    ++pos_;
  }
  bool accept(char c) {
    if (!peek(c))
      return false;
    ++pos_;
    return true;
  }
  std::string quoted() {
    skip_space();
    PM_CHECK(pos_ < text_.size() && (text_[pos_] == '\'' || text_[pos_] == '"'),
             "{}: malformed .npy header (expected a string at offset {}): {}",
             name_,
             pos_,
             printable(text_));
    const char quote = text_[pos_++];
    const size_t end = text_.find(quote, pos_);
    PM_CHECK(end != std::string::npos, "{}: malformed .npy header (unterminated string)", name_);
    std::string s = text_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return s;
  }
  std::string word() {
    skip_space();
    const size_t start = pos_;
    while (pos_ < text_.size() && std::isalnum(static_cast<unsigned char>(text_[pos_])))
      ++pos_;
    return text_.substr(start, pos_ - start);
  }
  int64_t integer() {
    const std::string w = word();
    PM_CHECK(!w.empty() && w.size() <= 18 && w.find_first_not_of("0123456789") == std::string::npos,
             "{}: malformed .npy header (bad shape entry '{}')",
             name_,
             printable(w));
    accept('L');  // Python 2 longs
    return std::stoll(w);
  }
  const std::string& name() const { return name_; }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  std::string name_;
  size_t pos_ = 0;
};

std::vector<int64_t> parse_shape(HeaderCursor& cur) {
  std::vector<int64_t> shape;
  cur.expect('(');
  while (!cur.accept(')')) {
    shape.push_back(cur.integer());
    PM_CHECK(shape.size() <= 32, "{}: .npy shape has too many dimensions", cur.name());
    if (!cur.accept(',')) {
      cur.expect(')');
      break;
    }
  }
  return shape;
}

bool parse_bool(HeaderCursor& cur) {
  const std::string w = cur.word();
  PM_CHECK(w == "True" || w == "False",
           "{}: malformed .npy header (fortran_order is '{}')",
           cur.name(),
           printable(w));
  return w == "True";
}

/// The header dict exactly as numpy 1.24 writes it, including the spare spaces it leaves so
/// that the first axis can grow in place.
std::string npy_header_dict(const std::string& descr, const std::vector<int64_t>& shape) {
  std::string dict =
      "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape_string(shape) + ", }";
  if (!shape.empty()) {
    const size_t digits = std::to_string(shape[0]).size();
    if (digits < kGrowthAxisDigits)
      dict.append(kGrowthAxisDigits - digits, ' ');
  }
  return dict;
}

}  // namespace

std::vector<uint8_t> encode_npy_header(const std::string& descr,
                                       const std::vector<int64_t>& shape) {
  const std::string dict = npy_header_dict(descr, shape);
  const size_t hlen = dict.size() + 1;  // with the '\n'
  int version = 1;
  int len_bytes = 2;
  size_t padlen = kNpyAlign - (kNpyMagicSize + 2 + len_bytes + hlen) % kNpyAlign;
  if (hlen + padlen > 0xFFFF) {
    version = 2;
    len_bytes = 4;
    padlen = kNpyAlign - (kNpyMagicSize + 2 + len_bytes + hlen) % kNpyAlign;
    PM_CHECK(hlen + padlen <= 0xFFFFFFFFu, "encode_npy: header of {} bytes is too long", hlen);
  }
  std::vector<uint8_t> out(kNpyMagic, kNpyMagic + kNpyMagicSize);
  out.push_back(static_cast<uint8_t>(version));
  out.push_back(0);
  append_le(out, hlen + padlen, len_bytes);
  out.insert(out.end(), dict.begin(), dict.end());
  out.insert(out.end(), padlen, ' ');
  out.push_back('\n');
  return out;
}

NpyHeader parse_npy_header(const uint8_t* data, size_t size, const std::string& name) {
  PM_CHECK(size >= kNpyMagicSize + 2 && std::memcmp(data, kNpyMagic, kNpyMagicSize) == 0,
           "{}: not a .npy file (bad magic)",
           name);
  NpyHeader h;
  h.major_version = data[6];
  PM_CHECK(h.major_version >= 1 && h.major_version <= 3,
           "{}: unsupported .npy format version {}.{}",
           name,
           static_cast<int>(data[6]),
           static_cast<int>(data[7]));
  const size_t len_bytes = h.major_version == 1 ? 2 : 4;
  PM_CHECK(size >= 8 + len_bytes, "{}: truncated .npy header", name);
  const size_t header_len = static_cast<size_t>(load_le(data + 8, static_cast<int>(len_bytes)));
  PM_CHECK(header_len <= size - 8 - len_bytes,
           "{}: truncated .npy header ({} bytes announced)",
           name,
           header_len);
  h.data_offset = 8 + len_bytes + header_len;
  HeaderCursor cur(std::string(reinterpret_cast<const char*>(data) + 8 + len_bytes, header_len),
                   name);

  bool have_descr = false, have_order = false, have_shape = false;
  cur.expect('{');
  while (!cur.accept('}')) {
    const std::string key = cur.quoted();
    cur.expect(':');
    if (key == "descr") {
      PM_CHECK(!cur.peek('['), "{}: structured .npy dtypes are not supported", name);
      h.descr = cur.quoted();
      have_descr = true;
    } else if (key == "fortran_order") {
      h.fortran_order = parse_bool(cur);
      have_order = true;
    } else if (key == "shape") {
      h.shape = parse_shape(cur);
      have_shape = true;
    } else {
      PM_FAIL("{}: unexpected key '{}' in .npy header", name, printable(key));
    }
    if (!cur.accept(',')) {
      cur.expect('}');
      break;
    }
  }
  PM_CHECK(have_descr && have_order && have_shape,
           "{}: .npy header lacks 'descr', 'fortran_order' or 'shape': {}",
           name,
           printable(cur.text()));
  try {
    shape_numel(h.shape);  // rejects overflowing shapes early
  } catch (const Error& e) {
    PM_FAIL("{}: {}", name, e.what());
  }
  return h;
}

}  // namespace pm
