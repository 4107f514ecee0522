// SPDX-License-Identifier: MIT
#include "common/batch.h"

#include <cstdio>

#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/files.h"

namespace pm::cli {

std::vector<std::string> resolve_ids(const std::string& list,
                                     const std::string& dir,
                                     const std::vector<std::string>& exts) {
  std::vector<std::string> ids;
  if (!list.empty()) {
    ids = read_id_list(list);
    PM_CHECK(!ids.empty(), "{}: the list is empty", list);
  } else {
    for (const auto& path : list_files(dir, exts))
      ids.push_back(file_stem(path));
    PM_CHECK(!ids.empty(), "{}: no input files found", dir);
  }
  return ids;
}

void print_failures(const std::vector<EvalFailure>& failures) {
  if (failures.empty())
    return;
  std::fprintf(stderr, "%zu image(s) failed and were left out:\n", failures.size());
  for (const auto& f : failures)
    std::fprintf(stderr, "  %s: %s\n", f.id.c_str(), f.message.c_str());
}

}  // namespace pm::cli
