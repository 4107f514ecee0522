// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace pm {

/// Untrusted text (a header, a key, a member name) made fit for a one-line message: printable
/// ASCII is kept, every other byte and the backslash become "\xNN" (so no escape sequence
/// reaches a terminal), and text longer than `max_chars` is cut, ending in "... (N bytes)".
std::string printable(std::string_view text, size_t max_chars = 80);

}  // namespace pm
