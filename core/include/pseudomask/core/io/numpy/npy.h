// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "pseudomask/core/common/ndarray.h"

namespace pm {

/// The parsed header of a .npy file (format versions 1.0, 2.0 and 3.0).
struct NpyHeader {
  int major_version = 1;
  std::string descr;           ///< numpy dtype string, e.g. "<f4", "|b1", "|O"
  bool fortran_order = false;  ///< data in column-major order
  std::vector<int64_t> shape;  ///< () for a 0-d array
  size_t data_offset = 0;      ///< byte offset of the data (or the pickle, for "|O") in the file
};

/// Parses the magic, version and header dict of a .npy image held in memory. `name` is used
/// in error messages ("<name>: truncated .npy header"). Never reads past `size`.
NpyHeader parse_npy_header(const uint8_t* data, size_t size, const std::string& name);

/// The header np.save writes before the C-order data of an array of dtype `descr` ("<f4",
/// "|O") and `shape`: version 1.0 (2.0 if the header needs it), the dict padded with spaces so
/// that the data start at a multiple of 64 bytes.
std::vector<uint8_t> encode_npy_header(const std::string& descr, const std::vector<int64_t>& shape);

/// A numpy dtype string ("<f4", "|b1", ">i8", "|u1", "<f2") as element type and byte order.
struct NpyDType {
  DType dtype = DType::kF32;
  bool big_endian = false;
};

/// Parses a numpy dtype string; throws "<name>: unsupported dtype '<descr>'" for anything that
/// is not a plain numeric or bool type (structured, string, object, complex, datetime).
NpyDType parse_npy_descr(const std::string& descr, const std::string& name);

/// Builds a C-order, native-endian array from raw element bytes stored in the given layout
/// (`fortran_order` = column-major). Checks that `size` equals numel · itemsize exactly.
NDArray array_from_raw(const uint8_t* data,
                       size_t size,
                       const NpyDType& type,
                       const std::vector<int64_t>& shape,
                       bool fortran_order,
                       const std::string& name);

/// array_from_raw for bytes that arrive in order through `read(dst, n)` (e.g. inflated from a
/// zip member): `size` is checked first, then the array is allocated and filled in place (C
/// order; Fortran-order data pass through one buffer).
NDArray array_from_reader(const NpyDType& type,
                          const std::vector<int64_t>& shape,
                          bool fortran_order,
                          size_t size,
                          const std::function<void(uint8_t*, size_t)>& read,
                          const std::string& name);

/// Decodes a whole .npy held in memory into a C-order native array. Every numeric dtype
/// (b1, u1..u8, i1..i8, f2, f4, f8; either byte order) in C or Fortran order is accepted.
/// Object arrays ("|O", i.e. pickles) are refused with a message pointing to the CAM reader.
NDArray decode_npy(const uint8_t* data, size_t size, const std::string& name);

/// Reads a .npy file. Errors name the file.
NDArray read_npy(const std::string& path);

/// Encodes an array as .npy bytes (version 1.0, or 2.0 if the header needs it; C order,
/// little-endian).
std::vector<uint8_t> encode_npy(const NDArray& array);

/// Writes an array to a .npy file atomically.
void write_npy(const std::string& path, const NDArray& array);

}  // namespace pm
