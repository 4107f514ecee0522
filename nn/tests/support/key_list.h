// SPDX-License-Identifier: MIT
#pragma once

// The published models' parameter names and shapes, as the fixture scripts write them
// (tests/fixtures/nn/*_keys.txt).

#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "support/test_paths.h"

namespace pm::test {

using KeyList = std::vector<std::pair<std::string, std::vector<int64_t>>>;

/// The "name d0,d1,..." lines ("name -" for a 0-d tensor) of tests/fixtures/nn/<file>, in
/// state_dict order.
inline KeyList read_key_list(const std::string& file) {
  std::ifstream in(fixture("nn/" + file));
  EXPECT_TRUE(in.good()) << file;
  KeyList keys;
  std::string name, dims;
  while (in >> name >> dims) {
    std::vector<int64_t> shape;
    std::stringstream ss(dims);
    for (std::string d; dims != "-" && std::getline(ss, d, ',');)
      shape.push_back(std::stoll(d));
    keys.emplace_back(name, shape);
  }
  return keys;
}

}  // namespace pm::test
