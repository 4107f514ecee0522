// SPDX-License-Identifier: MIT
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace pm {

/// The one error type of the library. Its message is a single line that names the file (or
/// the option) and what is wrong with it; the CLI prints it and exits non-zero.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

/// Prefixes an error message with a context (usually a path): "ctx: message".
std::string with_context(const std::string& context, const std::string& message);

}  // namespace pm

/// Checks stay on in release builds. Usage: PM_CHECK(n == 3, "{}: expected 3 channels, got {}",
/// path, n);  throws pm::Error with the formatted message.
#define PM_CHECK(cond, ...)                          \
  do {                                               \
    if (!(cond)) {                                   \
      throw ::pm::Error(::fmt::format(__VA_ARGS__)); \
    }                                                \
  } while (false)

/// Throws pm::Error with a formatted message.
#define PM_FAIL(...) throw ::pm::Error(::fmt::format(__VA_ARGS__))
