// SPDX-License-Identifier: MIT
// The torch globals a pickle may call: tensors rebuilt over storages (_rebuild_tensor,
// _rebuild_tensor_v2, _rebuild_parameter), storages from persistent ids or from a nested legacy
// torch.save (_load_from_bytes), and the storage types.
#include <cstring>
#include <functional>
#include <limits>

#include "machine.h"
#include "pseudomask/core/io/pickle/torch_storage.h"

namespace pm {
namespace pickle_detail {
namespace {

struct StorageType {
  const char* name;
  DType dtype;
  bool bfloat16;
};

constexpr StorageType kStorageTypes[] = {
    {"DoubleStorage", DType::kF64, false},
    {"FloatStorage", DType::kF32, false},
    {"HalfStorage", DType::kF16, false},
    {"BFloat16Storage", DType::kF32, true},
    {"LongStorage", DType::kI64, false},
    {"IntStorage", DType::kI32, false},
    {"ShortStorage", DType::kI16, false},
    {"CharStorage", DType::kI8, false},
    {"ByteStorage", DType::kU8, false},
    {"BoolStorage", DType::kBool, false},
    {"UntypedStorage", DType::kU8, false},
};

/// Checks that the view (offset, size, stride) lies inside a storage of `storage_numel`
/// elements and returns its element count.
int64_t checked_view_numel(int64_t storage_numel,
                           int64_t offset,
                           const std::vector<int64_t>& size,
                           const std::vector<int64_t>& stride,
                           const std::string& name) {
  PM_CHECK(size.size() == stride.size(),
           "{}: tensor has {} sizes but {} strides",
           name,
           size.size(),
           stride.size());
  PM_CHECK(offset >= 0, "{}: tensor has a negative storage offset {}", name, offset);
  int64_t numel = 0;
  PM_CHECK(checked_numel(size, numel), "{}: invalid tensor size {}", name, shape_string(size));
  for (int64_t s : stride)
    PM_CHECK(s >= 0, "{}: negative tensor stride {}", name, s);
  if (numel == 0)
    return 0;
  int64_t last = offset;
  for (size_t d = 0; d < size.size(); ++d) {
    const int64_t extent = size[d] - 1;
    PM_CHECK(stride[d] == 0 || extent <= (std::numeric_limits<int64_t>::max() - last) / stride[d],
             "{}: tensor view overflows",
             name);
    last += extent * stride[d];
  }
  PM_CHECK(last < storage_numel,
           "{}: tensor view (offset {}, size {}, stride {}) reaches past its storage of {} "
           "elements",
           name,
           offset,
           shape_string(size),
           shape_string(stride),
           storage_numel);
  return numel;
}

/// The C-order copy of the view (offset, size, stride) of a storage.
NDArray gather_view(const NDArray& storage,
                    int64_t offset,
                    const std::vector<int64_t>& size,
                    const std::vector<int64_t>& stride,
                    const std::string& name) {
  const int64_t numel = checked_view_numel(storage.numel(), offset, size, stride, name);
  NDArray out(storage.dtype(), size);
  if (numel == 0)
    return out;
  const size_t es = dtype_size(storage.dtype());
  const uint8_t* src = storage.raw();
  uint8_t* dst = out.raw();
  const size_t ndim = size.size();
  if (ndim == 0) {
    std::memcpy(dst, src + offset * es, es);
    return out;
  }
  // Odometer over all but the last dimension; the last one is copied in a row.
  std::vector<int64_t> idx(ndim, 0);
  const int64_t rows = numel / size[ndim - 1];
  const int64_t row_len = size[ndim - 1];
  const int64_t inner_stride = stride[ndim - 1];
  for (int64_t r = 0; r < rows; ++r) {
    int64_t base = offset;
    for (size_t d = 0; d + 1 < ndim; ++d)
      base += idx[d] * stride[d];
    if (inner_stride == 1) {
      std::memcpy(dst, src + base * es, static_cast<size_t>(row_len) * es);
      dst += row_len * es;
    } else {
      for (int64_t j = 0; j < row_len; ++j) {
        std::memcpy(dst, src + (base + j * inner_stride) * es, es);
        dst += es;
      }
    }
    for (size_t d = ndim - 1; d-- > 0;) {
      if (++idx[d] < size[d])
        break;
      idx[d] = 0;
    }
  }
  return out;
}

}  // namespace

bool find_torch_storage_type(const std::string& name, DType& dtype, bool& bfloat16) {
  for (const auto& t : kStorageTypes) {
    if (name == t.name) {
      dtype = t.dtype;
      bfloat16 = t.bfloat16;
      return true;
    }
  }
  return false;
}

size_t stored_itemsize(const TorchStorageRef& ref) {
  return ref.bfloat16 ? 2 : dtype_size(ref.dtype);
}

void Unpickler::finalize_views() {
  for (auto& node : pending_views_) {
    PM_CHECK(node->view_storage->filled,
             "{}: storage '{}' has no data",
             name_,
             printable(node->view_storage->ref.key));
    node->array = take_view(
        node->view_storage->elements, node->view_offset, node->view_size, node->view_stride);
    node->state = ArrayNode::State::kNumeric;
    node->view_storage.reset();
  }
  pending_views_.clear();
}

/// torch._utils._rebuild_parameter(tensor, requires_grad, hooks[, state]): the tensor itself.
PickleValue Unpickler::rebuild_parameter(const GlobalNode& g,
                                         const std::vector<PickleValue>& args) {
  expect_args(g, args, 3, 4);
  if (args[0].kind() != Kind::kArray) {
    invalid(fmt::format("{} of a {}, not a tensor", g.name, args[0].type_name()));
  }
  return args[0];
}

/// torch.Size(sizes): a tuple of the sizes.
PickleValue Unpickler::torch_size(const GlobalNode& g, const std::vector<PickleValue>& args) {
  expect_args(g, args, 0, 1);
  if (args.empty())
    return make_seq(Kind::kTuple, {});
  if (args[0].kind() != Kind::kTuple && args[0].kind() != Kind::kList) {
    invalid(fmt::format("{} of a {}", g.name, args[0].type_name()));
  }
  charge_copies(args[0].items().size());
  return make_seq(Kind::kTuple, args[0].items());
}

PickleValue Unpickler::persistent(const PickleValue& pid) {
  if (!options_.persistent_load) {
    invalid("pickle has persistent ids (torch.save zip data.pkl?) but no storage provider");
  }
  PickleValue v = options_.persistent_load(pid);
  if (v.kind() == Kind::kStorage) {
    const auto& s = Access::as<StorageNode>(v);
    if (s.filled)
      view_budget_ += s.elements.nbytes();
  }
  return v;
}

PickleValue Unpickler::load_from_bytes(const GlobalNode& g, const std::vector<PickleValue>& args) {
  expect_args(g, args, 1, 1);
  if (args[0].kind() != Kind::kBytes)
    invalid(fmt::format("{} of a {}", g.name, args[0].type_name()));
  if (torch_level_ >= limits_.max_torch_nesting) {
    invalid(fmt::format("torch storages nested more than {} deep", limits_.max_torch_nesting));
  }
  const std::string& bytes = args[0].as_bytes();
  PickleValue v = load_torch_legacy_impl(reinterpret_cast<const uint8_t*>(bytes.data()),
                                         bytes.size(),
                                         name_,
                                         limits_,
                                         torch_level_ + 1);
  if (v.kind() != Kind::kStorage) {
    invalid(fmt::format("{} gave a {}, not a storage", g.name, v.type_name()));
  }
  const uint64_t nbytes = Access::as<StorageNode>(v).elements.nbytes();
  charge_data(nbytes);
  view_budget_ += nbytes;
  return v;
}

PickleValue Unpickler::rebuild_tensor(const GlobalNode& g, const std::vector<PickleValue>& args) {
  if (args[0].kind() != Kind::kStorage) {
    invalid(fmt::format("{} of a {}, not a storage", g.name, args[0].type_name()));
  }
  if (!args[1].is_int_like())
    invalid(fmt::format("{}: storage offset is not an int", g.name));
  const int64_t offset = args[1].as_int();
  std::vector<int64_t> size = int_tuple(args[2], "tensor size");
  std::vector<int64_t> stride = int_tuple(args[3], "tensor stride");
  auto storage = std::static_pointer_cast<StorageNode>(Access::shared(args[0]));
  auto node = new_array(ArrayOrigin::kTorch);
  if (storage->filled) {
    node->array = take_view(storage->elements, offset, size, stride);
    node->state = ArrayNode::State::kNumeric;
  } else {
    node->state = ArrayNode::State::kPendingView;
    node->view_storage = std::move(storage);
    node->view_offset = offset;
    node->view_size = std::move(size);
    node->view_stride = std::move(stride);
    pending_views_.push_back(node);
  }
  return Access::make(Kind::kArray, node);
}

NDArray Unpickler::take_view(const NDArray& storage,
                             int64_t offset,
                             const std::vector<int64_t>& size,
                             const std::vector<int64_t>& stride) {
  int64_t numel = 0;
  uint64_t bytes = 0;
  if (!checked_numel(size, numel) || !checked_bytes(numel, dtype_size(storage.dtype()), bytes)) {
    invalid(fmt::format("invalid tensor size {}", shape_string(size)));
  }
  if (bytes > view_budget_) {
    invalid(
        fmt::format("tensor views need more memory ({} bytes) than the storages hold "
                    "(expanded or overlapping strides?)",
                    bytes));
  }
  view_budget_ -= bytes;
  return gather_view(storage, offset, size, stride, name_);
}

}  // namespace pickle_detail

using pickle_detail::Access;
using pickle_detail::GlobalId;
using pickle_detail::GlobalNode;
using pickle_detail::stored_itemsize;
using Kind = PickleValue::Kind;

TorchStorageRef parse_torch_storage_ref(const PickleValue& pid, const std::string& name) {
  PM_CHECK(pid.kind() == Kind::kTuple,
           "{}: persistent id is a {}, not a storage tuple",
           name,
           pid.type_name());
  const auto& items = pid.items();
  PM_CHECK(items.size() == 5 || items.size() == 6,
           "{}: persistent id has {} items, not a torch storage id",
           name,
           items.size());
  PM_CHECK(items[0].kind() == Kind::kStr && items[0].as_str() == "storage",
           "{}: persistent id is not a torch storage",
           name);
  PM_CHECK(items[1].kind() == Kind::kGlobal &&
               Access::as<GlobalNode>(items[1]).id == GlobalId::kTorchStorageType,
           "{}: persistent id names a {}, not a storage type",
           name,
           items[1].type_name());
  PM_CHECK(items[2].kind() == Kind::kStr && items[3].kind() == Kind::kStr,
           "{}: storage key and location must be str",
           name);
  PM_CHECK(items[4].kind() == Kind::kInt && items[4].as_int() >= 0,
           "{}: storage size is not a non-negative int",
           name);
  const auto& type = Access::as<GlobalNode>(items[1]);
  TorchStorageRef ref;
  ref.dtype = type.storage_dtype;
  ref.bfloat16 = type.bfloat16;
  ref.key = items[2].as_str();
  ref.location = items[3].as_str();
  ref.numel = items[4].as_int();
  if (items.size() == 6 && !items[5].is_none()) {
    const PickleValue& view = items[5];
    PM_CHECK(view.kind() == Kind::kTuple && view.items().size() == 3 &&
                 view.items()[0].kind() == Kind::kStr && view.items()[1].kind() == Kind::kInt &&
                 view.items()[2].kind() == Kind::kInt,
             "{}: bad storage view metadata",
             name);
    ref.is_view = true;
    ref.view_key = view.items()[0].as_str();
    ref.view_offset = view.items()[1].as_int();
    ref.view_numel = view.items()[2].as_int();
  }
  return ref;
}

NDArray torch_storage_from_reader(const TorchStorageRef& ref,
                                  uint64_t size,
                                  const std::function<void(uint8_t*, size_t)>& read,
                                  const std::string& name) {
  const size_t itemsize = stored_itemsize(ref);
  PM_CHECK(ref.numel >= 0 && static_cast<uint64_t>(ref.numel) <= size / itemsize &&
               static_cast<uint64_t>(ref.numel) * itemsize == size,
           "{}: storage '{}' has {} bytes, expected {} elements of {} bytes",
           name,
           printable(ref.key),
           size,
           ref.numel,
           itemsize);
  NDArray out(ref.dtype, {ref.numel});
  if (size == 0)
    return out;
  if (!ref.bfloat16) {
    read(out.raw(), static_cast<size_t>(size));  // straight into the array's storage
    return out;
  }
  std::vector<uint8_t> raw(static_cast<size_t>(size));
  read(raw.data(), raw.size());
  float* dst = out.data<float>();
  for (int64_t i = 0; i < ref.numel; ++i) {
    const uint32_t bits =
        (static_cast<uint32_t>(raw[2 * i + 1]) << 24) | (static_cast<uint32_t>(raw[2 * i]) << 16);
    std::memcpy(&dst[i], &bits, 4);
  }
  return out;
}

NDArray torch_storage_elements(const TorchStorageRef& ref,
                               const uint8_t* data,
                               size_t size,
                               const std::string& name) {
  return torch_storage_from_reader(
      ref, size, [data](uint8_t* dst, size_t n) { std::memcpy(dst, data, n); }, name);
}

}  // namespace pm
