// SPDX-License-Identifier: MIT
// PyTorch checkpoints without libtorch. Reading: the zip layout (records <folder>/data.pkl and
// <folder>/data/<key>) or the legacy stream goes through the restricted unpickler of pickle.h,
// then the state dict is picked out of whatever wrapper holds it. Writing: a protocol-2 pickle
// of an OrderedDict of _rebuild_tensor_v2 calls, as torch.save writes it, in a stored zip.
#include "pseudomask/core/io/checkpoint.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include "pseudomask/core/common/files.h"
#include "pseudomask/core/io/pickle.h"
#include "zip.h"

namespace pm {
namespace {

using Kind = PickleValue::Kind;

/// The first bytes of a legacy torch.save file: PROTO 2, then LONG1 of the 10-byte magic
/// number 0x1950a86a20f9469cfc6c.
const char kLegacyStart[] = "\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19";
constexpr size_t kLegacyStartSize = sizeof(kLegacyStart) - 1;
/// The signature of a zip local file header.
const char kZipStart[] = "PK\x03\x04";
/// The alignment of storage records in the zip files torch.save writes.
constexpr size_t kRecordAlignment = 64;
/// The zip format version torch 1.6 to 2.x write (the reader accepts 1 to 10).
const char kZipFormatVersion[] = "3\n";
/// Wrapper keys tried first, in this order, when the top level is not the state dict.
const char* const kPreferredKeys[] = {"state_dict", "model", "model_state", "model_state_dict"};
/// The DataParallel prefix stripped when every tensor name has it.
const std::string kModulePrefix = "module.";

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

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
                 zip::printable_name(member));
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
             zip::printable_name(pickles_[0]),
             zip::printable_name(pickles_[1]));
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
               zip::printable_name(ref.key));
      return it->second;
    }
    const zip::ZipMember* member = records_.find("data/" + ref.key);
    PM_CHECK(member != nullptr,
             "{}: storage record 'data/{}' is missing",
             name_,
             zip::printable_name(ref.key));
    const zip::MemberBytes bytes = records_.read(*member);
    PickleValue storage =
        PickleValue::make_storage(torch_storage_elements(ref, bytes.data, bytes.size, name_));
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
           zip::printable_name(order));
}

PickleValue load_zip_checkpoint(const uint8_t* data, size_t size, const std::string& name) {
  const ZipRecords records(data, size, name);
  check_byte_order(records, name);
  const zip::MemberBytes pickle = records.read(*records.find("data.pkl"));
  ZipStorages storages(records, name);
  PickleOptions options;
  options.persistent_load = [&storages](const PickleValue& pid) { return storages.load(pid); };
  return load_pickle(pickle.data, pickle.size, name, options);
}

// ---------------------------------------------------------------------------------------------
// Finding the state dict.

bool is_tensor(const PickleValue& v) {
  return v.kind() == Kind::kArray && v.array_origin() == ArrayOrigin::kTorch;
}

/// A dict with at least one tensor value.
bool holds_tensors(const PickleValue& v) {
  if (v.kind() != Kind::kDict)
    return false;
  const auto& items = v.dict_items();
  return std::any_of(
      items.begin(), items.end(), [](const auto& kv) { return is_tensor(kv.second); });
}

std::string top_level_keys(const PickleValue& top) {
  std::string keys;
  for (const auto& [key, value] : top.dict_items()) {
    (void)value;
    if (keys.size() > 200) {
      keys += ", ...";
      break;
    }
    keys += keys.empty() ? "" : ", ";
    keys +=
        key.kind() == Kind::kStr ? "'" + zip::printable_name(key.as_str()) + "'" : key.type_name();
  }
  return keys;
}

/// The state dict inside the checkpoint's top-level object (see read_checkpoint for the rule),
/// or nullptr for an empty top-level dict.
const PickleValue* find_state_dict(const PickleValue& top, const std::string& name) {
  PM_CHECK(top.kind() == Kind::kDict,
           "{}: the checkpoint holds a {}, not a state dict",
           name,
           top.type_name());
  if (top.dict_items().empty() || holds_tensors(top))
    return &top;
  for (const char* key : kPreferredKeys) {
    const PickleValue* v = top.find(key);
    if (v != nullptr && holds_tensors(*v))
      return v;
  }
  for (const auto& [key, value] : top.dict_items()) {
    (void)key;
    if (holds_tensors(value))
      return &value;
  }
  PM_FAIL("{}: no state dict found (no dict of tensors among the top-level entries {})",
          name,
          top_level_keys(top));
}

/// The tensors of a state dict in file order; other values are left out.
std::vector<std::pair<std::string, NDArray>> state_dict_tensors(const PickleValue& sd,
                                                                const std::string& name) {
  std::vector<std::pair<std::string, NDArray>> tensors;
  for (const auto& [key, value] : sd.dict_items()) {
    if (!is_tensor(value))
      continue;
    PM_CHECK(
        key.kind() == Kind::kStr, "{}: state dict key is a {}, not a str", name, key.type_name());
    tensors.emplace_back(key.as_str(), value.array());
  }
  return tensors;
}

/// Removes the DataParallel 'module.' prefix when every name has it.
void strip_module_prefix(std::vector<std::pair<std::string, NDArray>>& tensors) {
  const bool all =
      !tensors.empty() && std::all_of(tensors.begin(), tensors.end(), [](const auto& t) {
        return starts_with(t.first, kModulePrefix);
      });
  if (!all)
    return;
  for (auto& t : tensors)
    t.first.erase(0, kModulePrefix.size());
}

/// The `_pseudomask` metadata entry of a top-level dict (empty if there is none).
std::vector<std::pair<std::string, std::string>> read_metadata(const PickleValue& top,
                                                               const std::string& name) {
  std::vector<std::pair<std::string, std::string>> metadata;
  const PickleValue* entry = top.find(kCheckpointMetadataKey);
  if (entry == nullptr)
    return metadata;
  PM_CHECK(entry->kind() == Kind::kDict,
           "{}: '{}' metadata is a {}, not a dict",
           name,
           kCheckpointMetadataKey,
           entry->type_name());
  for (const auto& [key, value] : entry->dict_items()) {
    PM_CHECK(key.kind() == Kind::kStr && value.kind() == Kind::kStr,
             "{}: '{}' metadata must map str to str, found a {} key with a {} value",
             name,
             kCheckpointMetadataKey,
             key.type_name(),
             value.type_name());
    metadata.emplace_back(key.as_str(), value.as_str());
  }
  return metadata;
}

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

/// Emits pickle opcodes (protocol 2, no memo: nothing is referenced twice).
class PickleWriter {
 public:
  PickleWriter() { out_ += "\x80\x02"; }  // PROTO 2

  void global(const std::string& module, const std::string& name) {
    out_ += 'c' + module + '\n' + name + '\n';  // GLOBAL
  }
  void mark() { out_ += '('; }
  void tuple() { out_ += 't'; }  // TUPLE from the last MARK
  void reduce() { out_ += 'R'; }
  void set_items() { out_ += 'u'; }  // SETITEMS from the last MARK
  void empty_dict() { out_ += '}'; }
  void persistent_id() { out_ += 'Q'; }  // BINPERSID
  void boolean(bool value) { out_ += value ? '\x88' : '\x89'; }
  void stop() { out_ += '.'; }

  void str(const std::string& text) {
    out_ += 'X';  // BINUNICODE: 4-byte little-endian length, UTF-8 bytes
    put_le(text.size(), 4);
    out_ += text;
  }

  void integer(int64_t value) {
    if (value >= 0 && value < 0x100) {
      out_ += 'K';  // BININT1
      put_le(static_cast<uint64_t>(value), 1);
    } else if (value >= 0 && value < 0x10000) {
      out_ += 'M';  // BININT2
      put_le(static_cast<uint64_t>(value), 2);
    } else if (value >= INT32_MIN && value <= INT32_MAX) {
      out_ += 'J';  // BININT, signed
      put_le(static_cast<uint64_t>(static_cast<uint32_t>(static_cast<int32_t>(value))), 4);
    } else {
      out_ += "\x8a\x08";  // LONG1 with 8 bytes of two's complement
      put_le(static_cast<uint64_t>(value), 8);
    }
  }

  void int_tuple(const std::vector<int64_t>& values) {
    mark();
    for (int64_t v : values)
      integer(v);
    tuple();
  }

  /// collections.OrderedDict(): the call, its items follow between mark() and set_items().
  void ordered_dict() {
    global("collections", "OrderedDict");
    out_ += ')';  // EMPTY_TUPLE
    reduce();
  }

  const std::string& bytes() const { return out_; }

 private:
  void put_le(uint64_t value, int bytes) {
    for (int i = 0; i < bytes; ++i)
      out_ += static_cast<char>((value >> (8 * i)) & 0xFF);
  }

  std::string out_;
};

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
  w.tuple();
  w.persistent_id();
  w.integer(0);  // storage offset
  w.int_tuple(a.shape());
  w.int_tuple(contiguous_strides(a.shape()));
  w.boolean(false);  // requires_grad
  w.ordered_dict();  // backward hooks
  w.tuple();
  w.reduce();
}

/// Refuses what torch.load could not read back; `name` starts the error messages.
void check_writable(const Checkpoint& ckpt, const std::string& name) {
  std::unordered_set<std::string> names;
  for (const auto& [tensor, array] : ckpt.tensors) {
    PM_CHECK(!tensor.empty(), "{}: a tensor has an empty name", name);
    PM_CHECK(names.insert(tensor).second, "{}: tensor '{}' appears twice", name, tensor);
    PM_CHECK(storage_type(array.dtype()) != nullptr,
             "{}: tensor '{}' has dtype {}, which PyTorch cannot store",
             name,
             tensor,
             dtype_name(array.dtype()));
  }
  std::unordered_set<std::string> keys;
  for (const auto& [key, value] : ckpt.metadata) {
    (void)value;
    PM_CHECK(keys.insert(key).second, "{}: metadata key '{}' appears twice", name, key);
  }
}

/// data.pkl: the state dict (storage i is record data/i), wrapped with the metadata if any.
std::string encode_data_pickle(const Checkpoint& ckpt) {
  PickleWriter w;
  const bool wrapped = !ckpt.metadata.empty();
  if (wrapped) {
    w.empty_dict();
    w.mark();
    w.str("state_dict");
  }
  w.ordered_dict();
  w.mark();
  for (size_t i = 0; i < ckpt.tensors.size(); ++i) {
    w.str(ckpt.tensors[i].first);
    write_tensor(w, ckpt.tensors[i].second, std::to_string(i));
  }
  w.set_items();
  if (wrapped) {
    w.str(kCheckpointMetadataKey);
    w.empty_dict();
    w.mark();
    for (const auto& [key, value] : ckpt.metadata) {
      w.str(key);
      w.str(value);
    }
    w.set_items();
    w.set_items();
  }
  w.stop();
  return w.bytes();
}

/// The zip archive: data.pkl, data/<i> per tensor (64-byte aligned), version and byteorder.
std::vector<uint8_t> encode_checkpoint_as(const Checkpoint& ckpt,
                                          const std::string& archive_name,
                                          const std::string& name) {
  PM_CHECK(!archive_name.empty() && archive_name.find('/') == std::string::npos,
           "{}: bad archive name '{}'",
           name,
           archive_name);
  check_writable(ckpt, name);
  const std::string prefix = archive_name + "/";
  const std::string pickle = encode_data_pickle(ckpt);
  zip::ZipWriter zip(/*compress=*/false);
  zip.add(prefix + "data.pkl", reinterpret_cast<const uint8_t*>(pickle.data()), pickle.size());
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

}  // namespace

// ---------------------------------------------------------------------------------------------
// Public API.

const NDArray* Checkpoint::find(const std::string& name) const {
  for (const auto& [key, array] : tensors) {
    if (key == name)
      return &array;
  }
  return nullptr;
}

const std::string* Checkpoint::find_metadata(const std::string& key) const {
  for (const auto& [k, value] : metadata) {
    if (k == key)
      return &value;
  }
  return nullptr;
}

Checkpoint decode_checkpoint(const uint8_t* data, size_t size, const std::string& name) {
  PM_CHECK(data != nullptr || size == 0, "{}: no data", name);
  static const uint8_t kEmpty = 0;
  if (data == nullptr)
    data = &kEmpty;
  PickleValue top;
  if (size >= 4 && std::memcmp(data, kZipStart, 4) == 0) {
    top = load_zip_checkpoint(data, size, name);
  } else if (size >= kLegacyStartSize && std::memcmp(data, kLegacyStart, kLegacyStartSize) == 0) {
    top = load_torch_legacy(data, size, name);
  } else {
    PM_FAIL(
        "{}: not a PyTorch checkpoint (neither a torch.save zip archive nor a legacy "
        "torch.save file)",
        name);
  }
  Checkpoint ckpt;
  const PickleValue* sd = find_state_dict(top, name);
  ckpt.tensors = state_dict_tensors(*sd, name);
  strip_module_prefix(ckpt.tensors);
  ckpt.metadata = read_metadata(top, name);
  return ckpt;
}

Checkpoint read_checkpoint(const std::string& path) {
  const std::vector<uint8_t> bytes = read_file_bytes(path);
  return decode_checkpoint(bytes.data(), bytes.size(), path);
}

std::vector<uint8_t> encode_checkpoint(const Checkpoint& ckpt, const std::string& archive_name) {
  return encode_checkpoint_as(ckpt, archive_name, "checkpoint");
}

void write_checkpoint(const std::string& path, const Checkpoint& ckpt) {
  write_file_atomic(path, encode_checkpoint_as(ckpt, "archive", path));
}

}  // namespace pm
