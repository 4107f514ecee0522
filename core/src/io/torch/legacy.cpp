// SPDX-License-Identifier: MIT
// The legacy torch.save format: the magic-number, protocol and system-info pickles, the object
// pickle whose storages arrive as persistent ids, the list of storage keys, then the storages'
// raw elements. The object pickle runs on the unpickler's machine so that tensors over storages
// not yet filled can be materialized once their bytes have been read.
#include "pseudomask/core/io/torch/legacy.h"
#include "pseudomask/core/common/printable.h"

#include <cstring>
#include <unordered_map>

#include "../pickle/machine.h"
#include "pseudomask/core/io/pickle/torch_storage.h"

namespace pm {
namespace pickle_detail {
namespace {

// 0x1950a86a20f9469cfc6c, torch's legacy magic number, as little-endian bytes.
const std::string kTorchLegacyMagic("\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19", 10);
constexpr int64_t kTorchLegacyProtocol = 1001;

PickleValue load_next(const uint8_t* data,
                      size_t size,
                      size_t& pos,
                      const std::string& name,
                      const PickleOptions& options,
                      int level) {
  Unpickler u(data + pos, size - pos, name, options, level);
  size_t used = 0;
  PickleValue v = u.run(&used);
  pos += used;
  return v;
}

void check_legacy_header(const uint8_t* data,
                         size_t size,
                         size_t& pos,
                         const std::string& name,
                         const PickleOptions& options,
                         int level) {
  const PickleValue magic = load_next(data, size, pos, name, options, level);
  PM_CHECK(magic.kind() == Kind::kBigInt && magic.bigint_bytes() == kTorchLegacyMagic,
           "{}: not a legacy torch.save image (bad magic number)",
           name);
  const PickleValue protocol = load_next(data, size, pos, name, options, level);
  PM_CHECK(protocol.kind() == Kind::kInt && protocol.as_int() == kTorchLegacyProtocol,
           "{}: unsupported legacy torch.save protocol",
           name);
  const PickleValue info = load_next(data, size, pos, name, options, level);
  PM_CHECK(info.kind() == Kind::kDict, "{}: legacy torch.save system info is not a dict", name);
  const PickleValue* little = info.find("little_endian");
  PM_CHECK(little != nullptr && little->kind() == Kind::kBool && little->as_bool(),
           "{}: big-endian torch.save files are not supported",
           name);
}

/// The storages named by the object pickle, keyed by storage key.
struct LegacyStorages {
  std::unordered_map<std::string, std::shared_ptr<StorageNode>> roots;
  std::unordered_map<std::string, std::shared_ptr<StorageNode>> views;

  PickleValue resolve(const PickleValue& pid, const std::string& name) {
    TorchStorageRef ref = parse_torch_storage_ref(pid, name);
    auto& root = roots[ref.key];
    if (root == nullptr) {
      root = std::make_shared<StorageNode>();
      root->ref = ref;
      root->ref.is_view = false;
    }
    PM_CHECK(root->ref.dtype == ref.dtype && root->ref.bfloat16 == ref.bfloat16 &&
                 root->ref.numel == ref.numel,
             "{}: storage '{}' is declared with two different types or sizes",
             name,
             printable(ref.key));
    if (!ref.is_view)
      return Access::make(Kind::kStorage, root);
    auto& view = views[ref.view_key];
    if (view == nullptr) {
      view = std::make_shared<StorageNode>();
      view->ref = ref;
      view->root = root;
    }
    PM_CHECK(view->root == root && view->ref.view_offset == ref.view_offset &&
                 view->ref.view_numel == ref.view_numel,
             "{}: storage view '{}' is declared twice differently",
             name,
             printable(ref.view_key));
    return Access::make(Kind::kStorage, view);
  }
};

/// Reads one storage record (an 8-byte little-endian element count, then the elements) at
/// `pos` into the root storage `key`; returns the bytes it holds once loaded.
uint64_t fill_root_storage(const uint8_t* data,
                           size_t size,
                           size_t& pos,
                           const PickleValue& key_value,
                           LegacyStorages& storages,
                           const std::string& name) {
  PM_CHECK(key_value.kind() == Kind::kStr,
           "{}: legacy storage key is a {}",
           name,
           key_value.type_name());
  const std::string& key = key_value.as_str();
  auto it = storages.roots.find(key);
  PM_CHECK(it != storages.roots.end(),
           "{}: storage '{}' is not used by the saved object",
           name,
           printable(key));
  StorageNode& root = *it->second;
  PM_CHECK(!root.filled, "{}: storage '{}' is listed twice", name, printable(key));
  PM_CHECK(size - pos >= 8, "{}: truncated storage '{}'", name, printable(key));
  const uint64_t count = load_le(data + pos, 8);
  pos += 8;
  PM_CHECK(count == static_cast<uint64_t>(root.ref.numel),
           "{}: storage '{}' has {} elements, its id says {}",
           name,
           printable(key),
           count,
           root.ref.numel);
  const size_t itemsize = stored_itemsize(root.ref);
  PM_CHECK(count <= (size - pos) / itemsize, "{}: truncated storage '{}'", name, printable(key));
  const size_t nbytes = static_cast<size_t>(count) * itemsize;
  root.elements = torch_storage_elements(root.ref, data + pos, nbytes, name);
  root.filled = true;
  pos += nbytes;
  return root.elements.nbytes();
}

/// Copies the elements of a storage view out of its (filled) root; returns their bytes.
uint64_t fill_view_storage(StorageNode& view, const std::string& key, const std::string& name) {
  const NDArray& base = view.root->elements;
  const TorchStorageRef& ref = view.ref;
  PM_CHECK(ref.view_offset >= 0 && ref.view_numel >= 0 && ref.view_offset <= base.numel() &&
               ref.view_numel <= base.numel() - ref.view_offset,
           "{}: storage view '{}' lies outside its storage",
           name,
           printable(key));
  const size_t es = dtype_size(base.dtype());
  view.elements = NDArray(base.dtype(), {ref.view_numel});
  if (ref.view_numel > 0) {
    std::memcpy(view.elements.raw(),
                base.raw() + static_cast<size_t>(ref.view_offset) * es,
                static_cast<size_t>(ref.view_numel) * es);
  }
  view.filled = true;
  return view.elements.nbytes();
}

/// Reads the storage records that follow the keys list and fills the roots, then the views.
uint64_t fill_legacy_storages(const uint8_t* data,
                              size_t size,
                              size_t& pos,
                              const std::vector<PickleValue>& keys,
                              LegacyStorages& storages,
                              const std::string& name) {
  uint64_t total = 0;
  for (const auto& key_value : keys)
    total += fill_root_storage(data, size, pos, key_value, storages, name);
  for (const auto& [key, root] : storages.roots) {
    PM_CHECK(root->filled, "{}: storage '{}' has no data", name, printable(key));
  }
  for (auto& [key, view] : storages.views)
    total += fill_view_storage(*view, key, name);
  return total;
}

}  // namespace

PickleValue load_torch_legacy_impl(const uint8_t* data,
                                   size_t size,
                                   const std::string& name,
                                   const PickleLimits& limits,
                                   int level) {
  PickleOptions plain;
  plain.limits = limits;
  size_t pos = 0;
  check_legacy_header(data, size, pos, name, plain, level);

  LegacyStorages storages;
  PickleOptions with_storages = plain;
  with_storages.persistent_load = [&storages, &name](const PickleValue& pid) {
    return storages.resolve(pid, name);
  };
  Unpickler objects(data + pos, size - pos, name, with_storages, level);
  size_t used = 0;
  PickleValue result = objects.run(&used);
  pos += used;

  const PickleValue keys = load_next(data, size, pos, name, plain, level);
  PM_CHECK(
      keys.kind() == Kind::kList, "{}: legacy storage key list is a {}", name, keys.type_name());
  objects.add_storage_bytes(fill_legacy_storages(data, size, pos, keys.items(), storages, name));
  objects.finalize_views();
  return result;
}

}  // namespace pickle_detail

PickleValue load_torch_legacy(const uint8_t* data,
                              size_t size,
                              const std::string& name,
                              const PickleLimits& limits) {
  PM_CHECK(data != nullptr || size == 0, "{}: no data", name);
  static const uint8_t kEmpty = 0;
  return pickle_detail::load_torch_legacy_impl(
      data != nullptr ? data : &kEmpty, size, name, limits, 0);
}

}  // namespace pm
