// SPDX-License-Identifier: MIT
#include "pseudomask/core/common/ndarray.h"

#include <cmath>
#include <limits>

#include "pseudomask/core/common/half.h"

namespace pm {

size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::kBool:
    case DType::kU8:
    case DType::kI8:
      return 1;
    case DType::kU16:
    case DType::kI16:
    case DType::kF16:
      return 2;
    case DType::kU32:
    case DType::kI32:
    case DType::kF32:
      return 4;
    case DType::kU64:
    case DType::kI64:
    case DType::kF64:
      return 8;
  }
  return 0;
}

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::kBool:
      return "bool";
    case DType::kU8:
      return "uint8";
    case DType::kI8:
      return "int8";
    case DType::kU16:
      return "uint16";
    case DType::kI16:
      return "int16";
    case DType::kU32:
      return "uint32";
    case DType::kI32:
      return "int32";
    case DType::kU64:
      return "uint64";
    case DType::kI64:
      return "int64";
    case DType::kF16:
      return "float16";
    case DType::kF32:
      return "float32";
    case DType::kF64:
      return "float64";
  }
  return "?";
}

int64_t shape_numel(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    PM_CHECK(d >= 0, "negative extent {} in shape {}", d, shape_string(shape));
    PM_CHECK(d == 0 || n <= std::numeric_limits<int64_t>::max() / d,
             "shape {} is too large",
             shape_string(shape));
    n *= d;
  }
  return n;
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i)
      s += ", ";
    s += std::to_string(shape[i]);
  }
  if (shape.size() == 1)
    s += ",";
  return s + ")";
}

NDArray::NDArray(DType dtype, std::vector<int64_t> shape)
    : dtype_(dtype), shape_(std::move(shape)) {
  const int64_t n = shape_numel(shape_);
  PM_CHECK(static_cast<uint64_t>(n) <= std::numeric_limits<size_t>::max() / 16,
           "array of shape {} is too large",
           shape_string(shape_));
  bytes_.assign(static_cast<size_t>(n) * dtype_size(dtype), 0);
}

int64_t NDArray::numel() const {
  return shape_numel(shape_);
}

std::string NDArray::describe() const {
  return shape_string(shape_) + " " + dtype_name(dtype_);
}

void NDArray::check_type(DType expected) const {
  PM_CHECK(
      expected == dtype_, "array is {}, accessed as {}", dtype_name(dtype_), dtype_name(expected));
}

namespace {

template <class T>
T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

template <class T>
void store(uint8_t* p, T v) {
  std::memcpy(p, &v, sizeof(T));
}

// Converts a double to integer type T as numpy's astype does for in-range values (truncation);
// out-of-range and NaN values saturate instead of being undefined behaviour.
template <class T>
T saturate_cast(double v) {
  if (std::isnan(v))
    return T(0);
  if (v <= static_cast<double>(std::numeric_limits<T>::lowest()))
    return std::numeric_limits<T>::lowest();
  if (v >= static_cast<double>(std::numeric_limits<T>::max()))
    return std::numeric_limits<T>::max();
  return static_cast<T>(v);
}

void store_as(DType dtype, uint8_t* p, double v, int64_t iv, bool is_int) {
  switch (dtype) {
    case DType::kBool:
      store<uint8_t>(p, is_int ? iv != 0 : v != 0.0);
      break;
    case DType::kU8:
      store<uint8_t>(p, is_int ? static_cast<uint8_t>(iv) : saturate_cast<uint8_t>(v));
      break;
    case DType::kI8:
      store<int8_t>(p, is_int ? static_cast<int8_t>(iv) : saturate_cast<int8_t>(v));
      break;
    case DType::kU16:
      store<uint16_t>(p, is_int ? static_cast<uint16_t>(iv) : saturate_cast<uint16_t>(v));
      break;
    case DType::kI16:
      store<int16_t>(p, is_int ? static_cast<int16_t>(iv) : saturate_cast<int16_t>(v));
      break;
    case DType::kU32:
      store<uint32_t>(p, is_int ? static_cast<uint32_t>(iv) : saturate_cast<uint32_t>(v));
      break;
    case DType::kI32:
      store<int32_t>(p, is_int ? static_cast<int32_t>(iv) : saturate_cast<int32_t>(v));
      break;
    case DType::kU64:
      store<uint64_t>(p, is_int ? static_cast<uint64_t>(iv) : saturate_cast<uint64_t>(v));
      break;
    case DType::kI64:
      store<int64_t>(p, is_int ? iv : saturate_cast<int64_t>(v));
      break;
    case DType::kF16:
      store<uint16_t>(p, float_to_half(static_cast<float>(v)));
      break;
    case DType::kF32:
      store<float>(p, static_cast<float>(v));
      break;
    case DType::kF64:
      store<double>(p, v);
      break;
  }
}

bool is_integer_dtype(DType d) {
  return d != DType::kF16 && d != DType::kF32 && d != DType::kF64;
}

// Integer value of element i of an integer-typed array (exact for 64-bit values).
int64_t int_at(const NDArray& a, int64_t i) {
  const uint8_t* p = a.raw() + static_cast<size_t>(i) * dtype_size(a.dtype());
  switch (a.dtype()) {
    case DType::kBool:
      return load<uint8_t>(p) != 0;
    case DType::kU8:
      return load<uint8_t>(p);
    case DType::kI8:
      return load<int8_t>(p);
    case DType::kU16:
      return load<uint16_t>(p);
    case DType::kI16:
      return load<int16_t>(p);
    case DType::kU32:
      return load<uint32_t>(p);
    case DType::kI32:
      return load<int32_t>(p);
    case DType::kU64:
      return static_cast<int64_t>(load<uint64_t>(p));
    case DType::kI64:
      return load<int64_t>(p);
    default:
      return 0;
  }
}

}  // namespace

double NDArray::value_at(int64_t i) const {
  PM_CHECK(i >= 0 && i < numel(), "index {} out of range for {}", i, describe());
  const uint8_t* p = bytes_.data() + static_cast<size_t>(i) * dtype_size(dtype_);
  switch (dtype_) {
    case DType::kBool:
      return load<uint8_t>(p) != 0 ? 1.0 : 0.0;
    case DType::kU8:
      return load<uint8_t>(p);
    case DType::kI8:
      return load<int8_t>(p);
    case DType::kU16:
      return load<uint16_t>(p);
    case DType::kI16:
      return load<int16_t>(p);
    case DType::kU32:
      return load<uint32_t>(p);
    case DType::kI32:
      return load<int32_t>(p);
    case DType::kU64:
      return static_cast<double>(load<uint64_t>(p));
    case DType::kI64:
      return static_cast<double>(load<int64_t>(p));
    case DType::kF16:
      return half_to_float(load<uint16_t>(p));
    case DType::kF32:
      return load<float>(p);
    case DType::kF64:
      return load<double>(p);
  }
  return 0.0;
}

NDArray NDArray::astype(DType dtype) const {
  if (dtype == dtype_)
    return *this;
  NDArray out(dtype, shape_);
  const int64_t n = numel();
  const size_t step = dtype_size(dtype);
  const bool is_int = is_integer_dtype(dtype_);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t iv = is_int ? int_at(*this, i) : 0;
    store_as(
        dtype, out.raw() + static_cast<size_t>(i) * step, is_int ? 0.0 : value_at(i), iv, is_int);
  }
  return out;
}

std::vector<float> NDArray::to_float_vector() const {
  const int64_t n = numel();
  std::vector<float> out(static_cast<size_t>(n));
  if (dtype_ == DType::kF32) {
    if (n)
      std::memcpy(out.data(), bytes_.data(), bytes_.size());
    return out;
  }
  for (int64_t i = 0; i < n; ++i)
    out[static_cast<size_t>(i)] = static_cast<float>(value_at(i));
  return out;
}

NDArray NDArray::reshaped(std::vector<int64_t> shape) const {
  PM_CHECK(
      shape_numel(shape) == numel(), "cannot reshape {} to {}", describe(), shape_string(shape));
  NDArray out = *this;
  out.shape_ = std::move(shape);
  return out;
}

}  // namespace pm
