// SPDX-License-Identifier: MIT
#include "pseudomask/core/common/parse.h"

#include <sstream>

#include "pseudomask/core/common/error.h"

namespace pm {

std::vector<float> parse_float_list(const std::string& spec,
                                    const std::string& flag,
                                    size_t count) {
  std::vector<float> out;
  std::stringstream in(spec);
  std::string item;
  while (std::getline(in, item, ',')) {
    size_t used = 0;
    try {
      out.push_back(std::stof(item, &used));
    } catch (const std::exception&) {
      used = 0;
    }
    PM_CHECK(used == item.size() && !item.empty(), "{} {}: '{}' is not a number", flag, spec, item);
  }
  PM_CHECK(!out.empty(), "{} {}: no numbers", flag, spec);
  PM_CHECK(count == 0 || out.size() == count,
           "{} {}: expected {} comma-separated numbers",
           flag,
           spec,
           count);
  return out;
}

}  // namespace pm
