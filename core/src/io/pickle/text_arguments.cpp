// SPDX-License-Identifier: MIT
// The arguments of the text opcodes of protocols 0 and 1 (INT, LONG, FLOAT, STRING, UNICODE,
// PUT/GET indices) and of LONG1/LONG4, and the latin-1 conversions Python 2 strings need.
#include <charconv>

#include "machine.h"

namespace pm {
namespace pickle_detail {
namespace {

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

}  // namespace

std::string latin1_to_utf8(const uint8_t* data, size_t size) {
  std::string out;
  out.reserve(size);
  for (size_t i = 0; i < size; ++i)
    append_utf8(out, data[i]);
  return out;
}

bool utf8_to_latin1(const std::string& text, std::string& out) {
  out.clear();
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
    } else if ((c & 0xE0) == 0xC0 && i + 1 < text.size() &&
               (static_cast<unsigned char>(text[i + 1]) & 0xC0) == 0x80) {
      const uint32_t cp = ((c & 0x1Fu) << 6) | (static_cast<unsigned char>(text[i + 1]) & 0x3Fu);
      if (cp >= 256)
        return false;
      out += static_cast<char>(cp);
      i += 2;
    } else {
      return false;
    }
  }
  return true;
}

bool parse_int64(const std::string& text, int64_t& value) {
  const char* begin = text.data();
  const char* end = begin + text.size();
  if (begin != end && *begin == '+')
    ++begin;
  const auto res = std::from_chars(begin, end, value);
  return res.ec == std::errc() && res.ptr == end && begin != end;
}

uint64_t Unpickler::parse_memo_index(const std::string& line) {
  int64_t v = 0;
  if (!parse_int64(line, v) || v < 0)
    malformed("bad memo index '" + printable(line) + "'");
  return static_cast<uint64_t>(v);
}

PickleValue Unpickler::text_int(const std::string& line) {
  if (line == "00")
    return PickleValue::make_bool(false);
  if (line == "01")
    return PickleValue::make_bool(true);
  int64_t v = 0;
  if (!parse_int64(line, v)) {
    malformed("bad or too large integer '" + printable(line) + "' (only 64-bit integers)");
  }
  return PickleValue::make_int(v);
}

PickleValue Unpickler::text_long(std::string line) {
  if (!line.empty() && line.back() == 'L')
    line.pop_back();
  int64_t v = 0;
  if (parse_int64(line, v))
    return PickleValue::make_int(v);
  const bool negative = !line.empty() && line[0] == '-';
  const std::string digits = line.substr(negative || (!line.empty() && line[0] == '+') ? 1 : 0);
  if (digits.empty() || digits.size() > 150 ||
      digits.find_first_not_of("0123456789") != std::string::npos) {
    malformed("bad integer '" + printable(line) + "'");
  }
  // Magnitude as little-endian bytes (schoolbook base conversion), one spare byte for the sign.
  std::vector<uint8_t> bytes(1, 0);
  for (char c : digits) {
    unsigned carry = static_cast<unsigned>(c - '0');
    for (auto& b : bytes) {
      const unsigned x = b * 10u + carry;
      b = static_cast<uint8_t>(x & 0xFF);
      carry = x >> 8;
    }
    if (carry != 0)
      bytes.push_back(static_cast<uint8_t>(carry));
  }
  bytes.push_back(0);
  if (negative) {  // two's complement
    unsigned carry = 1;
    for (auto& b : bytes) {
      const unsigned x = static_cast<uint8_t>(~b) + carry;
      b = static_cast<uint8_t>(x & 0xFF);
      carry = x >> 8;
    }
  }
  return long_from_bytes(bytes.data(), bytes.size());
}

PickleValue Unpickler::text_float(const std::string& line) {
  double d = 0;
  const char* begin = line.data();
  const char* end = begin + line.size();
  if (begin != end && *begin == '+')
    ++begin;
  const auto res = std::from_chars(begin, end, d);
  if (res.ec != std::errc() || res.ptr != end) {
    malformed("bad float '" + printable(line) + "'");
  }
  return PickleValue::make_float(d);
}

PickleValue Unpickler::long_from_bytes(const uint8_t* p, size_t n) {
  if (n == 0)
    return PickleValue::make_int(0);
  // Strip redundant sign-extension bytes, then see whether it fits in 64 bits.
  size_t len = n;
  const bool negative = (p[n - 1] & 0x80) != 0;
  while (len > 1 && p[len - 1] == (negative ? 0xFF : 0x00) &&
         ((p[len - 2] & 0x80) != 0) == negative) {
    --len;
  }
  if (len <= 8) {
    uint64_t v = negative ? ~uint64_t{0} : 0;
    for (size_t i = len; i-- > 0;)
      v = (v << 8) | p[i];
    return PickleValue::make_int(static_cast<int64_t>(v));
  }
  if (len > 64)
    invalid(fmt::format("integer of {} bytes is too large", len));
  return make_text(Kind::kBigInt, std::string(reinterpret_cast<const char*>(p), len));
}

std::string Unpickler::text_string(const std::string& line) {
  if (line.size() < 2 || (line[0] != '\'' && line[0] != '"') || line.back() != line[0]) {
    malformed("STRING argument is not quoted");
  }
  const std::string body = line.substr(1, line.size() - 2);
  std::string raw;
  for (size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (c != '\\') {
      raw += c;
      continue;
    }
    if (++i >= body.size())
      malformed("bad escape in STRING");
    raw += unescape(body, i);
  }
  return latin1_to_utf8(reinterpret_cast<const uint8_t*>(raw.data()), raw.size());
}

char Unpickler::unescape(const std::string& body, size_t& i) {
  const char c = body[i];
  switch (c) {
    case 'n':
      return '\n';
    case 'r':
      return '\r';
    case 't':
      return '\t';
    case 'a':
      return '\a';
    case 'b':
      return '\b';
    case 'f':
      return '\f';
    case 'v':
      return '\v';
    case 'x': {
      unsigned v = 0;
      if (i + 2 >= body.size())
        malformed("bad \\x escape in STRING");
      const auto res = std::from_chars(body.data() + i + 1, body.data() + i + 3, v, 16);
      if (res.ec != std::errc() || res.ptr != body.data() + i + 3) {
        malformed("bad \\x escape in STRING");
      }
      i += 2;
      return static_cast<char>(v);
    }
    default:
      break;
  }
  if (c < '0' || c > '7')
    return c;  // backslash, quotes (and unknown escapes)
  unsigned v = 0;
  size_t k = 0;
  while (k < 3 && i + k < body.size() && body[i + k] >= '0' && body[i + k] <= '7') {
    v = v * 8 + static_cast<unsigned>(body[i + k] - '0');
    ++k;
  }
  i += k - 1;
  return static_cast<char>(v & 0xFF);
}

std::string Unpickler::raw_unicode_escape(const std::string& line) {
  std::string out;
  for (size_t i = 0; i < line.size(); ++i) {
    const auto c = static_cast<unsigned char>(line[i]);
    if (c == '\\' && i + 1 < line.size() && (line[i + 1] == 'u' || line[i + 1] == 'U')) {
      const size_t digits = line[i + 1] == 'u' ? 4 : 8;
      if (i + 2 + digits > line.size())
        malformed("bad \\u escape in UNICODE");
      uint32_t cp = 0;
      const char* b = line.data() + i + 2;
      const auto res = std::from_chars(b, b + digits, cp, 16);
      if (res.ec != std::errc() || res.ptr != b + digits || cp > 0x10FFFF) {
        malformed("bad \\u escape in UNICODE");
      }
      append_utf8(out, cp);
      i += 1 + digits;
    } else {
      append_utf8(out, c);
    }
  }
  return out;
}

}  // namespace pickle_detail
}  // namespace pm
