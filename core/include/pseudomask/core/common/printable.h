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

/// A whole error message made safe for a terminal, whatever file names or values it quotes:
/// control bytes (below 0x20, and 0x7f) become "\xNN", everything else is kept (text already
/// escaped by printable() stays as it is), and a message longer than `max_chars` is cut, ending
/// in "... (N bytes)".
std::string terminal_safe(std::string_view message, size_t max_chars = 4096);

}  // namespace pm
