// SPDX-License-Identifier: MIT
// The restricted unpickler: a pickle stack machine (protocols 0-5) that builds PickleValue
// trees and applies only whitelisted numpy / torch / collections globals, each implemented
// natively (globals.cpp, numpy_globals.cpp, torch_globals.cpp). Nothing from the input is ever
// executed. This file holds the machine's state: memo, dict/set keys, the graph check.
//
// Memory safety against hostile input:
//  - every read is bounds-checked; the stack, the MARK stack and the memo are bounded;
//  - every container the machine creates is tracked; after STOP the object graph is checked
//    for cycles and for nesting depth, and on any failure the containers are emptied into a
//    flat list before they are released, so no cycle leaks and no deep chain recurses;
//  - an array's bytes must be bytes present in the input; torch tensor views may materialize
//    at most the bytes of the storages seen plus a small slack.
#include "pseudomask/core/io/pickle/unpickler.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "machine.h"

namespace pm {
namespace pickle_detail {

bool checked_numel(const std::vector<int64_t>& shape, int64_t& numel) {
  numel = 1;
  for (int64_t d : shape) {
    if (d < 0)
      return false;
    if (d != 0 && numel > std::numeric_limits<int64_t>::max() / d)
      return false;
    numel *= d;
  }
  return true;
}

bool checked_bytes(int64_t numel, size_t itemsize, uint64_t& bytes) {
  if (numel < 0)
    return false;
  if (itemsize != 0 &&
      static_cast<uint64_t>(numel) > std::numeric_limits<uint64_t>::max() / itemsize / 2) {
    return false;
  }
  bytes = static_cast<uint64_t>(numel) * itemsize;
  return true;
}

namespace {

// Hash keys for dicts and sets: equal Python keys give equal strings (1 == True == 1.0 ==
// numpy.int64(1)). Tuples are bounded so a key cannot blow up through shared sub-tuples.

constexpr size_t kMaxTupleKeyBytes = 256;
constexpr size_t kMemoSlack = 16;  ///< how far past its end the dense memo may grow at once

bool float_key(double x, std::string& out) {
  if (std::isfinite(x) && x == std::floor(x) && std::fabs(x) < 9.2e18) {
    out += "i" + std::to_string(static_cast<int64_t>(x));
  } else {
    uint64_t bits;
    std::memcpy(&bits, &x, 8);
    out += fmt::format("f{:016x}", bits);
  }
  return true;
}

bool hash_key(const PickleValue& v, std::string& out, size_t budget) {
  switch (v.kind()) {
    case Kind::kNone:
      out += "N";
      return true;
    case Kind::kBool:
    case Kind::kInt:
      out += "i" + std::to_string(v.as_int());
      return true;
    case Kind::kFloat:
      return float_key(v.as_float(), out);
    case Kind::kBigInt:
      out += "L" + v.bigint_bytes();
      return true;
    case Kind::kStr:
      out += "s" + v.as_str();
      return true;
    case Kind::kBytes:
      out += "b" + v.as_bytes();
      return true;
    case Kind::kGlobal:
      out += "g" + v.global_name();
      return true;
    case Kind::kArray: {
      const auto& node = Access::as<ArrayNode>(v);
      if (node.state != ArrayNode::State::kNumeric || node.array.ndim() != 0)
        return false;
      const NDArray& a = node.array;
      int64_t iv = 0;
      if (first_as_int64(a, iv)) {
        out += "i" + std::to_string(iv);
        return true;
      }
      if (is_integral_dtype(a.dtype()))
        return false;  // uint64 beyond int64
      return float_key(a.value_at(0), out);
    }
    case Kind::kTuple: {
      out += "(";
      for (const auto& item : v.items()) {
        std::string sub;
        if (!hash_key(item, sub, budget))
          return false;
        out += std::to_string(sub.size()) + ":" + sub;
        if (out.size() > budget)
          return false;
      }
      out += ")";
      return out.size() <= budget;
    }
    default:
      return false;
  }
}

}  // namespace

PickleValue Unpickler::run(size_t* consumed) {
  PickleValue result = execute();
  check_graph();
  ok_ = true;
  if (consumed != nullptr)
    *consumed = pos_;
  return result;
}

void Unpickler::memo_put(uint64_t index) {
  const PickleValue& v = top();
  if (index < memo_dense_.size()) {
    memo_dense_[index] = v;
    memo_present_[index] = true;
    return;
  }
  if (memo_dense_.size() + memo_sparse_.size() >= limits_.max_memo &&
      memo_sparse_.count(index) == 0) {
    invalid(fmt::format("pickle memo exceeds {} entries", limits_.max_memo));
  }
  if (index < memo_dense_.size() + kMemoSlack) {
    memo_dense_.resize(index + 1);
    memo_present_.resize(index + 1, false);
    memo_dense_[index] = v;
    memo_present_[index] = true;
  } else {
    memo_sparse_[index] = v;
  }
}

void Unpickler::memo_get(uint64_t index) {
  if (index < memo_dense_.size() && memo_present_[index]) {
    push(memo_dense_[index]);
    return;
  }
  auto it = memo_sparse_.find(index);
  if (it == memo_sparse_.end())
    malformed(fmt::format("memo key {} not found", index));
  push(it->second);
}

std::string Unpickler::key_of(const PickleValue& key) {
  std::string hk;
  if (!hash_key(key, hk, kMaxTupleKeyBytes)) {
    invalid(fmt::format("unhashable or oversized dict/set key of type {}", key.type_name()));
  }
  return hk;
}

void Unpickler::dict_set(DictNode& dict, PickleValue key, PickleValue value) {
  std::string hk = key_of(key);
  const size_t position = dict.index.find(hk);
  if (position != KeyIndex::kNotFound) {
    dict.entries[position].second = std::move(value);
    return;
  }
  dict.index.add(std::move(hk));
  dict.entries.emplace_back(std::move(key), std::move(value));
}

void Unpickler::set_add(SetNode& set, PickleValue value) {
  std::string hk = key_of(value);
  if (set.keys.find(hk) == KeyIndex::kNotFound) {
    set.keys.add(std::move(hk));
    set.items.push_back(std::move(value));
  }
}

void Unpickler::check_graph() {
  struct Frame {
    Node* node;
    size_t next;
  };
  std::vector<Frame> path;
  for (const auto& root : containers_) {
    if (root->height != 0)
      continue;
    root->height = -1;
    path.push_back({root.get(), 0});
    while (!path.empty()) {
      Frame& f = path.back();
      if (f.next < f.node->child_count()) {
        Node* c = container_of(f.node->child(f.next++));
        if (c == nullptr || c->height > 0)
          continue;
        if (c->height == -1)
          invalid("pickle holds a self-referencing structure");
        c->height = -1;
        path.push_back({c, 0});
        continue;
      }
      int32_t h = 1;
      for (size_t i = 0; i < f.node->child_count(); ++i) {
        Node* c = container_of(f.node->child(i));
        if (c != nullptr)
          h = std::max(h, c->height + 1);
      }
      if (static_cast<size_t>(h) > limits_.max_nesting) {
        invalid(fmt::format("pickle nests containers more than {} deep", limits_.max_nesting));
      }
      f.node->height = h;
      path.pop_back();
    }
  }
}

void Unpickler::tear_down() noexcept {
  try {
    std::vector<PickleValue> graveyard;
    for (auto& node : containers_)
      node->move_children(graveyard);
    stack_.clear();
    memo_dense_.clear();
    memo_sparse_.clear();
    pending_views_.clear();
    containers_.clear();
  } catch (...) {
    // Out of memory while tearing down: give up on freeing (only leaks).
  }
}

}  // namespace pickle_detail

// ---------------------------------------------------------------------------------------------
// Public entry point.

PickleValue load_pickle(const uint8_t* data,
                        size_t size,
                        const std::string& name,
                        const PickleOptions& options,
                        size_t* consumed) {
  PM_CHECK(data != nullptr || size == 0, "{}: no data", name);
  static const uint8_t kEmpty = 0;
  pickle_detail::Unpickler u(data != nullptr ? data : &kEmpty, size, name, options, 0);
  return u.run(consumed);
}

}  // namespace pm
