// SPDX-License-Identifier: MIT
#include "pseudomask/core/common/error.h"

namespace pm {

std::string with_context(const std::string& context, const std::string& message) {
  if (context.empty())
    return message;
  return context + ": " + message;
}

}  // namespace pm
