// SPDX-License-Identifier: MIT
// The opcode loop of the restricted unpickler, dispatched by family: protocol and stack, memo,
// numbers, strings and bytes, lists and tuples, dicts and sets, globals and objects. Each
// family handles its opcodes and reports the others as not its own.
#include <cstring>

#include "machine.h"
#include "pseudomask/core/io/pickle/opcodes.h"

namespace pm {
namespace pickle_detail {

namespace op = pickle_op;

PickleValue Unpickler::execute() {
  while (true) {
    op_pos_ = pos_;
    const uint8_t code = *take(1);
    if (code == op::kStop)
      return pop();
    step(code);
  }
}

void Unpickler::step(uint8_t code) {
  if (step_protocol_or_stack(code) || step_memo(code) || step_number(code) || step_string(code) ||
      step_sequence(code) || step_mapping(code) || step_object(code)) {
    return;
  }
  malformed(fmt::format("unknown opcode 0x{:02x}", code));
}

// ---------------------------------------------------------------------------------------------
// Framing, protocol and the stack.

bool Unpickler::step_protocol_or_stack(uint8_t code) {
  switch (code) {
    case op::kProto: {
      const uint8_t proto = *take(1);
      if (proto > 5)
        malformed(fmt::format("unsupported pickle protocol {}", proto));
      return true;
    }
    case op::kFrame:
      read_le(8);
      return true;
    case op::kMark:
      if (marks_.size() >= limits_.max_marks) {
        invalid(fmt::format("pickle nests more than {} MARKs", limits_.max_marks));
      }
      marks_.push_back(stack_.size());
      return true;
    case op::kPop:
      if (stack_.size() > frame_start()) {
        stack_.pop_back();
      } else {
        pop_mark();
      }
      return true;
    case op::kPopMark:
      pop_mark();
      return true;
    case op::kDup:
      push(top());
      return true;
    default:
      return false;
  }
}

// ---------------------------------------------------------------------------------------------
// The memo.

bool Unpickler::step_memo(uint8_t code) {
  switch (code) {
    case op::kPut:
      memo_put(parse_memo_index(read_line()));
      return true;
    case op::kBinPut:
      memo_put(read_le(1));
      return true;
    case op::kLongBinPut:
      memo_put(read_le(4));
      return true;
    case op::kMemoize:
      memo_put(memo_dense_.size() + memo_sparse_.size());
      return true;
    case op::kGet:
      memo_get(parse_memo_index(read_line()));
      return true;
    case op::kBinGet:
      memo_get(read_le(1));
      return true;
    case op::kLongBinGet:
      memo_get(read_le(4));
      return true;
    default:
      return false;
  }
}

// ---------------------------------------------------------------------------------------------
// None, booleans and numbers.

bool Unpickler::step_number(uint8_t code) {
  switch (code) {
    case op::kNone:
      push(PickleValue());
      return true;
    case op::kNewTrue:
      push(PickleValue::make_bool(true));
      return true;
    case op::kNewFalse:
      push(PickleValue::make_bool(false));
      return true;
    case op::kInt:
      push(text_int(read_line()));
      return true;
    case op::kBinInt:
      push(PickleValue::make_int(read_i32()));
      return true;
    case op::kBinInt1:
      push(PickleValue::make_int(static_cast<int64_t>(read_le(1))));
      return true;
    case op::kBinInt2:
      push(PickleValue::make_int(static_cast<int64_t>(read_le(2))));
      return true;
    case op::kLong:
      push(text_long(read_line()));
      return true;
    case op::kLong1:
      push(binary_long(read_length(1)));
      return true;
    case op::kLong4:
      push(long4());
      return true;
    case op::kFloat:
      push(text_float(read_line()));
      return true;
    case op::kBinFloat:
      push(bin_float());
      return true;
    default:
      return false;
  }
}

PickleValue Unpickler::long4() {
  const int64_t n = read_i32();
  if (n < 0)
    malformed("negative LONG4 length");
  if (static_cast<uint64_t>(n) > size_ - pos_)
    malformed("truncated LONG4");
  return binary_long(static_cast<uint64_t>(n));
}

/// BINFLOAT: an IEEE double, big-endian.
PickleValue Unpickler::bin_float() {
  const uint8_t* p = take(8);
  uint64_t bits = 0;
  for (int i = 0; i < 8; ++i)
    bits = (bits << 8) | p[i];
  double d;
  std::memcpy(&d, &bits, 8);
  return PickleValue::make_float(d);
}

// ---------------------------------------------------------------------------------------------
// Strings and bytes.

bool Unpickler::step_string(uint8_t code) {
  switch (code) {
    case op::kString:
      push(make_text(Kind::kStr, text_string(read_line())));
      return true;
    case op::kBinString: {  // signed 4-byte length
      const int64_t n = read_i32();
      if (n < 0)
        malformed("negative BINSTRING length");
      push(make_text(Kind::kStr,
                     latin1_to_utf8(take(static_cast<uint64_t>(n)), static_cast<size_t>(n))));
      return true;
    }
    case op::kShortBinString: {
      const uint64_t n = read_length(1);
      push(make_text(Kind::kStr, latin1_to_utf8(take(n), n)));
      return true;
    }
    case op::kUnicode:
      push(make_text(Kind::kStr, raw_unicode_escape(read_line())));
      return true;
    case op::kBinUnicode:
      push(text_value(Kind::kStr, read_length(4)));
      return true;
    case op::kShortBinUnicode:
      push(text_value(Kind::kStr, read_length(1)));
      return true;
    case op::kBinUnicode8:
      push(text_value(Kind::kStr, read_length(8)));
      return true;
    case op::kBinBytes:
      push(text_value(Kind::kBytes, read_length(4)));
      return true;
    case op::kShortBinBytes:
      push(text_value(Kind::kBytes, read_length(1)));
      return true;
    case op::kBinBytes8:
    case op::kByteArray8:
      push(text_value(Kind::kBytes, read_length(8)));
      return true;
    case op::kNextBuffer:
      invalid("pickle uses out-of-band buffers (NEXT_BUFFER), which files cannot carry");
    case op::kReadonlyBuffer:
      top();
      return true;
    default:
      return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Lists and tuples.

bool Unpickler::step_sequence(uint8_t code) {
  switch (code) {
    case op::kEmptyList:
      push(make_seq(Kind::kList, {}));
      return true;
    case op::kList:
      push(make_seq(Kind::kList, pop_mark()));
      return true;
    case op::kEmptyTuple:
      push(make_seq(Kind::kTuple, {}));
      return true;
    case op::kTuple:
      push(make_seq(Kind::kTuple, pop_mark()));
      return true;
    case op::kTuple1:
    case op::kTuple2:
    case op::kTuple3:
      push(tuple_of_top(code - op::kTuple1 + 1));
      return true;
    case op::kAppend: {
      PickleValue v = pop();
      list_on_top("APPEND").items.push_back(std::move(v));
      return true;
    }
    case op::kAppends:
      appends();
      return true;
    default:
      return false;
  }
}

/// TUPLE1..3: a tuple of the top `n` values.
PickleValue Unpickler::tuple_of_top(size_t n) {
  if (stack_.size() < frame_start() + n)
    malformed("stack underflow");
  std::vector<PickleValue> items(std::make_move_iterator(stack_.end() - n),
                                 std::make_move_iterator(stack_.end()));
  stack_.resize(stack_.size() - n);
  return make_seq(Kind::kTuple, std::move(items));
}

/// APPENDS: the items after the mark go into the list just below it.
void Unpickler::appends() {
  const size_t m = pop_mark_index();
  if (m <= frame_start())
    malformed("stack underflow");
  PickleValue& target = stack_[m - 1];
  if (target.kind() != Kind::kList)
    invalid(fmt::format("APPENDS on a {}, not a list", target.type_name()));
  auto& items = Access::as<SeqNode>(target).items;
  for (size_t i = m; i < stack_.size(); ++i)
    items.push_back(std::move(stack_[i]));
  stack_.resize(m);
}

// ---------------------------------------------------------------------------------------------
// Dicts and sets.

bool Unpickler::step_mapping(uint8_t code) {
  switch (code) {
    case op::kEmptyDict:
      push(make_dict());
      return true;
    case op::kDict: {
      std::vector<PickleValue> items = pop_mark();
      PickleValue dict = make_dict();
      set_items(Access::as<DictNode>(dict), std::move(items));
      push(std::move(dict));
      return true;
    }
    case op::kSetItem: {
      PickleValue value = pop();
      PickleValue key = pop();
      dict_set(dict_on_top("SETITEM"), std::move(key), std::move(value));
      return true;
    }
    case op::kSetItems:
      set_items_after_mark();
      return true;
    case op::kEmptySet:
      push(make_set());
      return true;
    case op::kFrozenSet: {
      std::vector<PickleValue> items = pop_mark();
      PickleValue set = make_set();
      for (auto& v : items)
        set_add(Access::as<SetNode>(set), std::move(v));
      push(std::move(set));
      return true;
    }
    case op::kAddItems:
      add_items();
      return true;
    default:
      return false;
  }
}

void Unpickler::set_items(DictNode& dict, std::vector<PickleValue> items) {
  if (items.size() % 2 != 0)
    malformed("odd number of items for a dict");
  for (size_t i = 0; i < items.size(); i += 2) {
    dict_set(dict, std::move(items[i]), std::move(items[i + 1]));
  }
}

/// SETITEMS: key/value pairs after the mark go into the dict just below it.
void Unpickler::set_items_after_mark() {
  const size_t m = pop_mark_index();
  if (m <= frame_start())
    malformed("stack underflow");
  PickleValue& target = stack_[m - 1];
  if (target.kind() != Kind::kDict)
    invalid(fmt::format("SETITEMS on a {}, not a dict", target.type_name()));
  if ((stack_.size() - m) % 2 != 0)
    malformed("odd number of items for a dict");
  auto& dict = Access::as<DictNode>(target);
  for (size_t i = m; i < stack_.size(); i += 2)
    dict_set(dict, std::move(stack_[i]), std::move(stack_[i + 1]));
  stack_.resize(m);
}

/// ADDITEMS: the items after the mark go into the set on top of the stack.
void Unpickler::add_items() {
  std::vector<PickleValue> items = pop_mark();
  PickleValue& t = top();
  if (t.kind() != Kind::kSet)
    invalid(fmt::format("ADDITEMS on a {}", t.type_name()));
  for (auto& v : items)
    set_add(Access::as<SetNode>(t), std::move(v));
}

// ---------------------------------------------------------------------------------------------
// Globals, object construction and persistent ids.

bool Unpickler::step_object(uint8_t code) {
  switch (code) {
    case op::kGlobal: {
      std::string module = read_line();
      std::string name = read_line();
      push(global(module, name));
      return true;
    }
    case op::kStackGlobal:
      push(stack_global());
      return true;
    case op::kInst: {
      std::string module = read_line();
      std::string name = read_line();
      std::vector<PickleValue> args = pop_mark();
      push(call(global(module, name), args));
      return true;
    }
    case op::kObj:
      push(obj());
      return true;
    case op::kReduce: {
      PickleValue args = pop();
      PickleValue callable = pop();
      push(call(callable, tuple_items(args, "REDUCE")));
      return true;
    }
    case op::kNewObj: {
      PickleValue args = pop();
      PickleValue cls = pop();
      push(new_object(cls, tuple_items(args, "NEWOBJ")));
      return true;
    }
    case op::kNewObjEx:
      push(new_object_ex());
      return true;
    case op::kBuild: {
      PickleValue state = pop();
      build(top(), state);
      return true;
    }
    case op::kPersId:
      push(persistent(make_text(Kind::kStr, read_line())));
      return true;
    case op::kBinPersId:
      push(persistent(pop()));
      return true;
    case op::kExt1:
    case op::kExt2:
    case op::kExt4:
      invalid("pickle uses copyreg extension codes (EXT1/2/4), which are not supported");
    default:
      return false;
  }
}

PickleValue Unpickler::stack_global() {
  PickleValue name = pop();
  PickleValue module = pop();
  if (module.kind() != Kind::kStr || name.kind() != Kind::kStr) {
    malformed("STACK_GLOBAL needs two str");
  }
  return global(module.as_str(), name.as_str());
}

/// OBJ: the class and its arguments after the mark.
PickleValue Unpickler::obj() {
  std::vector<PickleValue> args = pop_mark();
  if (args.empty())
    malformed("OBJ without a class");
  PickleValue cls = std::move(args.front());
  args.erase(args.begin());
  return call(cls, args);
}

PickleValue Unpickler::new_object_ex() {
  PickleValue kwargs = pop();
  PickleValue args = pop();
  PickleValue cls = pop();
  if (kwargs.kind() != Kind::kDict || !kwargs.dict_items().empty()) {
    invalid("NEWOBJ_EX with keyword arguments is not supported");
  }
  return new_object(cls, tuple_items(args, "NEWOBJ_EX"));
}

}  // namespace pickle_detail
}  // namespace pm
