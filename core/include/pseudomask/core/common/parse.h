// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <vector>

namespace pm {

/// Parses a comma-separated list of numbers ("0.15,0.2,4"); throws pm::Error naming `flag` and
/// the bad item. `count` > 0 requires exactly that many numbers.
std::vector<float> parse_float_list(const std::string& spec,
                                    const std::string& flag,
                                    size_t count = 0);

}  // namespace pm
