// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <vector>

namespace pm {

// An image id names the files `<dir>/<id><ext>` a batch reads and writes, so it must be one
// plain file name, whichever source it comes from (a list file, a folder's file names, an --ids
// flag): otherwise `../../x` would read and write outside the folders given. The one rule, for
// every source and command.

/// What is wrong with `id` as an image id, or "" if nothing: it must not be empty, "." or "..",
/// nor hold '/', '\\', NUL or another control character.
std::string image_id_problem(const std::string& id);

/// Throws pm::Error "<source>: image id '<id>' <problem>" (the id escaped by printable())
/// unless `id` is a valid image id.
void check_image_id(const std::string& id, const std::string& source);

/// check_image_id for each of `ids`.
void check_image_ids(const std::vector<std::string>& ids, const std::string& source);

}  // namespace pm
