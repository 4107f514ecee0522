// SPDX-License-Identifier: MIT
// torch.save's zip archive (PyTorch 1.6 and later): records <folder>/data.pkl and
// <folder>/data/<key>, read through the restricted unpickler with the storages loaded from
// their records; written as a protocol-2 pickle of an OrderedDict of _rebuild_tensor_v2 calls,
// as torch.save writes it, in a stored zip with 64-byte aligned records.
#include "zip_archive.h"

#include <algorithm>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include "pseudomask/core/common/printable.h"
#include "pseudomask/core/io/pickle/opcodes.h"
#include "pseudomask/core/io/pickle/torch_storage.h"
#include "pseudomask/core/io/pickle/unpickler.h"
#include "pseudomask/core/io/pickle/writer.h"
#include "pseudomask/core/io/zip/zip.h"

namespace pm {
namespace {

/// The alignment of storage records in the zip files torch.save writes.
constexpr size_t kRecordAlignment = 64;
/// The zip format version torch 1.6 to 2.x write (the reader accepts 1 to 10).
const char kZipFormatVersion[] = "3\n";

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// ---------------------------------------------------------------------------------------------
// Reading the zip layout.

/// The records of a torch.save zip archive, by name relative to the archive's folder.
class ZipRecords {
 public:
  ZipRecords(const uint8_t* data, size_t size, const std::string& name)
      : data_(data), size_(size), name_(name) {
    try {
      for (zip::ZipMember& m : zip::list_members(data, size, name)) {
        const size_t slash = m.name.find('/');
        const std::string rel = slash == std::string::npos ? m.name : m.name.substr(slash + 1);
        if (rel == "data.pkl")
          pickles_.push_back(m.name);
        const std::string member = m.name;
        PM_CHECK(members_.emplace(member, std::move(m)).second,
                 "{}: record '{}' appears twice",
                 name,
                 printable(member));
      }
    } catch (const Error& e) {
      PM_FAIL("{} (a torch.save archive cut short or corrupt?)", e.what());
    }
    check_layout();
    const size_t slash = pickles_[0].find('/');
    prefix_ = slash == std::string::npos ? "" : pickles_[0].substr(0, slash + 1);
  }

  /// The record `rel` (e.g. "data/0"), or nullptr if the archive has none.
  const zip::ZipMember* find(const std::string& rel) const {
    auto it = members_.find(prefix_ + rel);
    return it == members_.end() ? nullptr : &it->second;
  }

  zip::MemberBytes read(const zip::ZipMember& m) const {
    return zip::read_member(data_, size_, m, name_);
  }
  /// Streams a record, e.g. straight into a storage's array.
  zip::MemberReader reader(const zip::ZipMember& m) const {
    return zip::MemberReader(data_, size_, m, name_);
  }

 private:
  void check_layout() const {
    for (const auto& [member, m] : members_) {
      (void)m;
      PM_CHECK(!ends_with(member, "constants.pkl"),
               "{}: a TorchScript archive (torch.jit.save), not a torch.save checkpoint",
               name_);
    }
    PM_CHECK(!pickles_.empty(),
             "{}: a zip archive without a data.pkl record, not a torch.save checkpoint",
             name_);
    PM_CHECK(pickles_.size() == 1,
             "{}: the archive has {} data.pkl records ('{}', '{}')",
             name_,
             pickles_.size(),
             printable(pickles_[0]),
             printable(pickles_[1]));
  }

  const uint8_t* data_;
  size_t size_;
  const std::string& name_;
  std::map<std::string, zip::ZipMember> members_;
  std::vector<std::string> pickles_;
  std::string prefix_;
};

/// Storages of a zip checkpoint, read from their records the first time a persistent id names
/// them; later references to the same key (tied weights) share the storage.
class ZipStorages {
 public:
  ZipStorages(const ZipRecords& records, const std::string& name)
      : records_(records), name_(name) {}

  PickleValue load(const PickleValue& pid) {
    const TorchStorageRef ref = parse_torch_storage_ref(pid, name_);
    PM_CHECK(!ref.is_view, "{}: storage views do not occur in torch.save zip archives", name_);
    auto it = loaded_.find(ref.key);
    if (it != loaded_.end()) {
      const NDArray& seen = it->second.storage();
      PM_CHECK(seen.dtype() == ref.dtype && seen.numel() == ref.numel,
               "{}: storage '{}' is declared with two different types or sizes",
               name_,
               printable(ref.key));
      return it->second;
    }
    const zip::ZipMember* member = records_.find("data/" + ref.key);
    PM_CHECK(
        member != nullptr, "{}: storage record 'data/{}' is missing", name_, printable(ref.key));
    zip::MemberReader reader = records_.reader(*member);
    NDArray elements;
    try {
      elements = torch_storage_from_reader(
          ref, reader.size(), [&reader](uint8_t* dst, size_t n) { reader.read(dst, n); }, name_);
    } catch (const Error&) {
      reader.finish();  // a record of the wrong size or a corrupt stream is the first problem
      throw;
    }
    reader.finish();
    PickleValue storage = PickleValue::make_storage(std::move(elements));
    loaded_.emplace(ref.key, storage);
    return storage;
  }

 private:
  const ZipRecords& records_;
  const std::string& name_;
  std::unordered_map<std::string, PickleValue> loaded_;
};

/// Rejects the byte orders we cannot read (PyTorch 2.x writes a "byteorder" record).
void check_byte_order(const ZipRecords& records, const std::string& name) {
  const zip::ZipMember* member = records.find("byteorder");
  if (member == nullptr)
    return;
  const zip::MemberBytes bytes = records.read(*member);
  const std::string order(reinterpret_cast<const char*>(bytes.data), bytes.size);
  PM_CHECK(order == "little",
           "{}: byteorder '{}' is not supported (only little-endian checkpoints)",
           name,
           printable(order));
}

}  // namespace

PickleValue load_zip_checkpoint(const uint8_t* data, size_t size, const std::string& name) {
  const ZipRecords records(data, size, name);
  check_byte_order(records, name);
  const zip::MemberBytes pickle = records.read(*records.find("data.pkl"));
  ZipStorages storages(records, name);
  PickleOptions options;
  options.persistent_load = [&storages](const PickleValue& pid) { return storages.load(pid); };
  return load_pickle(pickle.data, pickle.size, name, options);
}

namespace {

// ---------------------------------------------------------------------------------------------
// Writing: a protocol-2 pickle as torch.save writes it.

/// The torch storage type that holds a dtype, or nullptr if PyTorch has none.
const char* storage_type(DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return "FloatStorage";
    case DType::kF64:
      return "DoubleStorage";
    case DType::kF16:
      return "HalfStorage";
    case DType::kI64:
      return "LongStorage";
    case DType::kI32:
      return "IntStorage";
    case DType::kI16:
      return "ShortStorage";
    case DType::kI8:
      return "CharStorage";
    case DType::kU8:
      return "ByteStorage";
    case DType::kBool:
      return "BoolStorage";
    default:
      return nullptr;
  }
}

namespace op = pickle_op;

/// A tuple of ints from MARK to TUPLE, as torch.save's sizes and strides.
void write_int_tuple(PickleWriter& w, const std::vector<int64_t>& values) {
  w.mark();
  for (int64_t v : values)
    w.integer(v);
  w.op(op::kTuple);
}

/// collections.OrderedDict(): the call; its items follow between MARK and SETITEMS.
void write_ordered_dict(PickleWriter& w) {
  w.global("collections", "OrderedDict");
  w.small_tuple(0);
  w.op(op::kReduce);
}

/// C-order strides of a shape (torch's contiguous strides: empty extents count as 1).
std::vector<int64_t> contiguous_strides(const std::vector<int64_t>& shape) {
  std::vector<int64_t> strides(shape.size(), 1);
  for (size_t d = shape.size(); d-- > 1;)
    strides[d - 1] = strides[d] * std::max<int64_t>(shape[d], 1);
  return strides;
}

/// torch._utils._rebuild_tensor_v2(storage, 0, size, stride, False, OrderedDict()) over the
/// storage record data/<key>.
void write_tensor(PickleWriter& w, const NDArray& a, const std::string& key) {
  w.global("torch._utils", "_rebuild_tensor_v2");
  w.mark();
  w.mark();  // persistent id ('storage', torch.<Type>Storage, key, 'cpu', numel)
  w.str("storage");
  w.global("torch", storage_type(a.dtype()));
  w.str(key);
  w.str("cpu");
  w.integer(a.numel());
  w.op(op::kTuple);
  w.op(op::kBinPersId);
  w.integer(0);  // storage offset
  write_int_tuple(w, a.shape());
  write_int_tuple(w, contiguous_strides(a.shape()));
  w.boolean(false);       // requires_grad
  write_ordered_dict(w);  // backward hooks
  w.op(op::kTuple);
  w.op(op::kReduce);
}

/// Refuses what torch.load could not read back; `name` starts the error messages.
void check_writable(const Checkpoint& ckpt, const std::string& name) {
  std::unordered_set<std::string> names;
  for (const auto& [tensor, array] : ckpt.tensors) {
    PM_CHECK(!tensor.empty(), "{}: a tensor has an empty name", name);
    PM_CHECK(names.insert(tensor).second, "{}: tensor '{}' appears twice", name, printable(tensor));
    PM_CHECK(storage_type(array.dtype()) != nullptr,
             "{}: tensor '{}' has dtype {}, which PyTorch cannot store",
             name,
             printable(tensor),
             dtype_name(array.dtype()));
  }
  std::unordered_set<std::string> keys;
  for (const auto& [key, value] : ckpt.metadata) {
    (void)value;
    PM_CHECK(keys.insert(key).second, "{}: metadata key '{}' appears twice", name, printable(key));
  }
}

/// data.pkl: the state dict (storage i is record data/i), wrapped with the metadata if any.
std::vector<uint8_t> encode_data_pickle(const Checkpoint& ckpt) {
  PickleWriter w(2);  // no memo: nothing is referenced twice
  const bool wrapped = !ckpt.metadata.empty();
  if (wrapped) {
    w.op(op::kEmptyDict);
    w.mark();
    w.str("state_dict");
  }
  write_ordered_dict(w);
  w.mark();
  for (size_t i = 0; i < ckpt.tensors.size(); ++i) {
    w.str(ckpt.tensors[i].first);
    write_tensor(w, ckpt.tensors[i].second, std::to_string(i));
  }
  w.op(op::kSetItems);
  if (wrapped) {
    w.str(kCheckpointMetadataKey);
    w.op(op::kEmptyDict);
    w.mark();
    for (const auto& [key, value] : ckpt.metadata) {
      w.str(key);
      w.str(value);
    }
    w.op(op::kSetItems);
    w.op(op::kSetItems);
  }
  return w.finish();
}

/// The zip archive: data.pkl, data/<i> per tensor (64-byte aligned), version and byteorder.
}  // namespace

std::vector<uint8_t> encode_zip_checkpoint(const Checkpoint& ckpt,
                                           const std::string& archive_name,
                                           const std::string& name) {
  PM_CHECK(!archive_name.empty() && archive_name.find('/') == std::string::npos,
           "{}: bad archive name '{}'",
           name,
           archive_name);
  check_writable(ckpt, name);
  const std::string prefix = archive_name + "/";
  const std::vector<uint8_t> pickle = encode_data_pickle(ckpt);
  zip::ZipWriter zip(/*compress=*/false);
  zip.add(prefix + "data.pkl", pickle.data(), pickle.size());
  for (size_t i = 0; i < ckpt.tensors.size(); ++i) {
    const NDArray& a = ckpt.tensors[i].second;
    zip.add(prefix + "data/" + std::to_string(i), a.raw(), a.nbytes(), kRecordAlignment);
  }
  zip.add(prefix + "version",
          reinterpret_cast<const uint8_t*>(kZipFormatVersion),
          sizeof(kZipFormatVersion) - 1);
  const std::string order = "little";
  zip.add(prefix + "byteorder", reinterpret_cast<const uint8_t*>(order.data()), order.size());
  return zip.finish();
}

}  // namespace pm
