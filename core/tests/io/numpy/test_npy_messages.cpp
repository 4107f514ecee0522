// SPDX-License-Identifier: MIT
// Untrusted text in error messages (issue 17, item 5): a .npy header is echoed escaped and
// truncated, so no escape sequence reaches the terminal and a 20 MB header gives a short line.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/printable.h"
#include "pseudomask/core/io/numpy/npy.h"

namespace pm {
namespace {

// A version-2 .npy with `dict` as its header text (not padded) and no data.
std::vector<uint8_t> npy_with_header(const std::string& dict) {
  std::vector<uint8_t> out = {0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0};
  const uint32_t len = static_cast<uint32_t>(dict.size());
  for (int i = 0; i < 4; ++i)
    out.push_back(static_cast<uint8_t>(len >> (8 * i)));
  out.insert(out.end(), dict.begin(), dict.end());
  return out;
}

std::string decode_error(const std::string& dict) {
  const std::vector<uint8_t> bytes = npy_with_header(dict);
  try {
    decode_npy(bytes.data(), bytes.size(), "evil.npy");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// One line, no control bytes, at most `max_size` bytes, naming the file.
void expect_safe_line(const std::string& msg, size_t max_size) {
  SCOPED_TRACE(msg.substr(0, 300));
  ASSERT_FALSE(msg.empty()) << "no error";
  EXPECT_EQ(msg.rfind("evil.npy: ", 0), 0u);
  EXPECT_LE(msg.size(), max_size);
  for (char c : msg) {
    const auto u = static_cast<unsigned char>(c);
    ASSERT_TRUE(u >= 0x20 && u < 0x7f) << "byte 0x" << std::hex << static_cast<int>(u);
  }
}

const std::string kClearScreen = "\x1b[2J\x1b[H";
const std::string kWindowTitle = "\x1b]0;pwned\x07";

TEST(Printable, KeepsPrintableAsciiAndEscapesEverythingElse) {
  EXPECT_EQ(printable("abc XYZ 09 '{}'"), "abc XYZ 09 '{}'");
  EXPECT_EQ(printable("a\x1b[2Jb\\c\n\x7f\xc3\xa9"), "a\\x1b[2Jb\\x5cc\\x0a\\x7f\\xc3\\xa9");
  EXPECT_EQ(printable(std::string("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(printable(""), "");
}

TEST(Printable, CutsLongTextAndSaysHowLongItWas) {
  EXPECT_EQ(printable(std::string(10, 'x'), 10), std::string(10, 'x'));
  EXPECT_EQ(printable(std::string(11, 'x'), 10), std::string(10, 'x') + "... (11 bytes)");
  EXPECT_EQ(printable(std::string(20'000'000, 'y')).size(), 80u + 20u);
  EXPECT_EQ(printable(std::string(100, '\x1b'), 8), "\\x1b\\x1b... (100 bytes)");
}

TEST(NpyMessages, EscapeSequencesInTheHeaderAreEscaped) {
  // The four messages that echo header text: malformed, lacks a key, unexpected key, dtype.
  const std::vector<std::string> headers = {
      "{'descr' " + kClearScreen + kWindowTitle + "}",
      "{'descr': '<f4', 'fortran_order': False} " + kWindowTitle,
      "{'" + kClearScreen + "': 1}",
      "{'descr': '" + kWindowTitle + "', 'fortran_order': False, 'shape': (1,)}",
      "{'descr': '<f4', 'fortran_order': True" + kClearScreen + ", 'shape': (1,)}",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (1" + kClearScreen + ",)}",
  };
  for (const std::string& h : headers) {
    const std::string msg = decode_error(h);
    expect_safe_line(msg, 300);
    EXPECT_NE(msg.find("\\x1b"), std::string::npos) << msg;
  }
}

TEST(NpyMessages, AHugeHeaderGivesAShortLine) {
  const std::string junk(20'000'000, 'A');
  for (const std::string& h :
       {"{'descr': '<f4', " + junk + "}",
        "{'descr': '<f4', 'fortran_order': False} " + junk,
        "{'" + junk + "': 1}",
        "{'descr': '" + junk + "', 'fortran_order': False, 'shape': (1,)}",
        "{'descr': '<f4', 'fortran_order': " + junk + ", 'shape': ()}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (" + junk + ",)}"}) {
    const std::string msg = decode_error(h);
    expect_safe_line(msg, 300);
    EXPECT_NE(msg.find("bytes)"), std::string::npos) << msg;
  }
}

}  // namespace
}  // namespace pm
