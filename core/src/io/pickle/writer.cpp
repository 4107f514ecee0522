// SPDX-License-Identifier: MIT
// The pickle writer: opcodes and their little-endian arguments, encoded as CPython's pickler
// encodes them.
#include "pseudomask/core/io/pickle/writer.h"

#include <limits>

#include "pseudomask/core/common/error.h"
#include "pseudomask/core/io/little_endian.h"
#include "pseudomask/core/io/pickle/opcodes.h"

namespace pm {

PickleWriter::PickleWriter(int protocol) : protocol_(protocol) {
  PM_CHECK(protocol >= 2 && protocol <= 5, "PickleWriter: protocol {} (2 to 5)", protocol);
  op(pickle_op::kProto);
  out_.push_back(static_cast<uint8_t>(protocol));
}

void PickleWriter::op(uint8_t code) {
  out_.push_back(code);
}

void PickleWriter::mark() {
  op(pickle_op::kMark);
}

void PickleWriter::none() {
  op(pickle_op::kNone);
}

void PickleWriter::boolean(bool value) {
  op(value ? pickle_op::kNewTrue : pickle_op::kNewFalse);
}

void PickleWriter::integer(int64_t value) {
  if (value >= 0 && value <= 0xFF) {
    op(pickle_op::kBinInt1);
    append_le(out_, static_cast<uint64_t>(value), 1);
  } else if (value >= 0 && value <= 0xFFFF) {
    op(pickle_op::kBinInt2);
    append_le(out_, static_cast<uint64_t>(value), 2);
  } else if (value >= std::numeric_limits<int32_t>::min() &&
             value <= std::numeric_limits<int32_t>::max()) {
    op(pickle_op::kBinInt);  // signed
    append_le(out_, static_cast<uint32_t>(static_cast<int32_t>(value)), 4);
  } else {
    // LONG1 with the shortest two's complement encoding.
    std::vector<uint8_t> digits;
    int64_t x = value;
    while (true) {
      digits.push_back(static_cast<uint8_t>(x & 0xFF));
      const bool sign = (x & 0x80) != 0;
      x >>= 8;
      if ((x == 0 && !sign) || (x == -1 && sign))
        break;
    }
    op(pickle_op::kLong1);
    append_le(out_, digits.size(), 1);
    out_.insert(out_.end(), digits.begin(), digits.end());
  }
}

void PickleWriter::str(const std::string& text) {
  PM_CHECK(text.size() <= 0xFFFFFFFFu, "PickleWriter: str of {} bytes", text.size());
  op(pickle_op::kBinUnicode);
  append_le(out_, text.size(), 4);
  out_.insert(out_.end(), text.begin(), text.end());
}

void PickleWriter::bytes(const uint8_t* data, size_t size) {
  if (size < 0x100) {
    op(pickle_op::kShortBinBytes);
    append_le(out_, size, 1);
  } else if (size <= 0xFFFFFFFFu) {
    op(pickle_op::kBinBytes);
    append_le(out_, size, 4);
  } else {
    PM_CHECK(protocol_ >= 4, "{} bytes are too large for pickle protocol {}", size, protocol_);
    op(pickle_op::kBinBytes8);
    append_le(out_, size, 8);
  }
  out_.insert(out_.end(), data, data + size);
}

void PickleWriter::global(const std::string& module, const std::string& name) {
  op(pickle_op::kGlobal);
  out_.insert(out_.end(), module.begin(), module.end());
  out_.push_back('\n');
  out_.insert(out_.end(), name.begin(), name.end());
  out_.push_back('\n');
}

void PickleWriter::small_tuple(size_t n) {
  switch (n) {
    case 0:
      op(pickle_op::kEmptyTuple);
      return;
    case 1:
      op(pickle_op::kTuple1);
      return;
    case 2:
      op(pickle_op::kTuple2);
      return;
    case 3:
      op(pickle_op::kTuple3);
      return;
    default:
      op(pickle_op::kTuple);
  }
}

uint32_t PickleWriter::memoize() {
  const uint32_t index = next_memo_++;
  if (index < 0x100) {
    op(pickle_op::kBinPut);
    append_le(out_, index, 1);
  } else {
    op(pickle_op::kLongBinPut);
    append_le(out_, index, 4);
  }
  return index;
}

void PickleWriter::get(uint32_t index) {
  if (index < 0x100) {
    op(pickle_op::kBinGet);
    append_le(out_, index, 1);
  } else {
    op(pickle_op::kLongBinGet);
    append_le(out_, index, 4);
  }
}

std::vector<uint8_t> PickleWriter::finish() {
  op(pickle_op::kStop);
  std::vector<uint8_t> pickle = std::move(out_);
  out_.clear();
  next_memo_ = 0;
  return pickle;
}

}  // namespace pm
