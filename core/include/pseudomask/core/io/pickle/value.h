// SPDX-License-Identifier: MIT
#pragma once

// The values the restricted unpickler (unpickler.h) builds: Python scalars, strings,
// containers, numpy arrays, torch tensors and storages.

#include <cstddef>
#include <cstdint>
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

}  // namespace pm
