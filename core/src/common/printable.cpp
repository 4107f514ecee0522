// SPDX-License-Identifier: MIT
#include "pseudomask/core/common/printable.h"

#include <fmt/format.h>

#include <algorithm>

namespace pm {

std::string printable(std::string_view text, size_t max_chars) {
  std::string out;
  out.reserve(std::min(text.size(), max_chars) + 24);
  for (size_t i = 0; i < text.size(); ++i) {
    if (out.size() >= max_chars)
      return out + fmt::format("... ({} bytes)", text.size());
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\')
      out += static_cast<char>(c);
    else
      out += fmt::format("\\x{:02x}", c);
  }
  return out;
}

std::string terminal_safe(std::string_view message, size_t max_chars) {
  std::string out;
  out.reserve(std::min(message.size(), max_chars) + 24);
  for (size_t i = 0; i < message.size(); ++i) {
    if (out.size() >= max_chars)
      return out + fmt::format("... ({} bytes)", message.size());
    const auto c = static_cast<unsigned char>(message[i]);
    if (c < 0x20 || c == 0x7f)
      out += fmt::format("\\x{:02x}", c);
    else
      out += static_cast<char>(c);
  }
  return out;
}

}  // namespace pm
