// SPDX-License-Identifier: MIT
#pragma once

// .npy files that hold a pickled Python object: np.save of a dict, as IRN's CAM files and
// cls_labels.npy are. Read with the restricted unpickler (nothing is executed), written exactly
// as numpy 1.24 writes them.

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/files.h"
#include "pseudomask/core/common/ndarray.h"
#include "pseudomask/core/io/pickle/value.h"

namespace pm {

/// The object held by a .npy of dtype object (np.save of a dict: a 0-d object array, unwrapped)
/// or by a bare pickle (protocol 2+, or a protocol 0/1 pickle starting with MARK, GLOBAL,
/// EMPTY_DICT or EMPTY_LIST). Returns false, leaving `value` alone, if the data is neither (a
/// numeric .npy, a .npz). `name` starts every error message.
bool load_npy_object(const uint8_t* data, size_t size, const std::string& name, PickleValue& value);

/// The bytes np.save writes for a dict of str → numeric array (float32 or int64 arrays, in the
/// given order): a .npy of a 0-d object array holding the dict, pickled with protocol 3 as
/// numpy 1.24 pickles it, so that np.load(path, allow_pickle=True).item() gives the dict back.
std::vector<uint8_t> encode_npy_dict(
    const std::vector<std::pair<std::string, const NDArray*>>& dict);

/// Untrusted text (a dict key, an image id) fit for a one-line message: printable() cut at 60
/// characters.
std::string printable_key(const std::string& text);

/// Runs `decode` and makes sure that every pm::Error it throws starts with "<name>:".
template <class Decode>
auto decode_named(const std::string& name, Decode&& decode) -> decltype(decode()) {
  try {
    return decode();
  } catch (const Error& e) {
    const std::string what = e.what();
    if (what.compare(0, name.size() + 1, name + ":") == 0)
      throw;
    throw Error(with_context(name, what));
  }
}

/// Writes the bytes `encode()` returns to `path` atomically; the encoder's errors get the path
/// as context.
template <class Encode>
void write_encoded(const std::string& path, Encode&& encode) {
  std::vector<uint8_t> bytes;
  try {
    bytes = encode();
  } catch (const Error& e) {
    throw Error(with_context(path, e.what()));
  }
  write_file_atomic(path, bytes);
}

}  // namespace pm
