// SPDX-License-Identifier: MIT
// .npy files holding a pickled object: reading through the restricted unpickler, and np.save of
// a dict of arrays reproduced byte for byte on the shared pickle writer.
#include "pseudomask/core/io/numpy/object_npy.h"
#include "pseudomask/core/common/printable.h"

#include <cstring>
#include <map>

#include "pseudomask/core/io/numpy/npy.h"
#include "pseudomask/core/io/pickle/opcodes.h"
#include "pseudomask/core/io/pickle/unpickler.h"
#include "pseudomask/core/io/pickle/writer.h"

namespace pm {
namespace {

using Kind = PickleValue::Kind;
namespace op = pickle_op;

constexpr uint8_t kNpyMagic[] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

bool starts_with_npy_magic(const uint8_t* data, size_t size) {
  return size >= sizeof(kNpyMagic) && std::memcmp(data, kNpyMagic, sizeof(kNpyMagic)) == 0;
}

/// Whether data looks like a bare pickle: a PROTO opcode (protocol 2+), or the MARK, GLOBAL,
/// EMPTY_DICT or EMPTY_LIST that protocol 0/1 pickles of dicts and objects start with.
bool looks_like_pickle(const uint8_t* data, size_t size) {
  if (size == 0)
    return false;
  const uint8_t first = data[0];
  return first == op::kProto || first == op::kMark || first == op::kGlobal ||
         first == op::kEmptyDict || first == op::kEmptyList;
}

/// The object np.save pickled: a 0-d object array holds it (np.save of a dict).
PickleValue unwrap_object_scalar(const PickleValue& value, const std::string& name) {
  if (value.kind() != Kind::kObjectArray)
    return value;
  PM_CHECK(value.items().size() == 1,
           "{}: holds an object array of shape {}, expected a dict",
           name,
           shape_string(value.object_array_shape()));
  return value.items()[0];
}

// ---------------------------------------------------------------------------------------------
// np.save of a dict: the objects numpy pickles, memoized where CPython's pickler memoizes them.

class NumpyPickler {
 public:
  NumpyPickler() : w_(3) {}

  /// The 0-d object array holding a dict of str → numeric array, as np.save pickles it.
  void object_scalar_of_dict(const std::vector<std::pair<std::string, const NDArray*>>& dict) {
    reconstruct_prefix();
    w_.mark();
    w_.integer(1);      // state version
    w_.small_tuple(0);  // shape ()
    dtype("O8", '|', 63);
    w_.boolean(false);      // not Fortran
    w_.op(op::kEmptyList);  // the object list
    w_.memoize();
    w_.op(op::kEmptyDict);
    w_.memoize();
    dict_items(dict);
    w_.op(op::kAppend);  // one element
    w_.op(op::kTuple);
    w_.memoize();
    w_.op(op::kBuild);
  }

  std::vector<uint8_t> finish() { return w_.finish(); }

 private:
  /// SETITEM for one entry, MARK ... SETITEMS for more.
  void dict_items(const std::vector<std::pair<std::string, const NDArray*>>& dict) {
    if (dict.size() > 1)
      w_.mark();
    for (const auto& [key, array] : dict) {
      str(key);
      numeric_array(*array);
      if (dict.size() == 1)
        w_.op(op::kSetItem);
    }
    if (dict.size() > 1)
      w_.op(op::kSetItems);
  }
  /// Emits a reference to a shared object if it was written before.
  bool reuse(const std::string& identity) {
    auto it = shared_.find(identity);
    if (it == shared_.end())
      return false;
    w_.get(it->second);
    return true;
  }
  void global(const char* module, const char* name) {
    const std::string identity = std::string("g:") + module + "." + name;
    if (reuse(identity))
      return;
    w_.global(module, name);
    shared_[identity] = w_.memoize();
  }
  /// CPython shares one-character strings, so the pickler memoizes them once.
  void str(const std::string& s) {
    const bool singleton = s.size() == 1;
    if (singleton && reuse("s:" + s))
      return;
    w_.str(s);
    const uint32_t index = w_.memoize();
    if (singleton)
      shared_["s:" + s] = index;
  }
  /// CPython shares b'' and one-byte bytes objects.
  void bytes(const uint8_t* data, size_t size) {
    const std::string content(reinterpret_cast<const char*>(data), size);
    const bool singleton = size <= 1;
    if (singleton && reuse("b:" + content))
      return;
    PM_CHECK(size <= 0xFFFFFFFFu, "CAM array of {} bytes is too large for pickle protocol 3", size);
    w_.bytes(data, size);
    const uint32_t index = w_.memoize();
    if (singleton)
      shared_["b:" + content] = index;
  }
  void tuple_of_ints(const std::vector<int64_t>& items) {
    if (items.empty()) {
      w_.small_tuple(0);
      return;
    }
    if (items.size() > 3)
      w_.mark();
    for (int64_t v : items)
      w_.integer(v);
    w_.small_tuple(items.size());
    w_.memoize();
  }
  /// numpy.dtype(code, False, True) with its BUILD state; dtypes are singletons in numpy.
  void dtype(const char* code, char byteorder, int flags) {
    const std::string identity = std::string("d:") + code;
    if (reuse(identity))
      return;
    global("numpy", "dtype");
    str(code);
    w_.boolean(false);
    w_.boolean(true);
    w_.small_tuple(3);
    w_.memoize();
    w_.op(op::kReduce);
    shared_[identity] = w_.memoize();
    w_.mark();
    w_.integer(3);
    str(std::string(1, byteorder));
    w_.none();
    w_.none();
    w_.none();
    w_.integer(-1);
    w_.integer(-1);
    w_.integer(flags);
    w_.op(op::kTuple);
    w_.memoize();
    w_.op(op::kBuild);
  }
  /// numpy.core.multiarray._reconstruct(numpy.ndarray, (0,), b'b'), memoized.
  void reconstruct_prefix() {
    global("numpy.core.multiarray", "_reconstruct");
    global("numpy", "ndarray");
    tuple_of_ints({0});
    const uint8_t b = 'b';
    bytes(&b, 1);
    w_.small_tuple(3);
    w_.memoize();
    w_.op(op::kReduce);
    w_.memoize();
  }
  void numeric_array(const NDArray& a) {
    reconstruct_prefix();
    w_.mark();
    w_.integer(1);
    tuple_of_ints(a.shape());
    if (a.dtype() == DType::kI64) {
      dtype("i8", '<', 0);
    } else {
      PM_CHECK(a.dtype() == DType::kF32, "internal: CAM pickler got {}", a.describe());
      dtype("f4", '<', 0);
    }
    w_.boolean(false);
    bytes(a.raw(), a.nbytes());
    w_.op(op::kTuple);
    w_.memoize();
    w_.op(op::kBuild);
  }

  PickleWriter w_;
  std::map<std::string, uint32_t> shared_;
};

}  // namespace

bool load_npy_object(const uint8_t* data,
                     size_t size,
                     const std::string& name,
                     PickleValue& value) {
  if (starts_with_npy_magic(data, size)) {
    const NpyHeader header = parse_npy_header(data, size, name);
    if (header.descr != "|O")
      return false;
    PM_CHECK(header.shape.empty(),
             "{}: holds an object array of shape {}, expected a dict",
             name,
             shape_string(header.shape));
    PM_CHECK(header.data_offset <= size, "{}: truncated .npy header", name);
    value = load_pickle(data + header.data_offset, size - header.data_offset, name);
  } else if (looks_like_pickle(data, size)) {
    value = load_pickle(data, size, name);
  } else {
    return false;
  }
  value = unwrap_object_scalar(value, name);
  return true;
}

std::vector<uint8_t> encode_npy_dict(
    const std::vector<std::pair<std::string, const NDArray*>>& dict) {
  NumpyPickler pickler;
  pickler.object_scalar_of_dict(dict);
  const std::vector<uint8_t> pickle = pickler.finish();
  std::vector<uint8_t> out = encode_npy_header("|O", {});
  out.insert(out.end(), pickle.begin(), pickle.end());
  return out;
}

std::string printable_key(const std::string& text) {
  return printable(text, 60);
}

}  // namespace pm
