// SPDX-License-Identifier: MIT
// PickleValue: scalars inline, everything else shared through the nodes of nodes.h.
#include "pseudomask/core/io/pickle/value.h"

#include <cstring>
#include <limits>

#include "machine.h"
#include "nodes.h"

namespace pm {
namespace pickle_detail {

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

}  // namespace pickle_detail

using pickle_detail::Access;
using pickle_detail::ArrayNode;
using pickle_detail::DictNode;
using pickle_detail::first_as_int64;
using pickle_detail::GlobalNode;
using pickle_detail::is_integral_dtype;
using pickle_detail::KeyIndex;
using pickle_detail::SeqNode;
using pickle_detail::StorageNode;
using pickle_detail::TextNode;
using Kind = PickleValue::Kind;

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

}  // namespace pm
