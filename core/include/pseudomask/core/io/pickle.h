// SPDX-License-Identifier: MIT
#pragma once

// A restricted Python unpickler for the files WSSS tools write: np.save of dicts and object
// arrays, plainly pickled torch tensors (their storages carry a legacy torch.save byte string),
// legacy torch.save files and the data.pkl of torch.save zip checkpoints. It understands the
// opcodes of pickle protocols 0 to 5 but executes nothing: a global is accepted only if it is
// on a short whitelist of numpy / torch / collections names, each implemented natively here,
// and anything else is refused by name. Inputs are treated as hostile: the stack, the memo,
// the nesting depth and the bytes a file can make us allocate are all bounded.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "pseudomask/core/common/ndarray.h"

namespace pm {

namespace pickle_detail {
struct Node;
class Access;
}  // namespace pickle_detail

/// Where an array value came from.
enum class ArrayOrigin { kNumpy, kTorch };

/// A value produced by the unpickler. Scalars are held inline; strings, containers, arrays and
/// storages are shared (as in Python, an object memoized once and referenced twice is one
/// object). Values are immutable once load_pickle() has returned.
class PickleValue {
 public:
  enum class Kind : uint8_t {
    kNone,
    kBool,
    kInt,     ///< fits int64
    kBigInt,  ///< an integer beyond int64 (kept as a token, e.g. torch's magic number)
    kFloat,   ///< Python float (double)
    kStr,     ///< UTF-8 text (Python 2 byte strings are decoded as latin-1)
    kBytes,   ///< bytes or bytearray
    kList,
    kTuple,
    kSet,          ///< set or frozenset
    kDict,         ///< dict or collections.OrderedDict, in insertion order
    kArray,        ///< numeric numpy array, numpy scalar (0-d) or torch tensor: an NDArray
    kObjectArray,  ///< numpy array of dtype object (np.save of a dict is a 0-d one)
    kStorage,      ///< a torch storage: its elements as a 1-D NDArray
    kGlobal,       ///< a whitelisted global (a callable or a type) that was not applied
    kDType,        ///< a numpy dtype object
  };

  /// None.
  PickleValue() = default;

  static PickleValue make_bool(bool value);
  static PickleValue make_int(int64_t value);
  static PickleValue make_float(double value);
  static PickleValue make_str(std::string text);
  static PickleValue make_bytes(std::string bytes);
  /// A torch storage holding `elements`, a 1-D array of the storage's element type. This is
  /// what a persistent-id hook returns for ('storage', <type>, <key>, <location>, <numel>).
  static PickleValue make_storage(NDArray elements);

  Kind kind() const;
  /// Python-like type name for messages: "dict", "list", "numpy.ndarray", "torch.Tensor", ...
  std::string type_name() const;

  bool is_none() const { return kind() == Kind::kNone; }
  /// True for int, bool and 0-d integer/bool arrays (numpy integer scalars).
  bool is_int_like() const;

  /// Accessors; each throws pm::Error naming the expected and the actual type on a mismatch.
  bool as_bool() const;
  /// int, bool, or a 0-d integer/bool array (numpy integer scalar).
  int64_t as_int() const;
  /// float, int, bool, or a 0-d numeric array.
  double as_float() const;
  const std::string& as_str() const;
  const std::string& as_bytes() const;
  /// Little-endian two's complement bytes of a kBigInt.
  const std::string& bigint_bytes() const;
  /// Elements of a list, tuple, set or object array (C order).
  const std::vector<PickleValue>& items() const;
  /// Entries of a dict in insertion order.
  const std::vector<std::pair<PickleValue, PickleValue>>& dict_items() const;
  /// The value stored under the str key `key` of a dict, or nullptr.
  const PickleValue* find(const std::string& key) const;
  /// The numeric array of a kArray (C order, native endianness, any numeric dtype).
  const NDArray& array() const;
  ArrayOrigin array_origin() const;
  /// Shape of a kObjectArray.
  const std::vector<int64_t>& object_array_shape() const;
  /// Elements of a kStorage as a 1-D array.
  const NDArray& storage() const;
  /// "module.name" of a kGlobal.
  const std::string& global_name() const;

 private:
  friend class pickle_detail::Access;

  Kind kind_ = Kind::kNone;
  bool bool_ = false;
  int64_t int_ = 0;
  double float_ = 0.0;
  std::shared_ptr<pickle_detail::Node> node_;
};

/// Receives a persistent id (BINPERSID / PERSID) and returns the object it stands for, usually
/// PickleValue::make_storage(...). Throw pm::Error to refuse.
using PersistentLoadFn = std::function<PickleValue(const PickleValue& pid)>;

/// Bounds against hostile input. Allocations are otherwise linear in the input size: array
/// payloads must be bytes present in the input, and torch tensor views may materialize at most
/// the bytes of the storages seen plus `tensor_slack_bytes`.
struct PickleLimits {
  size_t max_stack = size_t{1} << 20;  ///< values on the unpickler stack
  size_t max_marks = 4096;             ///< open MARKs
  size_t max_memo = size_t{1} << 20;   ///< memo entries
  size_t max_nesting = 256;            ///< containers nested in containers
  int max_torch_nesting = 4;           ///< torch.storage._load_from_bytes inside one another
  uint64_t tensor_slack_bytes = uint64_t{1} << 20;
};

struct PickleOptions {
  /// Called for persistent ids; when empty, a pickle with persistent ids is refused.
  PersistentLoadFn persistent_load;
  PickleLimits limits;
};

/// Decodes the pickle at the start of data[0, size) up to its STOP opcode and returns the top
/// value. `name` (usually the file path) starts every error message. If `consumed` is not null
/// it receives the number of bytes read. Throws pm::Error on malformed input, on a global that
/// is not whitelisted ("<name>: refusing to load global 'os.system' (not a CAM/checkpoint
/// type)") and when a limit is exceeded.
PickleValue load_pickle(const uint8_t* data,
                        size_t size,
                        const std::string& name,
                        const PickleOptions& options = {},
                        size_t* consumed = nullptr);

/// Decodes a legacy (pre-zip, `_use_new_zipfile_serialization=False`) torch.save image: the
/// magic-number, protocol and system-info pickles, the object pickle whose storages arrive as
/// persistent ids, the list of storage keys, then per key an 8-byte little-endian element
/// count and the raw little-endian elements. Tensors come back as kArray values.
PickleValue load_torch_legacy(const uint8_t* data,
                              size_t size,
                              const std::string& name,
                              const PickleLimits& limits = {});

/// A storage reference as torch.save writes it in a persistent id:
/// ('storage', <storage type>, <key>, <location>, <numel>[, <view metadata>]).
struct TorchStorageRef {
  DType dtype = DType::kF32;  ///< element type after loading (BFloat16 storages load as float32)
  bool bfloat16 = false;      ///< the stored elements are bfloat16 (2 bytes each)
  std::string key;            ///< record name ("data/<key>" in zip files)
  std::string location;       ///< "cpu", "cuda:0", ... (ignored: everything loads to memory)
  int64_t numel = 0;          ///< element count of the (root) storage
  bool is_view = false;       ///< legacy storage views: (view_key, offset, numel) of the root
  std::string view_key;
  int64_t view_offset = 0;
  int64_t view_numel = 0;
};

/// Interprets a persistent id as a torch storage reference; throws pm::Error("<name>: ...")
/// for anything else.
TorchStorageRef parse_torch_storage_ref(const PickleValue& pid, const std::string& name);

/// Turns the raw little-endian bytes of a storage into its 1-D element array (bfloat16 is
/// widened to float32). `size` must be exactly ref.numel elements.
NDArray torch_storage_elements(const TorchStorageRef& ref,
                               const uint8_t* data,
                               size_t size,
                               const std::string& name);

}  // namespace pm
