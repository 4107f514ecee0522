// SPDX-License-Identifier: MIT
// Private to core/src/io: the restricted unpickler's stack machine. Its opcodes are implemented by
// family (opcodes.cpp, text_arguments.cpp), the globals it rebuilds by origin (globals.cpp for
// builtins and collections, numpy_globals.cpp, torch_globals.cpp); io/torch/legacy.cpp runs it
// over the pickles of a legacy torch.save file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "nodes.h"
#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/printable.h"
#include "pseudomask/core/io/little_endian.h"
#include "pseudomask/core/io/pickle/unpickler.h"

namespace pm::pickle_detail {

using Kind = PickleValue::Kind;

/// Python 2 byte strings come back as str decoded with latin-1 (what numpy asks for).
std::string latin1_to_utf8(const uint8_t* data, size_t size);
/// str.encode('latin1'): false if the text is not valid UTF-8 or has a code point >= 256.
bool utf8_to_latin1(const std::string& text, std::string& out);
/// A decimal int64 with an optional '+'; false unless the whole text is one.
bool parse_int64(const std::string& text, int64_t& value);
bool is_integral_dtype(DType d);
/// Element 0 of an integer array as int64; false if it does not fit.
bool first_as_int64(const NDArray& a, int64_t& value);
/// numel of a shape with overflow and sanity checks; false if invalid.
bool checked_numel(const std::vector<int64_t>& shape, int64_t& numel);
/// numel * itemsize, false if it could overflow.
bool checked_bytes(int64_t numel, size_t itemsize, uint64_t& bytes);
/// The element type of a torch storage type ("FloatStorage", ...), false if it names none.
bool find_torch_storage_type(const std::string& name, DType& dtype, bool& bfloat16);
/// Bytes per stored element (2 for bfloat16).
size_t stored_itemsize(const TorchStorageRef& ref);

/// Runs one pickle, data[0, size) up to its STOP, and owns every container it builds until the
/// graph has been checked. `torch_level` counts the legacy torch.save images it is nested in.
class Unpickler {
 public:
  Unpickler(const uint8_t* data,
            size_t size,
            const std::string& name,
            const PickleOptions& options,
            int torch_level)
      : data_(data),
        size_(size),
        name_(name),
        options_(options),
        limits_(options.limits),
        torch_level_(torch_level),
        view_budget_(options.limits.tensor_slack_bytes),
        data_budget_(size + options.limits.tensor_slack_bytes),
        copy_budget_(size + 4096) {
    stack_.reserve(size >= 64 ? 32 : 4);
  }

  Unpickler(const Unpickler&) = delete;
  Unpickler& operator=(const Unpickler&) = delete;

  ~Unpickler() {
    if (!ok_)
      tear_down();
  }

  /// Runs to STOP and returns the top of the stack.
  PickleValue run(size_t* consumed);

  /// Allows views over `bytes` more storage bytes (storages filled after the pickle ran).
  void add_storage_bytes(uint64_t bytes) { view_budget_ += bytes; }

  /// Materializes tensors whose storages were filled after the pickle ran (legacy files).
  void finalize_views();

 private:
  // ----- errors ------------------------------------------------------------------------------
  [[noreturn]] void malformed(const std::string& what) const {
    throw Error(fmt::format("{}: malformed pickle at byte {}: {}", name_, op_pos_, what));
  }
  [[noreturn]] void invalid(const std::string& what) const {
    throw Error(fmt::format("{}: {}", name_, what));
  }

  // ----- input -------------------------------------------------------------------------------
  const uint8_t* take(uint64_t n) {
    if (n > size_ - pos_) {
      malformed(fmt::format("truncated (needs {} more bytes, {} left)", n, size_ - pos_));
    }
    const uint8_t* p = data_ + pos_;
    pos_ += static_cast<size_t>(n);
    return p;
  }
  uint64_t read_le(int n) { return load_le(take(static_cast<uint64_t>(n)), n); }
  int64_t read_i32() { return static_cast<int32_t>(static_cast<uint32_t>(read_le(4))); }
  std::string read_line() {
    const void* nl = std::memchr(data_ + pos_, '\n', size_ - pos_);
    if (nl == nullptr)
      malformed("truncated (text argument without newline)");
    const size_t end = static_cast<const uint8_t*>(nl) - data_;
    std::string line(reinterpret_cast<const char*>(data_ + pos_), end - pos_);
    pos_ = end + 1;
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    return line;
  }
  uint64_t read_length(int bytes) {
    const uint64_t n = read_le(bytes);
    if (n > size_ - pos_)
      malformed(fmt::format("length {} exceeds the data left", n));
    return n;
  }

  // ----- stack -------------------------------------------------------------------------------
  size_t frame_start() const { return marks_.empty() ? 0 : marks_.back(); }
  void push(PickleValue v) {
    if (stack_.size() >= limits_.max_stack) {
      invalid(fmt::format("pickle stack exceeds {} entries", limits_.max_stack));
    }
    stack_.push_back(std::move(v));
  }
  PickleValue pop() {
    if (stack_.size() <= frame_start())
      malformed("stack underflow");
    PickleValue v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }
  PickleValue& top() {
    if (stack_.size() <= frame_start())
      malformed("stack underflow");
    return stack_.back();
  }
  /// Closes the innermost MARK and returns the stack index of its first item.
  size_t pop_mark_index() {
    if (marks_.empty())
      malformed("MARK expected");
    const size_t m = marks_.back();
    marks_.pop_back();
    return m;
  }
  std::vector<PickleValue> pop_mark() {
    const size_t m = pop_mark_index();
    std::vector<PickleValue> items(std::make_move_iterator(stack_.begin() + m),
                                   std::make_move_iterator(stack_.end()));
    stack_.resize(m);
    return items;
  }

  // ----- memo --------------------------------------------------------------------------------
  // Python writes memo indices 0, 1, 2, ... in order, so they live in a vector; indices far
  // beyond its end (possible in hand-made pickles) go to a map, so no index can make the memo
  // allocate more than a few entries per opcode.
  void memo_put(uint64_t index);
  void memo_get(uint64_t index);

  // ----- object creation ---------------------------------------------------------------------
  template <class T>
  std::shared_ptr<T> new_container() {
    auto node = std::make_shared<T>();
    containers_.push_back(node);
    return node;
  }
  PickleValue make_seq(Kind kind, std::vector<PickleValue> items) {
    auto node = new_container<SeqNode>();
    node->items = std::move(items);
    return Access::make(kind, node);
  }
  PickleValue make_dict() { return Access::make(Kind::kDict, new_container<DictNode>()); }
  PickleValue make_set(Kind kind = Kind::kSet) {
    return Access::make(kind, new_container<SetNode>());
  }
  std::shared_ptr<ArrayNode> new_array(ArrayOrigin origin) {
    auto node = new_container<ArrayNode>();
    node->origin = origin;
    return node;
  }
  PickleValue numeric_array(NDArray array, ArrayOrigin origin) {
    auto node = new_array(origin);
    node->state = ArrayNode::State::kNumeric;
    node->array = std::move(array);
    return Access::make(Kind::kArray, node);
  }
  PickleValue make_text(Kind kind, std::string text) {
    return Access::make(kind, std::make_shared<TextNode>(std::move(text)));
  }

  /// Arrays built from payloads may take at most the input size (plus slack) in total, so a
  /// payload referenced many times through the memo cannot multiply memory.
  void charge_data(uint64_t bytes) {
    if (bytes > data_budget_) {
      invalid("pickle builds more array data than it holds (payloads reused through the memo?)");
    }
    data_budget_ -= bytes;
  }
  /// Copying the elements of a shared container is charged the same way.
  void charge_copies(uint64_t count) {
    if (count > copy_budget_)
      invalid("pickle copies more values than it holds");
    copy_budget_ -= count;
  }

  std::string key_of(const PickleValue& key);
  void dict_set(DictNode& dict, PickleValue key, PickleValue value);
  void set_add(SetNode& set, PickleValue value);
  DictNode& dict_on_top(const char* op) {
    PickleValue& t = top();
    if (t.kind() != Kind::kDict)
      invalid(fmt::format("{} on a {}, not a dict", op, t.type_name()));
    return Access::as<DictNode>(t);
  }
  SeqNode& list_on_top(const char* op) {
    PickleValue& t = top();
    if (t.kind() != Kind::kList)
      invalid(fmt::format("{} on a {}, not a list", op, t.type_name()));
    return Access::as<SeqNode>(t);
  }

  // ----- the opcode loop ---------------------------------------------------------------------
  PickleValue execute();
  /// Runs one opcode; each family below returns false for opcodes not its own.
  void step(uint8_t code);
  bool step_protocol_or_stack(uint8_t code);
  bool step_memo(uint8_t code);
  bool step_number(uint8_t code);
  bool step_string(uint8_t code);
  bool step_sequence(uint8_t code);
  bool step_mapping(uint8_t code);
  bool step_object(uint8_t code);
  PickleValue long4();
  PickleValue bin_float();
  PickleValue tuple_of_top(size_t n);
  void appends();
  void set_items_after_mark();
  void add_items();
  PickleValue stack_global();
  PickleValue obj();
  PickleValue new_object_ex();

  // ----- argument parsing --------------------------------------------------------------------
  uint64_t parse_memo_index(const std::string& line);
  PickleValue text_int(const std::string& line);
  /// LONG: decimal text with an optional trailing 'L'; beyond 64 bits it becomes a big-int token.
  PickleValue text_long(std::string line);
  PickleValue text_float(const std::string& line);
  PickleValue binary_long(uint64_t n) { return long_from_bytes(take(n), n); }

  /// An int from little-endian two's complement bytes (LONG1 / LONG4): int64 if it fits, else a
  /// big-int token.
  PickleValue long_from_bytes(const uint8_t* p, size_t n);
  PickleValue text_value(Kind kind, uint64_t n) {
    const uint8_t* p = take(n);
    return make_text(kind, std::string(reinterpret_cast<const char*>(p), n));
  }

  /// A Python 2 str repr ('...' or "...") with backslash escapes, decoded as latin-1.
  std::string text_string(const std::string& line);

  /// The byte a backslash escape at body[i] (just after the backslash) stands for; leaves i on
  /// its last character.
  char unescape(const std::string& body, size_t& i);

  /// Python's raw-unicode-escape: latin-1 bytes plus \uXXXX and \UXXXXXXXX escapes.
  std::string raw_unicode_escape(const std::string& line);
  const std::vector<PickleValue>& tuple_items(const PickleValue& args, const char* op);
  void set_items(DictNode& dict, std::vector<PickleValue> items);

  // ----- globals -----------------------------------------------------------------------------
  PickleValue global(const std::string& module, const std::string& name);
  const GlobalNode& callable_global(const PickleValue& callable);
  void expect_args(const GlobalNode& g,
                   const std::vector<PickleValue>& args,
                   size_t min,
                   size_t max);
  PickleValue call(const PickleValue& callable, const std::vector<PickleValue>& args);
  PickleValue new_object(const PickleValue& cls, const std::vector<PickleValue>& args);
  PickleValue ordered_dict(const GlobalNode& g, const std::vector<PickleValue>& args);
  PickleValue python_set(const GlobalNode& g, const std::vector<PickleValue>& args);

  /// bytes() / bytearray() and bytearray(b'...'), as protocols below 3 (bytes) or 5
  /// (bytearray) write them.
  PickleValue python_bytes(const GlobalNode& g, const std::vector<PickleValue>& args);
  PickleValue codecs_encode(const GlobalNode& g, const std::vector<PickleValue>& args);

  // ----- numpy -------------------------------------------------------------------------------
  PickleValue numpy_reconstruct(const GlobalNode& g, const std::vector<PickleValue>& args);
  PickleValue numpy_dtype(const GlobalNode& g, const std::vector<PickleValue>& args);
  const DTypeNode& dtype_arg(const PickleValue& v, const char* what);

  /// The raw bytes an array payload denotes: bytes, or a str to be encoded as latin-1 (what
  /// Python 2 pickles and protocol-2 _codecs payloads give; converted into `scratch`).
  const std::string& payload_bytes(const PickleValue& v, const char* what, std::string& scratch);
  std::vector<int64_t> int_tuple(const PickleValue& v, const char* what);

  /// A C-order array from a payload (bytes) stored as `dt` in C or Fortran order. The bytes
  /// are charged to the data budget before anything is allocated.
  NDArray numeric_from_payload(const PickleValue& payload,
                               const DTypeNode& dt,
                               const std::vector<int64_t>& shape,
                               bool fortran,
                               const char* what);
  PickleValue numpy_scalar(const GlobalNode& g, const std::vector<PickleValue>& args);
  PickleValue numpy_frombuffer(const GlobalNode& g, const std::vector<PickleValue>& args);
  void build(PickleValue& obj, const PickleValue& state);
  void build_numpy_dtype(DTypeNode& dt, const PickleValue& state);
  void build_numpy_array(ArrayNode& node, const PickleValue& state);

  // ----- torch -------------------------------------------------------------------------------
  PickleValue persistent(const PickleValue& pid);
  PickleValue load_from_bytes(const GlobalNode& g, const std::vector<PickleValue>& args);
  PickleValue rebuild_tensor(const GlobalNode& g, const std::vector<PickleValue>& args);
  PickleValue rebuild_parameter(const GlobalNode& g, const std::vector<PickleValue>& args);
  PickleValue torch_size(const GlobalNode& g, const std::vector<PickleValue>& args);
  NDArray take_view(const NDArray& storage,
                    int64_t offset,
                    const std::vector<int64_t>& size,
                    const std::vector<int64_t>& stride);

  // ----- graph check and teardown ------------------------------------------------------------
  static Node* container_of(const PickleValue& v) {
    Node* n = Access::node(v);
    return n != nullptr && n->is_container() ? n : nullptr;
  }

  /// Refuses cyclic graphs and nesting deeper than the limit (both would make destruction or
  /// any later walk recurse without bound).
  void check_graph();

  /// Empties every container into one flat list before anything is released, so cycles are
  /// broken and deep chains are freed without recursion.
  void tear_down() noexcept;

  const uint8_t* data_;
  size_t size_;
  const std::string& name_;
  const PickleOptions& options_;
  const PickleLimits& limits_;
  int torch_level_;
  size_t pos_ = 0;
  size_t op_pos_ = 0;
  uint64_t view_budget_;  ///< bytes tensor views may still materialize
  uint64_t data_budget_;  ///< bytes arrays built from payloads in this pickle may still take
  uint64_t copy_budget_;  ///< values that may still be copied out of shared containers
  bool ok_ = false;
  std::vector<PickleValue> stack_;
  std::vector<size_t> marks_;
  std::vector<PickleValue> memo_dense_;
  std::vector<bool> memo_present_;
  std::unordered_map<uint64_t, PickleValue> memo_sparse_;
  std::vector<std::shared_ptr<Node>> containers_;
  std::vector<std::shared_ptr<ArrayNode>> pending_views_;
};

/// The legacy torch.save reader (io/torch/legacy.cpp) at torch nesting `level`: 0 for a file,
/// one more for each torch.storage._load_from_bytes inside it.
PickleValue load_torch_legacy_impl(const uint8_t* data,
                                   size_t size,
                                   const std::string& name,
                                   const PickleLimits& limits,
                                   int level);

}  // namespace pm::pickle_detail
