// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "pseudomask/core/common/error.h"

namespace pm {

/// Element types of NDArray; they mirror the numeric numpy dtypes.
enum class DType { kBool, kU8, kI8, kU16, kI16, kU32, kI32, kU64, kI64, kF16, kF32, kF64 };

/// Bytes per element.
size_t dtype_size(DType dtype);
/// numpy's name of the dtype ("float32", "bool", ...).
const char* dtype_name(DType dtype);

template <class T>
struct DTypeOf;
template <>
struct DTypeOf<bool> {
  static constexpr DType value = DType::kBool;
};
template <>
struct DTypeOf<uint8_t> {
  static constexpr DType value = DType::kU8;
};
template <>
struct DTypeOf<int8_t> {
  static constexpr DType value = DType::kI8;
};
template <>
struct DTypeOf<uint16_t> {
  static constexpr DType value = DType::kU16;
};
template <>
struct DTypeOf<int16_t> {
  static constexpr DType value = DType::kI16;
};
template <>
struct DTypeOf<uint32_t> {
  static constexpr DType value = DType::kU32;
};
template <>
struct DTypeOf<int32_t> {
  static constexpr DType value = DType::kI32;
};
template <>
struct DTypeOf<uint64_t> {
  static constexpr DType value = DType::kU64;
};
template <>
struct DTypeOf<int64_t> {
  static constexpr DType value = DType::kI64;
};
template <>
struct DTypeOf<float> {
  static constexpr DType value = DType::kF32;
};
template <>
struct DTypeOf<double> {
  static constexpr DType value = DType::kF64;
};

/// A dense n-dimensional array in C (row-major) order, native little-endian, owning its bytes.
/// float16 elements are stored as their raw uint16 bits (DType::kF16). Readers convert
/// Fortran-order and big-endian inputs to this layout, so every NDArray is contiguous C order.
class NDArray {
 public:
  /// An empty array: shape (0,), no elements (not a 0-d array, which has one).
  NDArray() = default;
  /// Zero-filled array of the given dtype and shape.
  NDArray(DType dtype, std::vector<int64_t> shape);

  DType dtype() const { return dtype_; }
  const std::vector<int64_t>& shape() const { return shape_; }
  int64_t dim(size_t i) const { return shape_.at(i); }
  size_t ndim() const { return shape_.size(); }
  int64_t numel() const;
  /// True for the default, empty array (shape (0,)): e.g. a CAM member that is absent.
  bool empty() const { return shape_.size() == 1 && shape_[0] == 0; }
  size_t nbytes() const { return bytes_.size(); }
  /// "(21, 375, 500) float32": for error messages.
  std::string describe() const;

  uint8_t* raw() { return bytes_.data(); }
  const uint8_t* raw() const { return bytes_.data(); }

  /// Typed access; throws pm::Error if T does not match dtype().
  template <class T>
  T* data() {
    check_type(DTypeOf<T>::value);
    return reinterpret_cast<T*>(bytes_.data());
  }
  template <class T>
  const T* data() const {
    check_type(DTypeOf<T>::value);
    return reinterpret_cast<const T*>(bytes_.data());
  }

  /// Element i (flat C-order index) converted to double; works for every dtype.
  double value_at(int64_t i) const;
  /// Converts to another dtype (numpy astype semantics: float→int truncates toward zero,
  /// nonzero→true for bool, float16 via round-to-nearest-even).
  NDArray astype(DType dtype) const;
  /// All elements converted to float.
  std::vector<float> to_float_vector() const;
  /// Same bytes, new shape of equal element count.
  NDArray reshaped(std::vector<int64_t> shape) const;

  /// Builds an array from typed values.
  template <class T>
  static NDArray from(const std::vector<T>& values, std::vector<int64_t> shape) {
    NDArray a(DTypeOf<T>::value, std::move(shape));
    PM_CHECK(static_cast<size_t>(a.numel()) == values.size(),
             "NDArray::from: {} values for shape {}",
             values.size(),
             a.describe());
    if (!values.empty())
      std::memcpy(a.raw(), values.data(), values.size() * sizeof(T));
    return a;
  }

 private:
  void check_type(DType expected) const;

  DType dtype_ = DType::kF32;
  std::vector<int64_t> shape_{0};
  std::vector<uint8_t> bytes_;
};

/// Number of elements of a shape; throws on negative extents or overflow.
int64_t shape_numel(const std::vector<int64_t>& shape);
/// "(2, 3)"-style text of a shape, as numpy prints it.
std::string shape_string(const std::vector<int64_t>& shape);

}  // namespace pm
