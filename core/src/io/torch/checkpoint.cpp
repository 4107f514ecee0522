// SPDX-License-Identifier: MIT
// PyTorch checkpoints without libtorch: the file's format (torch.save's zip archive,
// zip_archive.cpp, or the legacy stream, legacy.cpp) is told by its first bytes, then the state
// dict is picked out of whatever wrapper holds it. Written as a torch.save zip archive.
#include "pseudomask/core/io/torch/checkpoint.h"
#include "pseudomask/core/common/printable.h"

#include <algorithm>
#include <cstring>

#include "pseudomask/core/common/files.h"
#include "pseudomask/core/io/torch/legacy.h"
#include "pseudomask/core/io/zip/zip.h"
#include "zip_archive.h"

namespace pm {
namespace {

using Kind = PickleValue::Kind;

/// The first bytes of a legacy torch.save file: PROTO 2, then LONG1 of the 10-byte magic
/// number 0x1950a86a20f9469cfc6c.
const char kLegacyStart[] = "\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19";
constexpr size_t kLegacyStartSize = sizeof(kLegacyStart) - 1;
/// The signature of a zip local file header.
const char kZipStart[] = "PK\x03\x04";
/// Wrapper keys tried first, in this order, when the top level is not the state dict.
const char* const kPreferredKeys[] = {"state_dict", "model", "model_state", "model_state_dict"};
/// The DataParallel prefix stripped when every tensor name has it.
const std::string kModulePrefix = "module.";

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

// ---------------------------------------------------------------------------------------------
// Finding the state dict.

bool is_tensor(const PickleValue& v) {
  return v.kind() == Kind::kArray && v.array_origin() == ArrayOrigin::kTorch;
}

/// A dict with at least one tensor value.
bool holds_tensors(const PickleValue& v) {
  if (v.kind() != Kind::kDict)
    return false;
  const auto& items = v.dict_items();
  return std::any_of(
      items.begin(), items.end(), [](const auto& kv) { return is_tensor(kv.second); });
}

std::string top_level_keys(const PickleValue& top) {
  std::string keys;
  for (const auto& [key, value] : top.dict_items()) {
    (void)value;
    if (keys.size() > 200) {
      keys += ", ...";
      break;
    }
    keys += keys.empty() ? "" : ", ";
    keys += key.kind() == Kind::kStr ? "'" + printable(key.as_str()) + "'" : key.type_name();
  }
  return keys;
}

/// The state dict inside the checkpoint's top-level object (see read_checkpoint for the rule),
/// or nullptr for an empty top-level dict.
const PickleValue* find_state_dict(const PickleValue& top, const std::string& name) {
  PM_CHECK(top.kind() == Kind::kDict,
           "{}: the checkpoint holds a {}, not a state dict",
           name,
           top.type_name());
  if (top.dict_items().empty() || holds_tensors(top))
    return &top;
  for (const char* key : kPreferredKeys) {
    const PickleValue* v = top.find(key);
    if (v != nullptr && holds_tensors(*v))
      return v;
  }
  for (const auto& [key, value] : top.dict_items()) {
    (void)key;
    if (holds_tensors(value))
      return &value;
  }
  PM_FAIL("{}: no state dict found (no dict of tensors among the top-level entries {})",
          name,
          top_level_keys(top));
}

/// The tensors of a state dict in file order; other values are left out.
std::vector<std::pair<std::string, NDArray>> state_dict_tensors(const PickleValue& sd,
                                                                const std::string& name) {
  std::vector<std::pair<std::string, NDArray>> tensors;
  for (const auto& [key, value] : sd.dict_items()) {
    if (!is_tensor(value))
      continue;
    PM_CHECK(
        key.kind() == Kind::kStr, "{}: state dict key is a {}, not a str", name, key.type_name());
    tensors.emplace_back(key.as_str(), value.array());
  }
  return tensors;
}

/// Removes the DataParallel 'module.' prefix when every name has it.
void strip_module_prefix(std::vector<std::pair<std::string, NDArray>>& tensors) {
  const bool all =
      !tensors.empty() && std::all_of(tensors.begin(), tensors.end(), [](const auto& t) {
        return starts_with(t.first, kModulePrefix);
      });
  if (!all)
    return;
  for (auto& t : tensors)
    t.first.erase(0, kModulePrefix.size());
}

/// The `_pseudomask` metadata entry of a top-level dict (empty if there is none).
std::vector<std::pair<std::string, std::string>> read_metadata(const PickleValue& top,
                                                               const std::string& name) {
  std::vector<std::pair<std::string, std::string>> metadata;
  const PickleValue* entry = top.find(kCheckpointMetadataKey);
  if (entry == nullptr)
    return metadata;
  PM_CHECK(entry->kind() == Kind::kDict,
           "{}: '{}' metadata is a {}, not a dict",
           name,
           kCheckpointMetadataKey,
           entry->type_name());
  for (const auto& [key, value] : entry->dict_items()) {
    PM_CHECK(key.kind() == Kind::kStr && value.kind() == Kind::kStr,
             "{}: '{}' metadata must map str to str, found a {} key with a {} value",
             name,
             kCheckpointMetadataKey,
             key.type_name(),
             value.type_name());
    metadata.emplace_back(key.as_str(), value.as_str());
  }
  return metadata;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Public API.

const NDArray* Checkpoint::find(const std::string& name) const {
  for (const auto& [key, array] : tensors) {
    if (key == name)
      return &array;
  }
  return nullptr;
}

const std::string* Checkpoint::find_metadata(const std::string& key) const {
  for (const auto& [k, value] : metadata) {
    if (k == key)
      return &value;
  }
  return nullptr;
}

Checkpoint decode_checkpoint(const uint8_t* data, size_t size, const std::string& name) {
  PM_CHECK(data != nullptr || size == 0, "{}: no data", name);
  static const uint8_t kEmpty = 0;
  if (data == nullptr)
    data = &kEmpty;
  PickleValue top;
  if (size >= 4 && std::memcmp(data, kZipStart, 4) == 0) {
    top = load_zip_checkpoint(data, size, name);
  } else if (size >= kLegacyStartSize && std::memcmp(data, kLegacyStart, kLegacyStartSize) == 0) {
    top = load_torch_legacy(data, size, name);
  } else {
    PM_FAIL(
        "{}: not a PyTorch checkpoint (neither a torch.save zip archive nor a legacy "
        "torch.save file)",
        name);
  }
  Checkpoint ckpt;
  const PickleValue* sd = find_state_dict(top, name);
  ckpt.tensors = state_dict_tensors(*sd, name);
  strip_module_prefix(ckpt.tensors);
  ckpt.metadata = read_metadata(top, name);
  return ckpt;
}

Checkpoint read_checkpoint(const std::string& path) {
  const std::vector<uint8_t> bytes = read_file_bytes(path);
  return decode_checkpoint(bytes.data(), bytes.size(), path);
}

std::vector<uint8_t> encode_checkpoint(const Checkpoint& ckpt, const std::string& archive_name) {
  return encode_zip_checkpoint(ckpt, archive_name, "checkpoint");
}

void write_checkpoint(const std::string& path, const Checkpoint& ckpt) {
  write_file_atomic(path, encode_zip_checkpoint(ckpt, "archive", path));
}

}  // namespace pm
