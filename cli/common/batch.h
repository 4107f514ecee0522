// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <vector>

#include "pseudomask/core/eval/evaluate.h"

namespace pm::cli {

/// The image ids a batch command works on: the --list file if given, else the stems of the
/// files with one of `exts` in `dir`. Throws if the result is empty.
std::vector<std::string> resolve_ids(const std::string& list,
                                     const std::string& dir,
                                     const std::vector<std::string>& exts);

/// Prints "N image(s) failed:" and one line per failure to stderr (nothing if none).
void print_failures(const std::vector<EvalFailure>& failures);

}  // namespace pm::cli
