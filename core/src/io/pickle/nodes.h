// SPDX-License-Identifier: MIT
// Private to core/src/io: the heap part of PickleValue (strings, containers, arrays, storages,
// globals, dtypes) that the unpickler builds, and the access the unpickler has to it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "pseudomask/core/common/ndarray.h"
#include "pseudomask/core/io/pickle/torch_storage.h"
#include "pseudomask/core/io/pickle/value.h"

namespace pm::pickle_detail {

// ---------------------------------------------------------------------------------------------
// Nodes: the heap part of PickleValue.

struct Node {
  virtual ~Node() = default;
  /// Whether this node holds other values (list, tuple, set, dict, array).
  virtual bool is_container() const { return false; }
  virtual size_t child_count() const { return 0; }
  virtual const PickleValue& child(size_t /*i*/) const { return none(); }
  /// Moves all held values to `out` (used to tear down graphs without recursion).
  virtual void move_children(std::vector<PickleValue>& /*out*/) {}

  static const PickleValue& none() {
    static const PickleValue kNone;
    return kNone;
  }

  int32_t height = 0;  ///< graph check: 0 unvisited, -1 on the DFS path, else nesting height
};

struct TextNode : Node {
  explicit TextNode(std::string t) : text(std::move(t)) {}
  std::string text;
};

struct SeqNode : Node {
  bool is_container() const override { return true; }
  size_t child_count() const override { return items.size(); }
  const PickleValue& child(size_t i) const override { return items[i]; }
  void move_children(std::vector<PickleValue>& out) override {
    for (auto& v : items)
      out.push_back(std::move(v));
    items.clear();
  }
  std::vector<PickleValue> items;
};

/// The hash keys of a dict or set (see hash_key): searched linearly while there are few (most
/// pickled dicts are small), through a hash map once there are more.
class KeyIndex {
 public:
  static constexpr size_t kNotFound = static_cast<size_t>(-1);

  /// Position of `key`, or kNotFound.
  size_t find(const std::string& key) const {
    if (map_.empty()) {
      for (size_t i = 0; i < keys_.size(); ++i) {
        if (keys_[i] == key)
          return i;
      }
      return kNotFound;
    }
    auto it = map_.find(key);
    return it == map_.end() ? kNotFound : it->second;
  }
  /// Adds a key that find() did not know, at the next position.
  void add(std::string key) {
    if (map_.empty() && keys_.size() < kLinearLimit) {
      keys_.push_back(std::move(key));
      return;
    }
    if (map_.empty()) {
      for (size_t i = 0; i < keys_.size(); ++i)
        map_.emplace(std::move(keys_[i]), i);
      keys_.clear();
    }
    const size_t position = map_.size();
    map_.emplace(std::move(key), position);
  }
  void clear() {
    keys_.clear();
    map_.clear();
  }

 private:
  static constexpr size_t kLinearLimit = 16;
  std::vector<std::string> keys_;
  std::unordered_map<std::string, size_t> map_;
};

struct SetNode : SeqNode {
  KeyIndex keys;
};

struct DictNode : Node {
  bool is_container() const override { return true; }
  size_t child_count() const override { return 2 * entries.size(); }
  const PickleValue& child(size_t i) const override {
    return i % 2 == 0 ? entries[i / 2].first : entries[i / 2].second;
  }
  void move_children(std::vector<PickleValue>& out) override {
    for (auto& e : entries) {
      out.push_back(std::move(e.first));
      out.push_back(std::move(e.second));
    }
    entries.clear();
    index.clear();
  }
  std::vector<std::pair<PickleValue, PickleValue>> entries;
  KeyIndex index;  ///< hash key → position in entries
};

/// A torch storage. Legacy torch.save files name their storages before their bytes follow, so
/// a storage may exist unfilled while the object pickle is read.
struct StorageNode : Node {
  TorchStorageRef ref;
  bool filled = false;
  NDArray elements;                   ///< 1-D, once filled
  std::shared_ptr<StorageNode> root;  ///< for legacy storage views
};

/// A numpy array or torch tensor. numpy arrays are created empty by _reconstruct and receive
/// their data through BUILD; tensors over an unfilled storage wait for finalize_views().
struct ArrayNode : SeqNode {
  enum class State { kPending, kNumeric, kObject, kPendingView };
  State state = State::kPending;
  ArrayOrigin origin = ArrayOrigin::kNumpy;
  NDArray array;               ///< kNumeric
  std::vector<int64_t> shape;  ///< kObject (items hold the elements)
  // kPendingView:
  std::shared_ptr<StorageNode> view_storage;
  int64_t view_offset = 0;
  std::vector<int64_t> view_size;
  std::vector<int64_t> view_stride;
};

enum class GlobalId {
  kNumpyReconstruct,
  kNumpyNdarray,
  kNumpyDType,
  kNumpyScalar,
  kNumpyFromBuffer,
  kOrderedDict,
  kSet,
  kFrozenSet,
  kCodecsEncode,
  kBytes,
  kTorchRebuildTensor,
  kTorchRebuildTensorV2,
  kTorchRebuildParameter,
  kTorchRebuildParameterWithState,
  kTorchLoadFromBytes,
  kTorchStorageType,
  kTorchSize,
};

struct GlobalNode : Node {
  GlobalId id = GlobalId::kNumpyNdarray;
  std::string name;                  ///< "module.name"
  DType storage_dtype = DType::kU8;  ///< kTorchStorageType
  bool bfloat16 = false;             ///< kTorchStorageType of BFloat16Storage
};

struct DTypeNode : Node {
  std::string code;      ///< "f4", "i8", "O8", ... without byte order
  char byteorder = '=';  ///< '<', '>', '|' or '='
};

class Access {
 public:
  static PickleValue make(PickleValue::Kind kind, std::shared_ptr<Node> node) {
    PickleValue v;
    v.kind_ = kind;
    v.node_ = std::move(node);
    return v;
  }
  static PickleValue::Kind raw_kind(const PickleValue& v) { return v.kind_; }
  static Node* node(const PickleValue& v) { return v.node_.get(); }
  static const std::shared_ptr<Node>& shared(const PickleValue& v) { return v.node_; }
  template <class T>
  static T& as(const PickleValue& v) {
    return *static_cast<T*>(v.node_.get());
  }
};

}  // namespace pm::pickle_detail
