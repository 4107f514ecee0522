// SPDX-License-Identifier: MIT
// Decoding and encoding of .npy arrays (the header lives in npy_header.cpp).
//
// Decoding checks every size against the bytes actually present before it allocates, so a
// forged header cannot trigger a huge allocation or an out-of-bounds read. Encoding writes
// exactly what numpy 1.24's np.save writes for a C-order little-endian array.
#include <cstring>
#include <functional>
#include <limits>

#include "pseudomask/core/common/files.h"
#include "pseudomask/core/common/printable.h"
#include "pseudomask/core/io/numpy/npy.h"

namespace pm {
namespace {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "NDArray is little-endian; the .npy code assumes a little-endian host");

/// The element type of a numpy kind character ('b', 'u', 'i', 'f') and item size, or false.
bool dtype_of_kind(char kind, int itemsize, DType* dtype) {
  switch (kind) {
    case 'b':
      if (itemsize == 1)
        *dtype = DType::kBool;
      return itemsize == 1;
    case 'u':
      switch (itemsize) {
        case 1:
          *dtype = DType::kU8;
          return true;
        case 2:
          *dtype = DType::kU16;
          return true;
        case 4:
          *dtype = DType::kU32;
          return true;
        case 8:
          *dtype = DType::kU64;
          return true;
      }
      return false;
    case 'i':
      switch (itemsize) {
        case 1:
          *dtype = DType::kI8;
          return true;
        case 2:
          *dtype = DType::kI16;
          return true;
        case 4:
          *dtype = DType::kI32;
          return true;
        case 8:
          *dtype = DType::kI64;
          return true;
      }
      return false;
    case 'f':
      switch (itemsize) {
        case 2:
          *dtype = DType::kF16;
          return true;
        case 4:
          *dtype = DType::kF32;
          return true;
        case 8:
          *dtype = DType::kF64;
          return true;
      }
      return false;
  }
  return false;
}

/// numpy's dtype string of a DType, as written by np.save on a little-endian machine.
std::string npy_descr(DType dtype) {
  switch (dtype) {
    case DType::kBool:
      return "|b1";
    case DType::kU8:
      return "|u1";
    case DType::kI8:
      return "|i1";
    case DType::kU16:
      return "<u2";
    case DType::kI16:
      return "<i2";
    case DType::kU32:
      return "<u4";
    case DType::kI32:
      return "<i4";
    case DType::kU64:
      return "<u8";
    case DType::kI64:
      return "<i8";
    case DType::kF16:
      return "<f2";
    case DType::kF32:
      return "<f4";
    case DType::kF64:
      return "<f8";
  }
  PM_FAIL("npy: unknown dtype {}", static_cast<int>(dtype));
}

/// Checks that `size` bytes hold exactly `numel` items of `itemsize` bytes, without overflow.
void check_data_size(size_t size, int64_t numel, size_t itemsize, const std::string& name) {
  const uint64_t n = static_cast<uint64_t>(numel);
  if (n > std::numeric_limits<size_t>::max() / itemsize) {
    PM_FAIL("{}: truncated .npy data: expected {} items of {} bytes, found {} bytes",
            name,
            n,
            itemsize,
            size);
  }
  const size_t expected = static_cast<size_t>(n) * itemsize;
  PM_CHECK(size >= expected,
           "{}: truncated .npy data: expected {} bytes, found {}",
           name,
           expected,
           size);
  PM_CHECK(size == expected,
           "{}: .npy data has {} trailing bytes: expected {} bytes, found {}",
           name,
           size - expected,
           expected,
           size);
}

/// Copies column-major elements of width W into row-major order. Walks the output in order;
/// the innermost loop reads the input with the Fortran stride of the last axis.
template <size_t W>
void fortran_to_c(const uint8_t* src, uint8_t* dst, const std::vector<int64_t>& shape) {
  const int nd = static_cast<int>(shape.size());
  std::vector<int64_t> fstride(nd);
  int64_t stride = 1;
  for (int k = 0; k < nd; ++k) {
    fstride[k] = stride;
    stride *= shape[k];
  }
  const int64_t inner = shape[nd - 1];
  const int64_t inner_stride = fstride[nd - 1] * static_cast<int64_t>(W);
  const int64_t outer = stride / inner;
  std::vector<int64_t> idx(nd, 0);
  int64_t base = 0;  // input element offset of idx (with the last index at 0)
  for (int64_t o = 0; o < outer; ++o) {
    const uint8_t* p = src + base * static_cast<int64_t>(W);
    for (int64_t j = 0; j < inner; ++j, p += inner_stride, dst += W)
      std::memcpy(dst, p, W);
    for (int k = nd - 2; k >= 0; --k) {
      if (++idx[k] < shape[k]) {
        base += fstride[k];
        break;
      }
      base -= (shape[k] - 1) * fstride[k];
      idx[k] = 0;
    }
  }
}

void fortran_to_c(const uint8_t* src,
                  uint8_t* dst,
                  size_t itemsize,
                  const std::vector<int64_t>& shape) {
  switch (itemsize) {
    case 1:
      return fortran_to_c<1>(src, dst, shape);
    case 2:
      return fortran_to_c<2>(src, dst, shape);
    case 4:
      return fortran_to_c<4>(src, dst, shape);
    case 8:
      return fortran_to_c<8>(src, dst, shape);
  }
  PM_FAIL("npy: unsupported item size {}", itemsize);
}

/// Reverses the bytes of every element in place.
void swap_bytes(uint8_t* p, size_t nbytes, size_t itemsize) {
  if (itemsize == 2) {
    for (size_t i = 0; i < nbytes; i += 2) {
      uint16_t v;
      std::memcpy(&v, p + i, 2);
      v = __builtin_bswap16(v);
      std::memcpy(p + i, &v, 2);
    }
  } else if (itemsize == 4) {
    for (size_t i = 0; i < nbytes; i += 4) {
      uint32_t v;
      std::memcpy(&v, p + i, 4);
      v = __builtin_bswap32(v);
      std::memcpy(p + i, &v, 4);
    }
  } else if (itemsize == 8) {
    for (size_t i = 0; i < nbytes; i += 8) {
      uint64_t v;
      std::memcpy(&v, p + i, 8);
      v = __builtin_bswap64(v);
      std::memcpy(p + i, &v, 8);
    }
  }
}

/// numel of a shape, errors prefixed with `name`.
int64_t numel_of(const std::vector<int64_t>& shape, const std::string& name) {
  try {
    return shape_numel(shape);
  } catch (const Error& e) {
    PM_FAIL("{}: {}", name, e.what());
  }
}

/// Native byte order, and bools as 0/1 (numpy reads any nonzero byte as True).
void to_native_elements(NDArray& array, const NpyDType& type) {
  if (type.big_endian)
    swap_bytes(array.raw(), array.nbytes(), dtype_size(type.dtype));
  if (type.dtype == DType::kBool) {
    uint8_t* p = array.raw();
    for (size_t i = 0; i < array.nbytes(); ++i)
      p[i] = p[i] != 0;
  }
}

}  // namespace

NpyDType parse_npy_descr(const std::string& descr, const std::string& name) {
  size_t pos = 0;
  char order = '=';
  if (!descr.empty() && std::strchr("<>|=", descr[0]) != nullptr)
    order = descr[pos++];
  const std::string rest = descr.substr(pos);
  NpyDType type;
  const bool ok = rest.size() == 2 && rest[1] >= '1' && rest[1] <= '8' &&
                  dtype_of_kind(rest[0], rest[1] - '0', &type.dtype);
  PM_CHECK(ok, "{}: unsupported dtype '{}'", name, printable(descr));
  type.big_endian = order == '>' && dtype_size(type.dtype) > 1;
  return type;
}

NDArray array_from_reader(const NpyDType& type,
                          const std::vector<int64_t>& shape,
                          bool fortran_order,
                          size_t size,
                          const std::function<void(uint8_t*, size_t)>& read,
                          const std::string& name) {
  const size_t itemsize = dtype_size(type.dtype);
  check_data_size(size, numel_of(shape, name), itemsize, name);  // before allocating anything
  NDArray array(type.dtype, shape);
  if (array.nbytes() == 0)
    return array;
  if (fortran_order && array.ndim() > 1) {
    std::vector<uint8_t> column_major(array.nbytes());
    read(column_major.data(), column_major.size());
    fortran_to_c(column_major.data(), array.raw(), itemsize, shape);
  } else {
    read(array.raw(), array.nbytes());  // straight into the array's storage
  }
  to_native_elements(array, type);
  return array;
}

NDArray array_from_raw(const uint8_t* data,
                       size_t size,
                       const NpyDType& type,
                       const std::vector<int64_t>& shape,
                       bool fortran_order,
                       const std::string& name) {
  const size_t itemsize = dtype_size(type.dtype);
  check_data_size(size, numel_of(shape, name), itemsize, name);  // before allocating anything
  NDArray array(type.dtype, shape);
  if (array.nbytes() == 0)
    return array;
  if (fortran_order && array.ndim() > 1) {
    fortran_to_c(data, array.raw(), itemsize, shape);
  } else {
    std::memcpy(array.raw(), data, array.nbytes());
  }
  to_native_elements(array, type);
  return array;
}

NDArray decode_npy(const uint8_t* data, size_t size, const std::string& name) {
  const NpyHeader header = parse_npy_header(data, size, name);
  PM_CHECK(header.descr.find('O') == std::string::npos,
           "{}: holds pickled Python objects (a CAM dictionary?); read it with read_cam_file",
           name);
  const NpyDType type = parse_npy_descr(header.descr, name);
  PM_CHECK(header.data_offset <= size, "{}: truncated .npy header", name);
  return array_from_raw(data + header.data_offset,
                        size - header.data_offset,
                        type,
                        header.shape,
                        header.fortran_order,
                        name);
}

NDArray read_npy(const std::string& path) {
  const std::vector<uint8_t> bytes = read_file_bytes(path);
  return decode_npy(bytes.data(), bytes.size(), path);
}

std::vector<uint8_t> encode_npy(const NDArray& array) {
  std::vector<uint8_t> out = encode_npy_header(npy_descr(array.dtype()), array.shape());
  out.reserve(out.size() + array.nbytes());
  out.insert(out.end(), array.raw(), array.raw() + array.nbytes());
  return out;
}

void write_npy(const std::string& path, const NDArray& array) {
  write_file_atomic(path, encode_npy(array));
}

}  // namespace pm
