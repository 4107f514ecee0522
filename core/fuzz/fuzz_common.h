// SPDX-License-Identifier: MIT
// Shared by the fuzz targets: each runs one parser on the input and accepts a value or a
// pm::Error; anything else (a crash, another exception, a sanitizer report) is a finding.
#pragma once

#include <cstddef>
#include <cstdint>

#include "pseudomask/core/common/error.h"

namespace pm::fuzz {

/// Runs `parse`, swallowing pm::Error (the one way a parser may refuse an input).
template <class Parse>
int run(Parse&& parse) {
  try {
    parse();
  } catch (const Error&) {
  }
  return 0;
}

}  // namespace pm::fuzz
