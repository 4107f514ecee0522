// SPDX-License-Identifier: MIT
#pragma once

// The pickle writer shared by everything that writes pickles: np.save of objects (CAM files,
// cls_labels.npy; io/numpy/object_npy.h) and the data.pkl of torch.save checkpoints
// (io/torch/checkpoint.h). It emits opcodes one by one, as CPython's pickler does for the same
// objects; what is memoized is the caller's choice (memoize() / get()), so callers can match
// CPython's memo exactly or write none.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace pm {

class PickleWriter {
 public:
  /// Starts the pickle with PROTO `protocol` (2 to 5).
  explicit PickleWriter(int protocol);

  /// Writes one opcode with no argument (see pickle/opcodes.h).
  void op(uint8_t code);
  void mark();
  void none();
  void boolean(bool value);
  /// BININT1, BININT2, BININT or LONG1 (shortest two's complement), as CPython chooses.
  void integer(int64_t value);
  /// BINUNICODE: UTF-8 text with a 4-byte length.
  void str(const std::string& text);
  /// SHORT_BINBYTES or BINBYTES (BINBYTES8 from protocol 4 on).
  void bytes(const uint8_t* data, size_t size);
  /// GLOBAL "module\nname\n".
  void global(const std::string& module, const std::string& name);
  /// A tuple of the last `n` objects: EMPTY_TUPLE, TUPLE1..3, or TUPLE from the last MARK for
  /// more (the MARK must have been written before them).
  void small_tuple(size_t n);
  /// Memoizes the object just written under the next index (BINPUT, LONG_BINPUT) and returns
  /// the index.
  uint32_t memoize();
  /// Pushes the memoized object `index` again (BINGET, LONG_BINGET).
  void get(uint32_t index);

  /// Writes STOP and returns the pickle; the writer is left empty.
  std::vector<uint8_t> finish();

 private:
  int protocol_;
  std::vector<uint8_t> out_;
  uint32_t next_memo_ = 0;
};

}  // namespace pm
