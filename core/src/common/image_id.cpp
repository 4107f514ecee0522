// SPDX-License-Identifier: MIT
#include "pseudomask/core/common/image_id.h"

#include <fmt/format.h>

#include <algorithm>

#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/printable.h"

namespace pm {

std::string image_id_problem(const std::string& id) {
  if (id.empty())
    return "is empty";
  if (id == "." || id == "..")
    return "is a folder reference, not a file name";
  for (const char ch : id) {
    const auto byte = static_cast<unsigned char>(ch);
    if (ch == '/' || ch == '\\')
      return "holds a path separator (an id is a file name without folders)";
    if (byte < 0x20 || byte == 0x7f)
      return "holds a control character";
  }
  return "";
}

void check_image_id(const std::string& id, const std::string& source) {
  const std::string problem = image_id_problem(id);
  PM_CHECK(problem.empty(), "{}: image id '{}' {}", source, printable(id), problem);
}

void check_image_ids(const std::vector<std::string>& ids, const std::string& source) {
  for (const std::string& id : ids)
    check_image_id(id, source);
}

}  // namespace pm
