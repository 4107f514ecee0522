// SPDX-License-Identifier: MIT
// The numpy globals a pickle may call: _reconstruct and its BUILD state (np.save of objects),
// dtype, scalar and _frombuffer, all rebuilt natively from the pickled bytes.
#include <algorithm>
#include <cstring>

#include "machine.h"
#include "pseudomask/core/io/numpy/npy.h"

namespace pm {
namespace pickle_detail {
namespace {

constexpr size_t kMaxDims = 64;  ///< numpy's own limit

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

}  // namespace

/// numpy.core.multiarray._reconstruct(numpy.ndarray, (0,), b'b'): an empty array whose BUILD
/// state brings its shape, dtype and data.
PickleValue Unpickler::numpy_reconstruct(const GlobalNode& g,
                                         const std::vector<PickleValue>& args) {
  expect_args(g, args, 3, 3);
  if (args[0].kind() != Kind::kGlobal ||
      Access::as<GlobalNode>(args[0]).id != GlobalId::kNumpyNdarray) {
    invalid(fmt::format("{} of a {}, not numpy.ndarray", g.name, args[0].type_name()));
  }
  return Access::make(Kind::kArray, new_array(ArrayOrigin::kNumpy));
}

PickleValue Unpickler::numpy_dtype(const GlobalNode& g, const std::vector<PickleValue>& args) {
  expect_args(g, args, 1, 3);
  if (args[0].kind() != Kind::kStr) {
    invalid(fmt::format("numpy.dtype of a {} (structured dtypes are not supported)",
                        args[0].type_name()));
  }
  auto node = std::make_shared<DTypeNode>();
  split_dtype_code(args[0].as_str(), node->code, node->byteorder);
  return Access::make(Kind::kDType, node);
}

const DTypeNode& Unpickler::dtype_arg(const PickleValue& v, const char* what) {
  if (v.kind() != Kind::kDType) {
    invalid(fmt::format("{}: expected a numpy.dtype, got {}", what, v.type_name()));
  }
  return Access::as<DTypeNode>(v);
}

const std::string& Unpickler::payload_bytes(const PickleValue& v,
                                            const char* what,
                                            std::string& scratch) {
  if (v.kind() == Kind::kBytes)
    return v.as_bytes();
  if (v.kind() == Kind::kStr && utf8_to_latin1(v.as_str(), scratch))
    return scratch;
  invalid(fmt::format("{}: array data is a {}, not bytes", what, v.type_name()));
}

std::vector<int64_t> Unpickler::int_tuple(const PickleValue& v, const char* what) {
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

NDArray Unpickler::numeric_from_payload(const PickleValue& payload,
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

PickleValue Unpickler::numpy_scalar(const GlobalNode& g, const std::vector<PickleValue>& args) {
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

PickleValue Unpickler::numpy_frombuffer(const GlobalNode& g, const std::vector<PickleValue>& args) {
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

void Unpickler::build_numpy_dtype(DTypeNode& dt, const PickleValue& state) {
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

void Unpickler::build_numpy_array(ArrayNode& node, const PickleValue& state) {
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

}  // namespace pickle_detail
}  // namespace pm
