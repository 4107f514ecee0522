// SPDX-License-Identifier: MIT
// The restricted unpickler: a pickle stack machine (protocols 0-5) that builds PickleValue
// trees and applies only whitelisted numpy / torch / collections globals, each implemented
// natively below. Nothing from the input is ever executed.
//
// Memory safety against hostile input:
//  - every read is bounds-checked; the stack, the MARK stack and the memo are bounded;
//  - every container the machine creates is tracked; after STOP the object graph is checked
//    for cycles and for nesting depth, and on any failure the containers are emptied into a
//    flat list before they are released, so no cycle leaks and no deep chain recurses;
//  - an array's bytes must be bytes present in the input; torch tensor views may materialize
//    at most the bytes of the storages seen plus a small slack.
#include "pseudomask/core/io/pickle.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <unordered_map>

#include "pseudomask/core/io/npy.h"

namespace pm {
namespace pickle_detail {

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

}  // namespace pickle_detail

using pickle_detail::Access;
using pickle_detail::ArrayNode;
using pickle_detail::DictNode;
using pickle_detail::DTypeNode;
using pickle_detail::GlobalId;
using pickle_detail::GlobalNode;
using pickle_detail::KeyIndex;
using pickle_detail::Node;
using pickle_detail::SeqNode;
using pickle_detail::SetNode;
using pickle_detail::StorageNode;
using pickle_detail::TextNode;
using Kind = PickleValue::Kind;

namespace {

// ---------------------------------------------------------------------------------------------
// Small helpers.

/// Makes untrusted text safe for a one-line message: escapes control and non-ASCII bytes and
/// truncates long text.
std::string printable(const std::string& text, size_t max_chars = 80) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (out.size() >= max_chars) {
      out += "...";
      break;
    }
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("\\x{:02x}", c);
    }
  }
  return out;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

/// Python 2 byte strings come back as str decoded with latin-1 (what numpy asks for).
std::string latin1_to_utf8(const uint8_t* data, size_t size) {
  std::string out;
  out.reserve(size);
  for (size_t i = 0; i < size; ++i)
    append_utf8(out, data[i]);
  return out;
}

/// str.encode('latin1'): false if the text is not valid UTF-8 or has a code point >= 256.
bool utf8_to_latin1(const std::string& text, std::string& out) {
  out.clear();
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
    } else if ((c & 0xE0) == 0xC0 && i + 1 < text.size() &&
               (static_cast<unsigned char>(text[i + 1]) & 0xC0) == 0x80) {
      const uint32_t cp = ((c & 0x1Fu) << 6) | (static_cast<unsigned char>(text[i + 1]) & 0x3Fu);
      if (cp >= 256)
        return false;
      out += static_cast<char>(cp);
      i += 2;
    } else {
      return false;
    }
  }
  return true;
}

bool parse_int64(const std::string& text, int64_t& value) {
  const char* begin = text.data();
  const char* end = begin + text.size();
  if (begin != end && *begin == '+')
    ++begin;
  const auto res = std::from_chars(begin, end, value);
  return res.ec == std::errc() && res.ptr == end && begin != end;
}

bool is_integral_dtype(DType d) {
  switch (d) {
    case DType::kBool:
    case DType::kU8:
    case DType::kI8:
    case DType::kU16:
    case DType::kI16:
    case DType::kU32:
    case DType::kI32:
    case DType::kU64:
    case DType::kI64:
      return true;
    default:
      return false;
  }
}

/// Element 0 of an integer array as int64; false if it does not fit.
bool first_as_int64(const NDArray& a, int64_t& value) {
  if (a.numel() < 1 || !is_integral_dtype(a.dtype()))
    return false;
  const uint8_t* p = a.raw();
  switch (a.dtype()) {
    case DType::kBool:
    case DType::kU8:
      value = *p;
      return true;
    case DType::kI8: {
      int8_t v;
      std::memcpy(&v, p, 1);
      value = v;
      return true;
    }
    case DType::kU16: {
      uint16_t v;
      std::memcpy(&v, p, 2);
      value = v;
      return true;
    }
    case DType::kI16: {
      int16_t v;
      std::memcpy(&v, p, 2);
      value = v;
      return true;
    }
    case DType::kU32: {
      uint32_t v;
      std::memcpy(&v, p, 4);
      value = v;
      return true;
    }
    case DType::kI32: {
      int32_t v;
      std::memcpy(&v, p, 4);
      value = v;
      return true;
    }
    case DType::kU64: {
      uint64_t v;
      std::memcpy(&v, p, 8);
      if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        return false;
      value = static_cast<int64_t>(v);
      return true;
    }
    case DType::kI64:
      std::memcpy(&value, p, 8);
      return true;
    default:
      return false;
  }
}

/// numel of a shape with overflow and sanity checks; false if invalid.
bool checked_numel(const std::vector<int64_t>& shape, int64_t& numel) {
  numel = 1;
  for (int64_t d : shape) {
    if (d < 0)
      return false;
    if (d != 0 && numel > std::numeric_limits<int64_t>::max() / d)
      return false;
    numel *= d;
  }
  return true;
}

bool checked_bytes(int64_t numel, size_t itemsize, uint64_t& bytes) {
  if (numel < 0)
    return false;
  if (itemsize != 0 &&
      static_cast<uint64_t>(numel) > std::numeric_limits<uint64_t>::max() / itemsize / 2) {
    return false;
  }
  bytes = static_cast<uint64_t>(numel) * itemsize;
  return true;
}

/// Parses "f4", "<i8", "O8"... (numpy's dtype constructor argument) into code and byte order.
void split_dtype_code(const std::string& spec, std::string& code, char& order) {
  order = '=';
  code = spec;
  if (!code.empty() && std::strchr("<>|=", code[0]) != nullptr) {
    order = code[0];
    code.erase(0, 1);
  }
}

bool is_object_code(const std::string& code) {
  return !code.empty() && code[0] == 'O';
}

/// The element size a dtype code names ("f4" → 4), 0 if it names none.
size_t code_itemsize(const std::string& code) {
  if (code.size() < 2)
    return 0;
  int64_t n = 0;
  if (!parse_int64(code.substr(1), n) || n <= 0 || n > 64)
    return 0;
  return static_cast<size_t>(n);
}

/// The .npy descr of a numeric numpy dtype ("<f4", "|u1", ">i2").
std::string numpy_descr(const DTypeNode& dt) {
  const size_t itemsize = code_itemsize(dt.code);
  char order = '<';
  if (dt.byteorder == '>')
    order = '>';
  if (itemsize == 1 || dt.byteorder == '|')
    order = '|';
  return std::string(1, order) + dt.code;
}

// ---------------------------------------------------------------------------------------------
// Torch storage types.

struct StorageType {
  const char* name;
  DType dtype;
  bool bfloat16;
};

constexpr StorageType kStorageTypes[] = {
    {"DoubleStorage", DType::kF64, false},
    {"FloatStorage", DType::kF32, false},
    {"HalfStorage", DType::kF16, false},
    {"BFloat16Storage", DType::kF32, true},
    {"LongStorage", DType::kI64, false},
    {"IntStorage", DType::kI32, false},
    {"ShortStorage", DType::kI16, false},
    {"CharStorage", DType::kI8, false},
    {"ByteStorage", DType::kU8, false},
    {"BoolStorage", DType::kBool, false},
    {"UntypedStorage", DType::kU8, false},
};

size_t stored_itemsize(const TorchStorageRef& ref) {
  return ref.bfloat16 ? 2 : dtype_size(ref.dtype);
}

// ---------------------------------------------------------------------------------------------
// The whitelist.

struct GlobalEntry {
  const char* module;
  const char* name;
  GlobalId id;
};

constexpr GlobalEntry kWhitelist[] = {
    {"numpy.core.multiarray", "_reconstruct", GlobalId::kNumpyReconstruct},
    {"numpy._core.multiarray", "_reconstruct", GlobalId::kNumpyReconstruct},
    {"numpy", "ndarray", GlobalId::kNumpyNdarray},
    {"numpy", "dtype", GlobalId::kNumpyDType},
    {"numpy.core.multiarray", "scalar", GlobalId::kNumpyScalar},
    {"numpy._core.multiarray", "scalar", GlobalId::kNumpyScalar},
    {"numpy.core.numeric", "_frombuffer", GlobalId::kNumpyFromBuffer},
    {"numpy._core.numeric", "_frombuffer", GlobalId::kNumpyFromBuffer},
    {"collections", "OrderedDict", GlobalId::kOrderedDict},
    {"builtins", "set", GlobalId::kSet},
    {"__builtin__", "set", GlobalId::kSet},
    {"builtins", "frozenset", GlobalId::kFrozenSet},
    {"__builtin__", "frozenset", GlobalId::kFrozenSet},
    {"_codecs", "encode", GlobalId::kCodecsEncode},
    {"builtins", "bytes", GlobalId::kBytes},
    {"__builtin__", "bytes", GlobalId::kBytes},
    {"builtins", "bytearray", GlobalId::kBytes},
    {"__builtin__", "bytearray", GlobalId::kBytes},
    {"torch._utils", "_rebuild_tensor", GlobalId::kTorchRebuildTensor},
    {"torch._utils", "_rebuild_tensor_v2", GlobalId::kTorchRebuildTensorV2},
    {"torch._utils", "_rebuild_parameter", GlobalId::kTorchRebuildParameter},
    {"torch._utils", "_rebuild_parameter_with_state", GlobalId::kTorchRebuildParameterWithState},
    {"torch.storage", "_load_from_bytes", GlobalId::kTorchLoadFromBytes},
    {"torch", "Size", GlobalId::kTorchSize},
};

/// Resolves a whitelisted global, or returns nullptr.
std::shared_ptr<GlobalNode> resolve_global(const std::string& module, const std::string& name) {
  auto make = [&](GlobalId id) {
    auto node = std::make_shared<GlobalNode>();
    node->name = module + "." + name;
    node->id = id;
    return node;
  };
  for (const auto& e : kWhitelist) {
    if (module == e.module && name == e.name)
      return make(e.id);
  }
  const bool storage_module = module == "torch" || module == "torch.cuda" ||
                              (module == "torch.storage" && name == "UntypedStorage");
  if (storage_module) {
    for (const auto& t : kStorageTypes) {
      if (name == t.name) {
        auto node = make(GlobalId::kTorchStorageType);
        node->storage_dtype = t.dtype;
        node->bfloat16 = t.bfloat16;
        return node;
      }
    }
  }
  return nullptr;
}

// ---------------------------------------------------------------------------------------------
// Hash keys for dicts and sets: equal Python keys give equal strings (1 == True == 1.0 ==
// numpy.int64(1)). Tuples are bounded so a key cannot blow up through shared sub-tuples.

constexpr size_t kMaxTupleKeyBytes = 256;
constexpr size_t kMaxCallArgs = 8;  ///< no whitelisted callable takes more
constexpr size_t kMaxDims = 64;     ///< numpy's own limit
constexpr size_t kMemoSlack = 16;   ///< how far past its end the dense memo may grow at once

bool float_key(double x, std::string& out) {
  if (std::isfinite(x) && x == std::floor(x) && std::fabs(x) < 9.2e18) {
    out += "i" + std::to_string(static_cast<int64_t>(x));
  } else {
    uint64_t bits;
    std::memcpy(&bits, &x, 8);
    out += fmt::format("f{:016x}", bits);
  }
  return true;
}

bool hash_key(const PickleValue& v, std::string& out, size_t budget) {
  switch (v.kind()) {
    case Kind::kNone:
      out += "N";
      return true;
    case Kind::kBool:
    case Kind::kInt:
      out += "i" + std::to_string(v.as_int());
      return true;
    case Kind::kFloat:
      return float_key(v.as_float(), out);
    case Kind::kBigInt:
      out += "L" + v.bigint_bytes();
      return true;
    case Kind::kStr:
      out += "s" + v.as_str();
      return true;
    case Kind::kBytes:
      out += "b" + v.as_bytes();
      return true;
    case Kind::kGlobal:
      out += "g" + v.global_name();
      return true;
    case Kind::kArray: {
      const auto& node = Access::as<ArrayNode>(v);
      if (node.state != ArrayNode::State::kNumeric || node.array.ndim() != 0)
        return false;
      const NDArray& a = node.array;
      int64_t iv = 0;
      if (first_as_int64(a, iv)) {
        out += "i" + std::to_string(iv);
        return true;
      }
      if (is_integral_dtype(a.dtype()))
        return false;  // uint64 beyond int64
      return float_key(a.value_at(0), out);
    }
    case Kind::kTuple: {
      out += "(";
      for (const auto& item : v.items()) {
        std::string sub;
        if (!hash_key(item, sub, budget))
          return false;
        out += std::to_string(sub.size()) + ":" + sub;
        if (out.size() > budget)
          return false;
      }
      out += ")";
      return out.size() <= budget;
    }
    default:
      return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Torch tensor views.

/// The C-order copy of the view (offset, size, stride) of a storage.
NDArray gather_view(const NDArray& storage,
                    int64_t offset,
                    const std::vector<int64_t>& size,
                    const std::vector<int64_t>& stride,
                    const std::string& name) {
  PM_CHECK(size.size() == stride.size(),
           "{}: tensor has {} sizes but {} strides",
           name,
           size.size(),
           stride.size());
  PM_CHECK(offset >= 0, "{}: tensor has a negative storage offset {}", name, offset);
  int64_t numel = 0;
  PM_CHECK(checked_numel(size, numel), "{}: invalid tensor size {}", name, shape_string(size));
  for (int64_t s : stride)
    PM_CHECK(s >= 0, "{}: negative tensor stride {}", name, s);
  if (numel == 0)
    return NDArray(storage.dtype(), size);
  int64_t last = offset;
  for (size_t d = 0; d < size.size(); ++d) {
    const int64_t extent = size[d] - 1;
    PM_CHECK(stride[d] == 0 || extent <= (std::numeric_limits<int64_t>::max() - last) / stride[d],
             "{}: tensor view overflows",
             name);
    last += extent * stride[d];
  }
  PM_CHECK(last < storage.numel(),
           "{}: tensor view (offset {}, size {}, stride {}) reaches past its storage of {} "
           "elements",
           name,
           offset,
           shape_string(size),
           shape_string(stride),
           storage.numel());
  NDArray out(storage.dtype(), size);
  const size_t es = dtype_size(storage.dtype());
  const uint8_t* src = storage.raw();
  uint8_t* dst = out.raw();
  const size_t ndim = size.size();
  if (ndim == 0) {
    std::memcpy(dst, src + offset * es, es);
    return out;
  }
  // Odometer over all but the last dimension; the last one is copied in a row.
  std::vector<int64_t> idx(ndim, 0);
  const int64_t rows = numel / size[ndim - 1];
  const int64_t row_len = size[ndim - 1];
  const int64_t inner_stride = stride[ndim - 1];
  for (int64_t r = 0; r < rows; ++r) {
    int64_t base = offset;
    for (size_t d = 0; d + 1 < ndim; ++d)
      base += idx[d] * stride[d];
    if (inner_stride == 1) {
      std::memcpy(dst, src + base * es, static_cast<size_t>(row_len) * es);
      dst += row_len * es;
    } else {
      for (int64_t j = 0; j < row_len; ++j) {
        std::memcpy(dst, src + (base + j * inner_stride) * es, es);
        dst += es;
      }
    }
    for (size_t d = ndim - 1; d-- > 0;) {
      if (++idx[d] < size[d])
        break;
      idx[d] = 0;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The machine.

PickleValue load_torch_legacy_impl(const uint8_t* data,
                                   size_t size,
                                   const std::string& name,
                                   const PickleLimits& limits,
                                   int level);

class Unpickler {
 public:
  Unpickler(const uint8_t* data,
            size_t size,
            const std::string& name,
            const PickleOptions& options,
            int torch_level)
      : data_(data),
        size_(size),
        name_(name),
        options_(options),
        limits_(options.limits),
        torch_level_(torch_level),
        view_budget_(options.limits.tensor_slack_bytes),
        data_budget_(size + options.limits.tensor_slack_bytes),
        copy_budget_(size + 4096) {
    stack_.reserve(size >= 64 ? 32 : 4);
  }

  Unpickler(const Unpickler&) = delete;
  Unpickler& operator=(const Unpickler&) = delete;

  ~Unpickler() {
    if (!ok_)
      tear_down();
  }

  /// Runs to STOP and returns the top of the stack.
  PickleValue run(size_t* consumed) {
    PickleValue result = execute();
    check_graph();
    ok_ = true;
    if (consumed != nullptr)
      *consumed = pos_;
    return result;
  }

  /// Allows views over `bytes` more storage bytes (storages filled after the pickle ran).
  void add_storage_bytes(uint64_t bytes) { view_budget_ += bytes; }

  /// Materializes tensors whose storages were filled after the pickle ran (legacy files).
  void finalize_views() {
    for (auto& node : pending_views_) {
      PM_CHECK(node->view_storage->filled,
               "{}: storage '{}' has no data",
               name_,
               printable(node->view_storage->ref.key));
      node->array = take_view(
          node->view_storage->elements, node->view_offset, node->view_size, node->view_stride);
      node->state = ArrayNode::State::kNumeric;
      node->view_storage.reset();
    }
    pending_views_.clear();
  }

 private:
  // ----- errors ------------------------------------------------------------------------------
  [[noreturn]] void malformed(const std::string& what) const {
    throw Error(fmt::format("{}: malformed pickle at byte {}: {}", name_, op_pos_, what));
  }
  [[noreturn]] void invalid(const std::string& what) const {
    throw Error(fmt::format("{}: {}", name_, what));
  }

  // ----- input -------------------------------------------------------------------------------
  const uint8_t* take(uint64_t n) {
    if (n > size_ - pos_) {
      malformed(fmt::format("truncated (needs {} more bytes, {} left)", n, size_ - pos_));
    }
    const uint8_t* p = data_ + pos_;
    pos_ += static_cast<size_t>(n);
    return p;
  }
  uint64_t read_le(int n) {
    const uint8_t* p = take(static_cast<uint64_t>(n));
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i)
      v = (v << 8) | p[i];
    return v;
  }
  int64_t read_i32() { return static_cast<int32_t>(static_cast<uint32_t>(read_le(4))); }
  std::string read_line() {
    const void* nl = std::memchr(data_ + pos_, '\n', size_ - pos_);
    if (nl == nullptr)
      malformed("truncated (text argument without newline)");
    const size_t end = static_cast<const uint8_t*>(nl) - data_;
    std::string line(reinterpret_cast<const char*>(data_ + pos_), end - pos_);
    pos_ = end + 1;
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    return line;
  }
  uint64_t read_length(int bytes) {
    const uint64_t n = read_le(bytes);
    if (n > size_ - pos_)
      malformed(fmt::format("length {} exceeds the data left", n));
    return n;
  }

  // ----- stack -------------------------------------------------------------------------------
  size_t frame_start() const { return marks_.empty() ? 0 : marks_.back(); }
  void push(PickleValue v) {
    if (stack_.size() >= limits_.max_stack) {
      invalid(fmt::format("pickle stack exceeds {} entries", limits_.max_stack));
    }
    stack_.push_back(std::move(v));
  }
  PickleValue pop() {
    if (stack_.size() <= frame_start())
      malformed("stack underflow");
    PickleValue v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }
  PickleValue& top() {
    if (stack_.size() <= frame_start())
      malformed("stack underflow");
    return stack_.back();
  }
  /// Closes the innermost MARK and returns the stack index of its first item.
  size_t pop_mark_index() {
    if (marks_.empty())
      malformed("MARK expected");
    const size_t m = marks_.back();
    marks_.pop_back();
    return m;
  }
  std::vector<PickleValue> pop_mark() {
    const size_t m = pop_mark_index();
    std::vector<PickleValue> items(std::make_move_iterator(stack_.begin() + m),
                                   std::make_move_iterator(stack_.end()));
    stack_.resize(m);
    return items;
  }

  // ----- memo --------------------------------------------------------------------------------
  // Python writes memo indices 0, 1, 2, ... in order, so they live in a vector; indices far
  // beyond its end (possible in hand-made pickles) go to a map, so no index can make the memo
  // allocate more than a few entries per opcode.
  void memo_put(uint64_t index) {
    const PickleValue& v = top();
    if (index < memo_dense_.size()) {
      memo_dense_[index] = v;
      memo_present_[index] = true;
      return;
    }
    if (memo_dense_.size() + memo_sparse_.size() >= limits_.max_memo &&
        memo_sparse_.count(index) == 0) {
      invalid(fmt::format("pickle memo exceeds {} entries", limits_.max_memo));
    }
    if (index < memo_dense_.size() + kMemoSlack) {
      memo_dense_.resize(index + 1);
      memo_present_.resize(index + 1, false);
      memo_dense_[index] = v;
      memo_present_[index] = true;
    } else {
      memo_sparse_[index] = v;
    }
  }
  void memo_get(uint64_t index) {
    if (index < memo_dense_.size() && memo_present_[index]) {
      push(memo_dense_[index]);
      return;
    }
    auto it = memo_sparse_.find(index);
    if (it == memo_sparse_.end())
      malformed(fmt::format("memo key {} not found", index));
    push(it->second);
  }

  // ----- object creation ---------------------------------------------------------------------
  template <class T>
  std::shared_ptr<T> new_container() {
    auto node = std::make_shared<T>();
    containers_.push_back(node);
    return node;
  }
  PickleValue make_seq(Kind kind, std::vector<PickleValue> items) {
    auto node = new_container<SeqNode>();
    node->items = std::move(items);
    return Access::make(kind, node);
  }
  PickleValue make_dict() { return Access::make(Kind::kDict, new_container<DictNode>()); }
  PickleValue make_set(Kind kind = Kind::kSet) {
    return Access::make(kind, new_container<SetNode>());
  }
  std::shared_ptr<ArrayNode> new_array(ArrayOrigin origin) {
    auto node = new_container<ArrayNode>();
    node->origin = origin;
    return node;
  }
  PickleValue numeric_array(NDArray array, ArrayOrigin origin) {
    auto node = new_array(origin);
    node->state = ArrayNode::State::kNumeric;
    node->array = std::move(array);
    return Access::make(Kind::kArray, node);
  }
  PickleValue make_text(Kind kind, std::string text) {
    return Access::make(kind, std::make_shared<TextNode>(std::move(text)));
  }

  /// Arrays built from payloads may take at most the input size (plus slack) in total, so a
  /// payload referenced many times through the memo cannot multiply memory.
  void charge_data(uint64_t bytes) {
    if (bytes > data_budget_) {
      invalid("pickle builds more array data than it holds (payloads reused through the memo?)");
    }
    data_budget_ -= bytes;
  }
  /// Copying the elements of a shared container is charged the same way.
  void charge_copies(uint64_t count) {
    if (count > copy_budget_)
      invalid("pickle copies more values than it holds");
    copy_budget_ -= count;
  }

  std::string key_of(const PickleValue& key) {
    std::string hk;
    if (!hash_key(key, hk, kMaxTupleKeyBytes)) {
      invalid(fmt::format("unhashable or oversized dict/set key of type {}", key.type_name()));
    }
    return hk;
  }
  void dict_set(DictNode& dict, PickleValue key, PickleValue value) {
    std::string hk = key_of(key);
    const size_t position = dict.index.find(hk);
    if (position != KeyIndex::kNotFound) {
      dict.entries[position].second = std::move(value);
      return;
    }
    dict.index.add(std::move(hk));
    dict.entries.emplace_back(std::move(key), std::move(value));
  }
  void set_add(SetNode& set, PickleValue value) {
    std::string hk = key_of(value);
    if (set.keys.find(hk) == KeyIndex::kNotFound) {
      set.keys.add(std::move(hk));
      set.items.push_back(std::move(value));
    }
  }
  DictNode& dict_on_top(const char* op) {
    PickleValue& t = top();
    if (t.kind() != Kind::kDict)
      invalid(fmt::format("{} on a {}, not a dict", op, t.type_name()));
    return Access::as<DictNode>(t);
  }
  SeqNode& list_on_top(const char* op) {
    PickleValue& t = top();
    if (t.kind() != Kind::kList)
      invalid(fmt::format("{} on a {}, not a list", op, t.type_name()));
    return Access::as<SeqNode>(t);
  }

  // ----- the opcode loop ---------------------------------------------------------------------
  PickleValue execute() {
    while (true) {
      op_pos_ = pos_;
      const uint8_t op = *take(1);
      if (op == '.')
        return pop();
      step(op);
    }
  }

  void step(uint8_t op) {
    switch (op) {
      // Framing and protocol.
      case 0x80: {  // PROTO
        const uint8_t proto = *take(1);
        if (proto > 5)
          malformed(fmt::format("unsupported pickle protocol {}", proto));
        break;
      }
      case 0x95:  // FRAME
        read_le(8);
        break;
      // Stack manipulation.
      case '(':  // MARK
        if (marks_.size() >= limits_.max_marks) {
          invalid(fmt::format("pickle nests more than {} MARKs", limits_.max_marks));
        }
        marks_.push_back(stack_.size());
        break;
      case '0':  // POP
        if (stack_.size() > frame_start()) {
          stack_.pop_back();
        } else {
          pop_mark();
        }
        break;
      case '1':  // POP_MARK
        pop_mark();
        break;
      case '2':  // DUP
        push(top());
        break;
      // Memo.
      case 'p':
        memo_put(parse_memo_index(read_line()));
        break;
      case 'q':
        memo_put(read_le(1));
        break;
      case 'r':
        memo_put(read_le(4));
        break;
      case 0x94:  // MEMOIZE
        memo_put(memo_dense_.size() + memo_sparse_.size());
        break;
      case 'g':
        memo_get(parse_memo_index(read_line()));
        break;
      case 'h':
        memo_get(read_le(1));
        break;
      case 'j':
        memo_get(read_le(4));
        break;
      // Constants and numbers.
      case 'N':
        push(PickleValue());
        break;
      case 0x88:
        push(PickleValue::make_bool(true));
        break;
      case 0x89:
        push(PickleValue::make_bool(false));
        break;
      case 'I':
        push(text_int(read_line()));
        break;
      case 'J':
        push(PickleValue::make_int(read_i32()));
        break;
      case 'K':
        push(PickleValue::make_int(static_cast<int64_t>(read_le(1))));
        break;
      case 'M':
        push(PickleValue::make_int(static_cast<int64_t>(read_le(2))));
        break;
      case 'L':
        push(text_long(read_line()));
        break;
      case 0x8a:  // LONG1
        push(binary_long(read_length(1)));
        break;
      case 0x8b: {  // LONG4
        const int64_t n = read_i32();
        if (n < 0)
          malformed("negative LONG4 length");
        if (static_cast<uint64_t>(n) > size_ - pos_)
          malformed("truncated LONG4");
        push(binary_long(static_cast<uint64_t>(n)));
        break;
      }
      case 'F':
        push(text_float(read_line()));
        break;
      case 'G': {  // BINFLOAT, big-endian
        const uint8_t* p = take(8);
        uint64_t bits = 0;
        for (int i = 0; i < 8; ++i)
          bits = (bits << 8) | p[i];
        double d;
        std::memcpy(&d, &bits, 8);
        push(PickleValue::make_float(d));
        break;
      }
      // Strings and bytes.
      case 'S':
        push(make_text(Kind::kStr, text_string(read_line())));
        break;
      case 'T': {  // BINSTRING: signed 4-byte length
        const int64_t n = read_i32();
        if (n < 0)
          malformed("negative BINSTRING length");
        push(make_text(Kind::kStr,
                       latin1_to_utf8(take(static_cast<uint64_t>(n)), static_cast<size_t>(n))));
        break;
      }
      case 'U': {  // SHORT_BINSTRING
        const uint64_t n = read_length(1);
        push(make_text(Kind::kStr, latin1_to_utf8(take(n), n)));
        break;
      }
      case 'V':
        push(make_text(Kind::kStr, raw_unicode_escape(read_line())));
        break;
      case 'X':
        push(text_value(Kind::kStr, read_length(4)));
        break;
      case 0x8c:
        push(text_value(Kind::kStr, read_length(1)));
        break;
      case 0x8d:
        push(text_value(Kind::kStr, read_length(8)));
        break;
      case 'B':
        push(text_value(Kind::kBytes, read_length(4)));
        break;
      case 'C':
        push(text_value(Kind::kBytes, read_length(1)));
        break;
      case 0x8e:
      case 0x96:  // BINBYTES8, BYTEARRAY8
        push(text_value(Kind::kBytes, read_length(8)));
        break;
      case 0x97:
        invalid("pickle uses out-of-band buffers (NEXT_BUFFER), which files cannot carry");
      case 0x98:  // READONLY_BUFFER
        top();
        break;
      // Containers.
      case ']':
        push(make_seq(Kind::kList, {}));
        break;
      case 'l':
        push(make_seq(Kind::kList, pop_mark()));
        break;
      case ')':
        push(make_seq(Kind::kTuple, {}));
        break;
      case 't':
        push(make_seq(Kind::kTuple, pop_mark()));
        break;
      case 0x85:
      case 0x86:
      case 0x87: {  // TUPLE1..3
        const size_t n = op - 0x84;
        if (stack_.size() < frame_start() + n)
          malformed("stack underflow");
        std::vector<PickleValue> items(std::make_move_iterator(stack_.end() - n),
                                       std::make_move_iterator(stack_.end()));
        stack_.resize(stack_.size() - n);
        push(make_seq(Kind::kTuple, std::move(items)));
        break;
      }
      case '}':
        push(make_dict());
        break;
      case 'd': {
        std::vector<PickleValue> items = pop_mark();
        PickleValue dict = make_dict();
        set_items(Access::as<DictNode>(dict), std::move(items));
        push(std::move(dict));
        break;
      }
      case 0x8f:
        push(make_set());
        break;
      case 0x91: {  // FROZENSET
        std::vector<PickleValue> items = pop_mark();
        PickleValue set = make_set();
        for (auto& v : items)
          set_add(Access::as<SetNode>(set), std::move(v));
        push(std::move(set));
        break;
      }
      case 'a': {
        PickleValue v = pop();
        list_on_top("APPEND").items.push_back(std::move(v));
        break;
      }
      case 'e': {  // APPENDS: the items after the mark go into the list just below it
        const size_t m = pop_mark_index();
        if (m <= frame_start())
          malformed("stack underflow");
        PickleValue& target = stack_[m - 1];
        if (target.kind() != Kind::kList)
          invalid(fmt::format("APPENDS on a {}, not a list", target.type_name()));
        auto& items = Access::as<SeqNode>(target).items;
        for (size_t i = m; i < stack_.size(); ++i)
          items.push_back(std::move(stack_[i]));
        stack_.resize(m);
        break;
      }
      case 's': {
        PickleValue value = pop();
        PickleValue key = pop();
        dict_set(dict_on_top("SETITEM"), std::move(key), std::move(value));
        break;
      }
      case 'u': {  // SETITEMS: key/value pairs after the mark go into the dict just below it
        const size_t m = pop_mark_index();
        if (m <= frame_start())
          malformed("stack underflow");
        PickleValue& target = stack_[m - 1];
        if (target.kind() != Kind::kDict)
          invalid(fmt::format("SETITEMS on a {}, not a dict", target.type_name()));
        if ((stack_.size() - m) % 2 != 0)
          malformed("odd number of items for a dict");
        auto& dict = Access::as<DictNode>(target);
        for (size_t i = m; i < stack_.size(); i += 2)
          dict_set(dict, std::move(stack_[i]), std::move(stack_[i + 1]));
        stack_.resize(m);
        break;
      }
      case 0x90: {  // ADDITEMS
        std::vector<PickleValue> items = pop_mark();
        PickleValue& t = top();
        if (t.kind() != Kind::kSet)
          invalid(fmt::format("ADDITEMS on a {}", t.type_name()));
        for (auto& v : items)
          set_add(Access::as<SetNode>(t), std::move(v));
        break;
      }
      // Globals and object construction.
      case 'c': {
        std::string module = read_line();
        std::string name = read_line();
        push(global(module, name));
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        PickleValue name = pop();
        PickleValue module = pop();
        if (module.kind() != Kind::kStr || name.kind() != Kind::kStr) {
          malformed("STACK_GLOBAL needs two str");
        }
        push(global(module.as_str(), name.as_str()));
        break;
      }
      case 'i': {  // INST
        std::string module = read_line();
        std::string name = read_line();
        std::vector<PickleValue> args = pop_mark();
        push(call(global(module, name), args));
        break;
      }
      case 'o': {  // OBJ
        std::vector<PickleValue> args = pop_mark();
        if (args.empty())
          malformed("OBJ without a class");
        PickleValue cls = std::move(args.front());
        args.erase(args.begin());
        push(call(cls, args));
        break;
      }
      case 'R': {
        PickleValue args = pop();
        PickleValue callable = pop();
        push(call(callable, tuple_items(args, "REDUCE")));
        break;
      }
      case 0x81: {  // NEWOBJ
        PickleValue args = pop();
        PickleValue cls = pop();
        push(new_object(cls, tuple_items(args, "NEWOBJ")));
        break;
      }
      case 0x92: {  // NEWOBJ_EX
        PickleValue kwargs = pop();
        PickleValue args = pop();
        PickleValue cls = pop();
        if (kwargs.kind() != Kind::kDict || !kwargs.dict_items().empty()) {
          invalid("NEWOBJ_EX with keyword arguments is not supported");
        }
        push(new_object(cls, tuple_items(args, "NEWOBJ_EX")));
        break;
      }
      case 'b': {
        PickleValue state = pop();
        build(top(), state);
        break;
      }
      case 'P':
        push(persistent(make_text(Kind::kStr, read_line())));
        break;
      case 'Q':
        push(persistent(pop()));
        break;
      case 0x82:
      case 0x83:
      case 0x84:
        invalid("pickle uses copyreg extension codes (EXT1/2/4), which are not supported");
      default:
        malformed(fmt::format("unknown opcode 0x{:02x}", op));
    }
  }

  // ----- argument parsing --------------------------------------------------------------------
  uint64_t parse_memo_index(const std::string& line) {
    int64_t v = 0;
    if (!parse_int64(line, v) || v < 0)
      malformed("bad memo index '" + printable(line) + "'");
    return static_cast<uint64_t>(v);
  }
  PickleValue text_int(const std::string& line) {
    if (line == "00")
      return PickleValue::make_bool(false);
    if (line == "01")
      return PickleValue::make_bool(true);
    int64_t v = 0;
    if (!parse_int64(line, v)) {
      malformed("bad or too large integer '" + printable(line) + "' (only 64-bit integers)");
    }
    return PickleValue::make_int(v);
  }
  /// LONG: decimal text with an optional trailing 'L'; beyond 64 bits it becomes a big-int token.
  PickleValue text_long(std::string line) {
    if (!line.empty() && line.back() == 'L')
      line.pop_back();
    int64_t v = 0;
    if (parse_int64(line, v))
      return PickleValue::make_int(v);
    const bool negative = !line.empty() && line[0] == '-';
    const std::string digits = line.substr(negative || (!line.empty() && line[0] == '+') ? 1 : 0);
    if (digits.empty() || digits.size() > 150 ||
        digits.find_first_not_of("0123456789") != std::string::npos) {
      malformed("bad integer '" + printable(line) + "'");
    }
    // Magnitude as little-endian bytes (schoolbook base conversion), one spare byte for the sign.
    std::vector<uint8_t> bytes(1, 0);
    for (char c : digits) {
      unsigned carry = static_cast<unsigned>(c - '0');
      for (auto& b : bytes) {
        const unsigned x = b * 10u + carry;
        b = static_cast<uint8_t>(x & 0xFF);
        carry = x >> 8;
      }
      if (carry != 0)
        bytes.push_back(static_cast<uint8_t>(carry));
    }
    bytes.push_back(0);
    if (negative) {  // two's complement
      unsigned carry = 1;
      for (auto& b : bytes) {
        const unsigned x = static_cast<uint8_t>(~b) + carry;
        b = static_cast<uint8_t>(x & 0xFF);
        carry = x >> 8;
      }
    }
    return long_from_bytes(bytes.data(), bytes.size());
  }
  PickleValue text_float(const std::string& line) {
    double d = 0;
    const char* begin = line.data();
    const char* end = begin + line.size();
    if (begin != end && *begin == '+')
      ++begin;
    const auto res = std::from_chars(begin, end, d);
    if (res.ec != std::errc() || res.ptr != end) {
      malformed("bad float '" + printable(line) + "'");
    }
    return PickleValue::make_float(d);
  }
  PickleValue binary_long(uint64_t n) { return long_from_bytes(take(n), n); }

  /// An int from little-endian two's complement bytes (LONG1 / LONG4): int64 if it fits, else a
  /// big-int token.
  PickleValue long_from_bytes(const uint8_t* p, size_t n) {
    if (n == 0)
      return PickleValue::make_int(0);
    // Strip redundant sign-extension bytes, then see whether it fits in 64 bits.
    size_t len = n;
    const bool negative = (p[n - 1] & 0x80) != 0;
    while (len > 1 && p[len - 1] == (negative ? 0xFF : 0x00) &&
           ((p[len - 2] & 0x80) != 0) == negative) {
      --len;
    }
    if (len <= 8) {
      uint64_t v = negative ? ~uint64_t{0} : 0;
      for (size_t i = len; i-- > 0;)
        v = (v << 8) | p[i];
      return PickleValue::make_int(static_cast<int64_t>(v));
    }
    if (len > 64)
      invalid(fmt::format("integer of {} bytes is too large", len));
    return make_text(Kind::kBigInt, std::string(reinterpret_cast<const char*>(p), len));
  }
  PickleValue text_value(Kind kind, uint64_t n) {
    const uint8_t* p = take(n);
    return make_text(kind, std::string(reinterpret_cast<const char*>(p), n));
  }

  /// A Python 2 str repr ('...' or "...") with backslash escapes, decoded as latin-1.
  std::string text_string(const std::string& line) {
    if (line.size() < 2 || (line[0] != '\'' && line[0] != '"') || line.back() != line[0]) {
      malformed("STRING argument is not quoted");
    }
    const std::string body = line.substr(1, line.size() - 2);
    std::string raw;
    for (size_t i = 0; i < body.size(); ++i) {
      const char c = body[i];
      if (c != '\\') {
        raw += c;
        continue;
      }
      if (++i >= body.size())
        malformed("bad escape in STRING");
      raw += unescape(body, i);
    }
    return latin1_to_utf8(reinterpret_cast<const uint8_t*>(raw.data()), raw.size());
  }

  /// The byte a backslash escape at body[i] (just after the backslash) stands for; leaves i on
  /// its last character.
  char unescape(const std::string& body, size_t& i) {
    const char c = body[i];
    switch (c) {
      case 'n':
        return '\n';
      case 'r':
        return '\r';
      case 't':
        return '\t';
      case 'a':
        return '\a';
      case 'b':
        return '\b';
      case 'f':
        return '\f';
      case 'v':
        return '\v';
      case 'x': {
        unsigned v = 0;
        if (i + 2 >= body.size())
          malformed("bad \\x escape in STRING");
        const auto res = std::from_chars(body.data() + i + 1, body.data() + i + 3, v, 16);
        if (res.ec != std::errc() || res.ptr != body.data() + i + 3) {
          malformed("bad \\x escape in STRING");
        }
        i += 2;
        return static_cast<char>(v);
      }
      default:
        break;
    }
    if (c < '0' || c > '7')
      return c;  // backslash, quotes (and unknown escapes)
    unsigned v = 0;
    size_t k = 0;
    while (k < 3 && i + k < body.size() && body[i + k] >= '0' && body[i + k] <= '7') {
      v = v * 8 + static_cast<unsigned>(body[i + k] - '0');
      ++k;
    }
    i += k - 1;
    return static_cast<char>(v & 0xFF);
  }

  /// Python's raw-unicode-escape: latin-1 bytes plus \uXXXX and \UXXXXXXXX escapes.
  std::string raw_unicode_escape(const std::string& line) {
    std::string out;
    for (size_t i = 0; i < line.size(); ++i) {
      const auto c = static_cast<unsigned char>(line[i]);
      if (c == '\\' && i + 1 < line.size() && (line[i + 1] == 'u' || line[i + 1] == 'U')) {
        const size_t digits = line[i + 1] == 'u' ? 4 : 8;
        if (i + 2 + digits > line.size())
          malformed("bad \\u escape in UNICODE");
        uint32_t cp = 0;
        const char* b = line.data() + i + 2;
        const auto res = std::from_chars(b, b + digits, cp, 16);
        if (res.ec != std::errc() || res.ptr != b + digits || cp > 0x10FFFF) {
          malformed("bad \\u escape in UNICODE");
        }
        append_utf8(out, cp);
        i += 1 + digits;
      } else {
        append_utf8(out, c);
      }
    }
    return out;
  }

  const std::vector<PickleValue>& tuple_items(const PickleValue& args, const char* op) {
    if (args.kind() != Kind::kTuple) {
      malformed(fmt::format("{} arguments are a {}, not a tuple", op, args.type_name()));
    }
    if (args.items().size() > kMaxCallArgs) {
      invalid(fmt::format("{} with {} arguments", op, args.items().size()));
    }
    return args.items();
  }

  void set_items(DictNode& dict, std::vector<PickleValue> items) {
    if (items.size() % 2 != 0)
      malformed("odd number of items for a dict");
    for (size_t i = 0; i < items.size(); i += 2) {
      dict_set(dict, std::move(items[i]), std::move(items[i + 1]));
    }
  }

  // ----- globals -----------------------------------------------------------------------------
  PickleValue global(const std::string& module, const std::string& name) {
    std::shared_ptr<GlobalNode> node = resolve_global(module, name);
    if (node == nullptr) {
      invalid(fmt::format("refusing to load global '{}' (not a CAM/checkpoint type)",
                          printable(module + "." + name, 120)));
    }
    return Access::make(Kind::kGlobal, node);
  }

  const GlobalNode& callable_global(const PickleValue& callable) {
    if (callable.kind() != Kind::kGlobal) {
      invalid(fmt::format("pickle calls a {}; only whitelisted globals can be called",
                          callable.type_name()));
    }
    return Access::as<GlobalNode>(callable);
  }

  void expect_args(const GlobalNode& g,
                   const std::vector<PickleValue>& args,
                   size_t min,
                   size_t max) {
    if (args.size() < min || args.size() > max) {
      invalid(fmt::format("{} called with {} arguments", g.name, args.size()));
    }
  }

  PickleValue call(const PickleValue& callable, const std::vector<PickleValue>& args) {
    const GlobalNode& g = callable_global(callable);
    switch (g.id) {
      case GlobalId::kNumpyReconstruct:
        expect_args(g, args, 3, 3);
        if (args[0].kind() != Kind::kGlobal ||
            Access::as<GlobalNode>(args[0]).id != GlobalId::kNumpyNdarray) {
          invalid(fmt::format("{} of a {}, not numpy.ndarray", g.name, args[0].type_name()));
        }
        return Access::make(Kind::kArray, new_array(ArrayOrigin::kNumpy));
      case GlobalId::kNumpyDType:
        return numpy_dtype(g, args);
      case GlobalId::kNumpyScalar:
        return numpy_scalar(g, args);
      case GlobalId::kNumpyFromBuffer:
        return numpy_frombuffer(g, args);
      case GlobalId::kOrderedDict:
        return ordered_dict(g, args);
      case GlobalId::kSet:
      case GlobalId::kFrozenSet:
        return python_set(g, args);
      case GlobalId::kCodecsEncode:
        return codecs_encode(g, args);
      case GlobalId::kBytes:
        return python_bytes(g, args);
      case GlobalId::kTorchRebuildTensor:
        expect_args(g, args, 4, 4);
        return rebuild_tensor(g, args);
      case GlobalId::kTorchRebuildTensorV2:
        expect_args(g, args, 6, 7);
        return rebuild_tensor(g, args);
      case GlobalId::kTorchRebuildParameter:
      case GlobalId::kTorchRebuildParameterWithState:
        expect_args(g, args, 3, 4);
        if (args[0].kind() != Kind::kArray) {
          invalid(fmt::format("{} of a {}, not a tensor", g.name, args[0].type_name()));
        }
        return args[0];
      case GlobalId::kTorchLoadFromBytes:
        return load_from_bytes(g, args);
      case GlobalId::kTorchSize:
        expect_args(g, args, 0, 1);
        if (args.empty())
          return make_seq(Kind::kTuple, {});
        if (args[0].kind() != Kind::kTuple && args[0].kind() != Kind::kList) {
          invalid(fmt::format("{} of a {}", g.name, args[0].type_name()));
        }
        charge_copies(args[0].items().size());
        return make_seq(Kind::kTuple, args[0].items());
      case GlobalId::kNumpyNdarray:
      case GlobalId::kTorchStorageType:
        break;
    }
    invalid(fmt::format("{} cannot be called here", g.name));
  }

  PickleValue new_object(const PickleValue& cls, const std::vector<PickleValue>& args) {
    const GlobalNode& g = callable_global(cls);
    if (g.id == GlobalId::kOrderedDict && args.empty())
      return make_dict();
    if ((g.id == GlobalId::kSet || g.id == GlobalId::kFrozenSet) && args.empty()) {
      return make_set();
    }
    invalid(fmt::format("cannot instantiate {} (NEWOBJ)", g.name));
  }

  PickleValue ordered_dict(const GlobalNode& g, const std::vector<PickleValue>& args) {
    expect_args(g, args, 0, 1);
    PickleValue dict = make_dict();
    if (args.empty())
      return dict;
    const Kind k = args[0].kind();
    if (k == Kind::kDict) {
      charge_copies(args[0].dict_items().size());
      for (const auto& e : args[0].dict_items())
        dict_set(Access::as<DictNode>(dict), e.first, e.second);
      return dict;
    }
    if (k != Kind::kList && k != Kind::kTuple) {
      invalid(fmt::format("{} of a {}", g.name, args[0].type_name()));
    }
    charge_copies(args[0].items().size());
    for (const auto& pair : args[0].items()) {
      if ((pair.kind() != Kind::kList && pair.kind() != Kind::kTuple) || pair.items().size() != 2) {
        invalid(fmt::format("{} of something other than (key, value) pairs", g.name));
      }
      dict_set(Access::as<DictNode>(dict), pair.items()[0], pair.items()[1]);
    }
    return dict;
  }

  PickleValue python_set(const GlobalNode& g, const std::vector<PickleValue>& args) {
    expect_args(g, args, 0, 1);
    PickleValue set = make_set();
    if (args.empty())
      return set;
    const Kind k = args[0].kind();
    if (k != Kind::kList && k != Kind::kTuple && k != Kind::kSet) {
      invalid(fmt::format("{} of a {}", g.name, args[0].type_name()));
    }
    charge_copies(args[0].items().size());
    for (const auto& v : args[0].items())
      set_add(Access::as<SetNode>(set), v);
    return set;
  }

  /// bytes() / bytearray() and bytearray(b'...'), as protocols below 3 (bytes) or 5
  /// (bytearray) write them.
  PickleValue python_bytes(const GlobalNode& g, const std::vector<PickleValue>& args) {
    expect_args(g, args, 0, 1);
    if (args.empty())
      return make_text(Kind::kBytes, "");
    if (args[0].kind() != Kind::kBytes)
      invalid(fmt::format("{} of a {}", g.name, args[0].type_name()));
    return args[0];
  }

  PickleValue codecs_encode(const GlobalNode& g, const std::vector<PickleValue>& args) {
    expect_args(g, args, 2, 2);
    if (args[0].kind() != Kind::kStr || args[1].kind() != Kind::kStr ||
        (args[1].as_str() != "latin1" && args[1].as_str() != "latin-1")) {
      invalid(fmt::format("{} is only supported as encode(str, 'latin1')", g.name));
    }
    charge_data(args[0].as_str().size());
    std::string bytes;
    if (!utf8_to_latin1(args[0].as_str(), bytes)) {
      invalid(fmt::format("{}: text is not latin-1 encodable", g.name));
    }
    return make_text(Kind::kBytes, std::move(bytes));
  }

  // ----- numpy -------------------------------------------------------------------------------
  PickleValue numpy_dtype(const GlobalNode& g, const std::vector<PickleValue>& args) {
    expect_args(g, args, 1, 3);
    if (args[0].kind() != Kind::kStr) {
      invalid(fmt::format("numpy.dtype of a {} (structured dtypes are not supported)",
                          args[0].type_name()));
    }
    auto node = std::make_shared<DTypeNode>();
    split_dtype_code(args[0].as_str(), node->code, node->byteorder);
    return Access::make(Kind::kDType, node);
  }

  const DTypeNode& dtype_arg(const PickleValue& v, const char* what) {
    if (v.kind() != Kind::kDType) {
      invalid(fmt::format("{}: expected a numpy.dtype, got {}", what, v.type_name()));
    }
    return Access::as<DTypeNode>(v);
  }

  /// The raw bytes an array payload denotes: bytes, or a str to be encoded as latin-1 (what
  /// Python 2 pickles and protocol-2 _codecs payloads give; converted into `scratch`).
  const std::string& payload_bytes(const PickleValue& v, const char* what, std::string& scratch) {
    if (v.kind() == Kind::kBytes)
      return v.as_bytes();
    if (v.kind() == Kind::kStr && utf8_to_latin1(v.as_str(), scratch))
      return scratch;
    invalid(fmt::format("{}: array data is a {}, not bytes", what, v.type_name()));
  }

  std::vector<int64_t> int_tuple(const PickleValue& v, const char* what) {
    if (v.kind() != Kind::kTuple && v.kind() != Kind::kList) {
      invalid(fmt::format("{} is a {}, not a tuple of ints", what, v.type_name()));
    }
    if (v.items().size() > kMaxDims)
      invalid(fmt::format("{} has {} dimensions", what, v.items().size()));
    std::vector<int64_t> out;
    for (const auto& item : v.items()) {
      if (!item.is_int_like()) {
        invalid(fmt::format("{} holds a {}, not an int", what, item.type_name()));
      }
      out.push_back(item.as_int());
    }
    return out;
  }

  /// A C-order array from a payload (bytes) stored as `dt` in C or Fortran order. The bytes
  /// are charged to the data budget before anything is allocated.
  NDArray numeric_from_payload(const PickleValue& payload,
                               const DTypeNode& dt,
                               const std::vector<int64_t>& shape,
                               bool fortran,
                               const char* what) {
    int64_t numel = 0;
    if (!checked_numel(shape, numel)) {
      invalid(fmt::format("{}: invalid shape {}", what, shape_string(shape)));
    }
    if (is_object_code(dt.code))
      invalid(fmt::format("{}: object dtype where numbers were expected", what));
    const NpyDType type = parse_npy_descr(numpy_descr(dt), name_);
    uint64_t expected = 0;
    if (!checked_bytes(numel, dtype_size(type.dtype), expected)) {
      invalid(fmt::format("{}: shape {} is too large", what, shape_string(shape)));
    }
    std::string scratch;
    const std::string& raw = payload_bytes(payload, what, scratch);
    if (expected != raw.size()) {
      invalid(fmt::format("{}: shape {} dtype {} needs {} bytes but the pickle holds {}",
                          what,
                          shape_string(shape),
                          printable(dt.code),
                          expected,
                          raw.size()));
    }
    charge_data(expected);
    return array_from_raw(
        reinterpret_cast<const uint8_t*>(raw.data()), raw.size(), type, shape, fortran, name_);
  }

  PickleValue numpy_scalar(const GlobalNode& g, const std::vector<PickleValue>& args) {
    expect_args(g, args, 1, 2);
    const DTypeNode& dt = dtype_arg(args[0], "numpy scalar");
    if (is_object_code(dt.code)) {
      return args.size() == 2 ? args[1] : PickleValue();
    }
    if (args.size() != 2)
      invalid("numpy scalar without data");
    return numeric_array(numeric_from_payload(args[1], dt, {}, false, "numpy scalar"),
                         ArrayOrigin::kNumpy);
  }

  PickleValue numpy_frombuffer(const GlobalNode& g, const std::vector<PickleValue>& args) {
    expect_args(g, args, 4, 4);
    const DTypeNode& dt = dtype_arg(args[1], "numpy _frombuffer");
    const std::vector<int64_t> shape = int_tuple(args[2], "numpy _frombuffer shape");
    if (args[3].kind() != Kind::kStr || (args[3].as_str() != "C" && args[3].as_str() != "F")) {
      invalid("numpy _frombuffer order must be 'C' or 'F'");
    }
    return numeric_array(
        numeric_from_payload(args[0], dt, shape, args[3].as_str() == "F", "numpy _frombuffer"),
        ArrayOrigin::kNumpy);
  }

  void build(PickleValue& obj, const PickleValue& state) {
    const Kind raw = Access::raw_kind(obj);
    if (raw == Kind::kArray) {
      auto& node = Access::as<ArrayNode>(obj);
      if (node.state != ArrayNode::State::kPending)
        invalid("BUILD on an array that has its data");
      build_numpy_array(node, state);
      return;
    }
    if (raw == Kind::kDType) {
      build_numpy_dtype(Access::as<DTypeNode>(obj), state);
      return;
    }
    if (raw == Kind::kDict && (state.is_none() || state.kind() == Kind::kDict)) {
      // An OrderedDict's instance attributes (a state dict's `_metadata` of module versions):
      // already decoded through the whitelist, and not part of the mapping, so dropped.
      return;
    }
    invalid(fmt::format("BUILD (setstate) on a {} is not supported", obj.type_name()));
  }

  void build_numpy_dtype(DTypeNode& dt, const PickleValue& state) {
    if (state.kind() != Kind::kTuple || state.items().size() < 2) {
      invalid("numpy.dtype state is not a tuple");
    }
    const auto& items = state.items();
    for (size_t i = 2; i < std::min<size_t>(items.size(), 5); ++i) {
      if (!items[i].is_none()) {
        invalid("structured or sub-array numpy dtypes are not supported");
      }
    }
    const PickleValue& order = items[1];
    if (order.kind() != Kind::kStr || order.as_str().size() != 1 ||
        std::strchr("<>|=", order.as_str()[0]) == nullptr) {
      invalid("numpy.dtype state has a bad byte order");
    }
    dt.byteorder = order.as_str()[0];
  }

  void build_numpy_array(ArrayNode& node, const PickleValue& state) {
    if (state.kind() != Kind::kTuple)
      invalid("numpy array state is not a tuple");
    const auto& items = state.items();
    if (items.size() != 4 && items.size() != 5) {
      invalid(fmt::format("numpy array state has {} items", items.size()));
    }
    const size_t b = items.size() - 4;  // skip the version
    const std::vector<int64_t> shape = int_tuple(items[b], "numpy array shape");
    const DTypeNode& dt = dtype_arg(items[b + 1], "numpy array");
    if (!items[b + 2].is_int_like())
      invalid("numpy array fortran flag is not a bool");
    const bool fortran = items[b + 2].as_int() != 0;
    const PickleValue& raw = items[b + 3];
    if (is_object_code(dt.code)) {
      int64_t numel = 0;
      if (!checked_numel(shape, numel))
        invalid("invalid object array shape");
      if (raw.kind() != Kind::kList || static_cast<int64_t>(raw.items().size()) != numel) {
        invalid(fmt::format(
            "object array of shape {} with a {} of data", shape_string(shape), raw.type_name()));
      }
      // numpy lists object elements in logical C order whatever the fortran flag says.
      charge_copies(raw.items().size());
      node.items = raw.items();
      node.shape = shape;
      node.state = ArrayNode::State::kObject;
      return;
    }
    node.array = numeric_from_payload(raw, dt, shape, fortran, "numpy array");
    node.state = ArrayNode::State::kNumeric;
  }

  // ----- torch -------------------------------------------------------------------------------
  PickleValue persistent(const PickleValue& pid) {
    if (!options_.persistent_load) {
      invalid("pickle has persistent ids (torch.save zip data.pkl?) but no storage provider");
    }
    PickleValue v = options_.persistent_load(pid);
    if (v.kind() == Kind::kStorage) {
      const auto& s = Access::as<StorageNode>(v);
      if (s.filled)
        view_budget_ += s.elements.nbytes();
    }
    return v;
  }

  PickleValue load_from_bytes(const GlobalNode& g, const std::vector<PickleValue>& args) {
    expect_args(g, args, 1, 1);
    if (args[0].kind() != Kind::kBytes)
      invalid(fmt::format("{} of a {}", g.name, args[0].type_name()));
    if (torch_level_ >= limits_.max_torch_nesting) {
      invalid(fmt::format("torch storages nested more than {} deep", limits_.max_torch_nesting));
    }
    const std::string& bytes = args[0].as_bytes();
    PickleValue v = load_torch_legacy_impl(reinterpret_cast<const uint8_t*>(bytes.data()),
                                           bytes.size(),
                                           name_,
                                           limits_,
                                           torch_level_ + 1);
    if (v.kind() != Kind::kStorage) {
      invalid(fmt::format("{} gave a {}, not a storage", g.name, v.type_name()));
    }
    const uint64_t nbytes = Access::as<StorageNode>(v).elements.nbytes();
    charge_data(nbytes);
    view_budget_ += nbytes;
    return v;
  }

  PickleValue rebuild_tensor(const GlobalNode& g, const std::vector<PickleValue>& args) {
    if (args[0].kind() != Kind::kStorage) {
      invalid(fmt::format("{} of a {}, not a storage", g.name, args[0].type_name()));
    }
    if (!args[1].is_int_like())
      invalid(fmt::format("{}: storage offset is not an int", g.name));
    const int64_t offset = args[1].as_int();
    std::vector<int64_t> size = int_tuple(args[2], "tensor size");
    std::vector<int64_t> stride = int_tuple(args[3], "tensor stride");
    auto storage = std::static_pointer_cast<StorageNode>(Access::shared(args[0]));
    auto node = new_array(ArrayOrigin::kTorch);
    if (storage->filled) {
      node->array = take_view(storage->elements, offset, size, stride);
      node->state = ArrayNode::State::kNumeric;
    } else {
      node->state = ArrayNode::State::kPendingView;
      node->view_storage = std::move(storage);
      node->view_offset = offset;
      node->view_size = std::move(size);
      node->view_stride = std::move(stride);
      pending_views_.push_back(node);
    }
    return Access::make(Kind::kArray, node);
  }

  NDArray take_view(const NDArray& storage,
                    int64_t offset,
                    const std::vector<int64_t>& size,
                    const std::vector<int64_t>& stride) {
    int64_t numel = 0;
    uint64_t bytes = 0;
    if (!checked_numel(size, numel) || !checked_bytes(numel, dtype_size(storage.dtype()), bytes)) {
      invalid(fmt::format("invalid tensor size {}", shape_string(size)));
    }
    if (bytes > view_budget_) {
      invalid(
          fmt::format("tensor views need more memory ({} bytes) than the storages hold "
                      "(expanded or overlapping strides?)",
                      bytes));
    }
    view_budget_ -= bytes;
    return gather_view(storage, offset, size, stride, name_);
  }

  // ----- graph check and teardown ------------------------------------------------------------
  static Node* container_of(const PickleValue& v) {
    Node* n = Access::node(v);
    return n != nullptr && n->is_container() ? n : nullptr;
  }

  /// Refuses cyclic graphs and nesting deeper than the limit (both would make destruction or
  /// any later walk recurse without bound).
  void check_graph() {
    struct Frame {
      Node* node;
      size_t next;
    };
    std::vector<Frame> path;
    for (const auto& root : containers_) {
      if (root->height != 0)
        continue;
      root->height = -1;
      path.push_back({root.get(), 0});
      while (!path.empty()) {
        Frame& f = path.back();
        if (f.next < f.node->child_count()) {
          Node* c = container_of(f.node->child(f.next++));
          if (c == nullptr || c->height > 0)
            continue;
          if (c->height == -1)
            invalid("pickle holds a self-referencing structure");
          c->height = -1;
          path.push_back({c, 0});
          continue;
        }
        int32_t h = 1;
        for (size_t i = 0; i < f.node->child_count(); ++i) {
          Node* c = container_of(f.node->child(i));
          if (c != nullptr)
            h = std::max(h, c->height + 1);
        }
        if (static_cast<size_t>(h) > limits_.max_nesting) {
          invalid(fmt::format("pickle nests containers more than {} deep", limits_.max_nesting));
        }
        f.node->height = h;
        path.pop_back();
      }
    }
  }

  /// Empties every container into one flat list before anything is released, so cycles are
  /// broken and deep chains are freed without recursion.
  void tear_down() noexcept {
    try {
      std::vector<PickleValue> graveyard;
      for (auto& node : containers_)
        node->move_children(graveyard);
      stack_.clear();
      memo_dense_.clear();
      memo_sparse_.clear();
      pending_views_.clear();
      containers_.clear();
    } catch (...) {
      // Out of memory while tearing down: give up on freeing (only leaks).
    }
  }

  const uint8_t* data_;
  size_t size_;
  const std::string& name_;
  const PickleOptions& options_;
  const PickleLimits& limits_;
  int torch_level_;
  size_t pos_ = 0;
  size_t op_pos_ = 0;
  uint64_t view_budget_;  ///< bytes tensor views may still materialize
  uint64_t data_budget_;  ///< bytes arrays built from payloads in this pickle may still take
  uint64_t copy_budget_;  ///< values that may still be copied out of shared containers
  bool ok_ = false;
  std::vector<PickleValue> stack_;
  std::vector<size_t> marks_;
  std::vector<PickleValue> memo_dense_;
  std::vector<bool> memo_present_;
  std::unordered_map<uint64_t, PickleValue> memo_sparse_;
  std::vector<std::shared_ptr<Node>> containers_;
  std::vector<std::shared_ptr<ArrayNode>> pending_views_;
};

// ---------------------------------------------------------------------------------------------
// Legacy torch.save.

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

/// Reads the storage records that follow the keys list and fills the roots, then the views.
uint64_t fill_legacy_storages(const uint8_t* data,
                              size_t size,
                              size_t& pos,
                              const std::vector<PickleValue>& keys,
                              LegacyStorages& storages,
                              const std::string& name) {
  uint64_t total = 0;
  for (const auto& key_value : keys) {
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
    uint64_t count = 0;
    for (int i = 7; i >= 0; --i)
      count = (count << 8) | data[pos + static_cast<size_t>(i)];
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
    total += root.elements.nbytes();
  }
  for (const auto& [key, root] : storages.roots) {
    PM_CHECK(root->filled, "{}: storage '{}' has no data", name, printable(key));
  }
  for (auto& [key, view] : storages.views) {
    const NDArray& base = view->root->elements;
    const TorchStorageRef& ref = view->ref;
    PM_CHECK(ref.view_offset >= 0 && ref.view_numel >= 0 && ref.view_offset <= base.numel() &&
                 ref.view_numel <= base.numel() - ref.view_offset,
             "{}: storage view '{}' lies outside its storage",
             name,
             printable(key));
    const size_t es = dtype_size(base.dtype());
    view->elements = NDArray(base.dtype(), {ref.view_numel});
    if (ref.view_numel > 0) {
      std::memcpy(view->elements.raw(),
                  base.raw() + static_cast<size_t>(ref.view_offset) * es,
                  static_cast<size_t>(ref.view_numel) * es);
    }
    view->filled = true;
    total += view->elements.nbytes();
  }
  return total;
}

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

}  // namespace

// ---------------------------------------------------------------------------------------------
// PickleValue.

PickleValue PickleValue::make_bool(bool value) {
  PickleValue v;
  v.kind_ = Kind::kBool;
  v.bool_ = value;
  v.int_ = value ? 1 : 0;
  return v;
}

PickleValue PickleValue::make_int(int64_t value) {
  PickleValue v;
  v.kind_ = Kind::kInt;
  v.int_ = value;
  return v;
}

PickleValue PickleValue::make_float(double value) {
  PickleValue v;
  v.kind_ = Kind::kFloat;
  v.float_ = value;
  return v;
}

PickleValue PickleValue::make_str(std::string text) {
  return Access::make(Kind::kStr, std::make_shared<TextNode>(std::move(text)));
}

PickleValue PickleValue::make_bytes(std::string bytes) {
  return Access::make(Kind::kBytes, std::make_shared<TextNode>(std::move(bytes)));
}

PickleValue PickleValue::make_storage(NDArray elements) {
  PM_CHECK(elements.ndim() == 1, "a torch storage must be 1-D, got {}", elements.describe());
  auto node = std::make_shared<StorageNode>();
  node->ref.dtype = elements.dtype();
  node->ref.numel = elements.numel();
  node->elements = std::move(elements);
  node->filled = true;
  return Access::make(Kind::kStorage, node);
}

PickleValue::Kind PickleValue::kind() const {
  if (kind_ == Kind::kArray &&
      static_cast<const ArrayNode*>(node_.get())->state == ArrayNode::State::kObject) {
    return Kind::kObjectArray;
  }
  return kind_;
}

std::string PickleValue::type_name() const {
  switch (kind()) {
    case Kind::kNone:
      return "None";
    case Kind::kBool:
      return "bool";
    case Kind::kInt:
    case Kind::kBigInt:
      return "int";
    case Kind::kFloat:
      return "float";
    case Kind::kStr:
      return "str";
    case Kind::kBytes:
      return "bytes";
    case Kind::kList:
      return "list";
    case Kind::kTuple:
      return "tuple";
    case Kind::kSet:
      return "set";
    case Kind::kDict:
      return "dict";
    case Kind::kArray: {
      const auto& node = static_cast<const ArrayNode&>(*node_);
      std::string base = node.origin == ArrayOrigin::kTorch ? "torch.Tensor" : "numpy.ndarray";
      if (node.state == ArrayNode::State::kNumeric)
        base += " " + node.array.describe();
      return base;
    }
    case Kind::kObjectArray:
      return "numpy.ndarray (dtype object)";
    case Kind::kStorage:
      return "torch storage";
    case Kind::kGlobal:
      return "global " + global_name();
    case Kind::kDType:
      return "numpy.dtype";
  }
  return "?";
}

bool PickleValue::is_int_like() const {
  switch (kind()) {
    case Kind::kBool:
    case Kind::kInt:
      return true;
    case Kind::kArray: {
      const auto& node = static_cast<const ArrayNode&>(*node_);
      return node.state == ArrayNode::State::kNumeric && node.array.ndim() == 0 &&
             is_integral_dtype(node.array.dtype());
    }
    default:
      return false;
  }
}

namespace {
[[noreturn]] void wrong_type(const char* expected, const PickleValue& v) {
  PM_FAIL("pickle value: expected {}, got {}", expected, v.type_name());
}
}  // namespace

bool PickleValue::as_bool() const {
  if (kind_ != Kind::kBool)
    wrong_type("bool", *this);
  return bool_;
}

int64_t PickleValue::as_int() const {
  if (kind_ == Kind::kBool || kind_ == Kind::kInt)
    return int_;
  if (kind_ == Kind::kBigInt)
    PM_FAIL("pickle value: integer does not fit in 64 bits");
  if (is_int_like()) {
    int64_t v = 0;
    if (first_as_int64(array(), v))
      return v;
    PM_FAIL("pickle value: integer does not fit in 64 bits");
  }
  wrong_type("int", *this);
}

double PickleValue::as_float() const {
  if (kind_ == Kind::kFloat)
    return float_;
  if (kind_ == Kind::kBool || kind_ == Kind::kInt)
    return static_cast<double>(int_);
  if (kind() == Kind::kArray && array().ndim() == 0)
    return array().value_at(0);
  wrong_type("float", *this);
}

const std::string& PickleValue::as_str() const {
  if (kind_ != Kind::kStr)
    wrong_type("str", *this);
  return static_cast<const TextNode&>(*node_).text;
}

const std::string& PickleValue::as_bytes() const {
  if (kind_ != Kind::kBytes)
    wrong_type("bytes", *this);
  return static_cast<const TextNode&>(*node_).text;
}

const std::string& PickleValue::bigint_bytes() const {
  if (kind_ != Kind::kBigInt)
    wrong_type("a big int", *this);
  return static_cast<const TextNode&>(*node_).text;
}

const std::vector<PickleValue>& PickleValue::items() const {
  const Kind k = kind();
  if (k != Kind::kList && k != Kind::kTuple && k != Kind::kSet && k != Kind::kObjectArray) {
    wrong_type("a list, tuple, set or object array", *this);
  }
  return static_cast<const SeqNode&>(*node_).items;
}

const std::vector<std::pair<PickleValue, PickleValue>>& PickleValue::dict_items() const {
  if (kind_ != Kind::kDict)
    wrong_type("dict", *this);
  return static_cast<const DictNode&>(*node_).entries;
}

const PickleValue* PickleValue::find(const std::string& key) const {
  if (kind_ != Kind::kDict)
    wrong_type("dict", *this);
  const auto& dict = static_cast<const DictNode&>(*node_);
  const size_t position = dict.index.find("s" + key);
  return position == KeyIndex::kNotFound ? nullptr : &dict.entries[position].second;
}

const NDArray& PickleValue::array() const {
  if (kind() != Kind::kArray)
    wrong_type("a numeric array", *this);
  const auto& node = static_cast<const ArrayNode&>(*node_);
  PM_CHECK(node.state == ArrayNode::State::kNumeric,
           "pickle value: numpy array without data (no BUILD)");
  return node.array;
}

ArrayOrigin PickleValue::array_origin() const {
  if (kind_ != Kind::kArray)
    wrong_type("an array", *this);
  return static_cast<const ArrayNode&>(*node_).origin;
}

const std::vector<int64_t>& PickleValue::object_array_shape() const {
  if (kind() != Kind::kObjectArray)
    wrong_type("an object array", *this);
  return static_cast<const ArrayNode&>(*node_).shape;
}

const NDArray& PickleValue::storage() const {
  if (kind_ != Kind::kStorage)
    wrong_type("a torch storage", *this);
  const auto& node = static_cast<const StorageNode&>(*node_);
  PM_CHECK(node.filled, "pickle value: torch storage without data");
  return node.elements;
}

const std::string& PickleValue::global_name() const {
  if (kind_ != Kind::kGlobal)
    wrong_type("a global", *this);
  return static_cast<const GlobalNode&>(*node_).name;
}

// ---------------------------------------------------------------------------------------------
// Public entry points.

PickleValue load_pickle(const uint8_t* data,
                        size_t size,
                        const std::string& name,
                        const PickleOptions& options,
                        size_t* consumed) {
  PM_CHECK(data != nullptr || size == 0, "{}: no data", name);
  static const uint8_t kEmpty = 0;
  Unpickler u(data != nullptr ? data : &kEmpty, size, name, options, 0);
  return u.run(consumed);
}

PickleValue load_torch_legacy(const uint8_t* data,
                              size_t size,
                              const std::string& name,
                              const PickleLimits& limits) {
  PM_CHECK(data != nullptr || size == 0, "{}: no data", name);
  static const uint8_t kEmpty = 0;
  return load_torch_legacy_impl(data != nullptr ? data : &kEmpty, size, name, limits, 0);
}

TorchStorageRef parse_torch_storage_ref(const PickleValue& pid, const std::string& name) {
  PM_CHECK(pid.kind() == Kind::kTuple,
           "{}: persistent id is a {}, not a storage tuple",
           name,
           pid.type_name());
  const auto& items = pid.items();
  PM_CHECK(items.size() == 5 || items.size() == 6,
           "{}: persistent id has {} items, not a torch storage id",
           name,
           items.size());
  PM_CHECK(items[0].kind() == Kind::kStr && items[0].as_str() == "storage",
           "{}: persistent id is not a torch storage",
           name);
  PM_CHECK(items[1].kind() == Kind::kGlobal &&
               Access::as<GlobalNode>(items[1]).id == GlobalId::kTorchStorageType,
           "{}: persistent id names a {}, not a storage type",
           name,
           items[1].type_name());
  PM_CHECK(items[2].kind() == Kind::kStr && items[3].kind() == Kind::kStr,
           "{}: storage key and location must be str",
           name);
  PM_CHECK(items[4].kind() == Kind::kInt && items[4].as_int() >= 0,
           "{}: storage size is not a non-negative int",
           name);
  const auto& type = Access::as<GlobalNode>(items[1]);
  TorchStorageRef ref;
  ref.dtype = type.storage_dtype;
  ref.bfloat16 = type.bfloat16;
  ref.key = items[2].as_str();
  ref.location = items[3].as_str();
  ref.numel = items[4].as_int();
  if (items.size() == 6 && !items[5].is_none()) {
    const PickleValue& view = items[5];
    PM_CHECK(view.kind() == Kind::kTuple && view.items().size() == 3 &&
                 view.items()[0].kind() == Kind::kStr && view.items()[1].kind() == Kind::kInt &&
                 view.items()[2].kind() == Kind::kInt,
             "{}: bad storage view metadata",
             name);
    ref.is_view = true;
    ref.view_key = view.items()[0].as_str();
    ref.view_offset = view.items()[1].as_int();
    ref.view_numel = view.items()[2].as_int();
  }
  return ref;
}

NDArray torch_storage_elements(const TorchStorageRef& ref,
                               const uint8_t* data,
                               size_t size,
                               const std::string& name) {
  const size_t itemsize = stored_itemsize(ref);
  PM_CHECK(ref.numel >= 0 && static_cast<uint64_t>(ref.numel) <= size / itemsize &&
               static_cast<uint64_t>(ref.numel) * itemsize == size,
           "{}: storage '{}' has {} bytes, expected {} elements of {} bytes",
           name,
           printable(ref.key),
           size,
           ref.numel,
           itemsize);
  NDArray out(ref.dtype, {ref.numel});
  if (!ref.bfloat16) {
    if (size > 0)
      std::memcpy(out.raw(), data, size);
    return out;
  }
  float* dst = out.data<float>();
  for (int64_t i = 0; i < ref.numel; ++i) {
    const uint32_t bits =
        (static_cast<uint32_t>(data[2 * i + 1]) << 24) | (static_cast<uint32_t>(data[2 * i]) << 16);
    std::memcpy(&dst[i], &bits, 4);
  }
  return out;
}

}  // namespace pm
