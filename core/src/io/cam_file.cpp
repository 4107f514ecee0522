// SPDX-License-Identifier: MIT
// CAM files of the WSSS tools (IRN, AMN, MCTformer, ORANDNet; plain .npy/.npz) and IRN's
// cls_labels.npy, read through the restricted unpickler, and the IRN layout written exactly as
// numpy's np.save writes it.
#include "pseudomask/core/io/cam_file.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <numeric>

#include "pseudomask/core/common/files.h"
#include "pseudomask/core/io/npy.h"
#include "pseudomask/core/io/pickle.h"

namespace pm {
namespace {

using Kind = PickleValue::Kind;

constexpr uint8_t kNpyMagic[] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
constexpr uint8_t kZipMagic[] = {'P', 'K', 0x03, 0x04};
constexpr uint8_t kPickleProto = 0x80;

/// Whether data looks like a bare pickle: a PROTO opcode (protocol 2+), or the MARK, GLOBAL,
/// EMPTY_DICT or EMPTY_LIST that protocol 0/1 pickles of dicts and objects start with.
bool looks_like_pickle(const uint8_t* data, size_t size) {
  return size > 0 && (data[0] == kPickleProto || std::memchr("(c}]", data[0], 4) != nullptr);
}

/// Untrusted text made fit for a one-line message.
std::string printable(const std::string& text) {
  std::string out = text.substr(0, 60);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f)
      c = '?';
  }
  return text.size() > 60 ? out + "..." : out;
}

/// Runs `decode`, making sure that every pm::Error it throws starts with `name`.
template <class F>
auto with_name(const std::string& name, F&& decode) -> decltype(decode()) {
  try {
    return decode();
  } catch (const Error& e) {
    const std::string what = e.what();
    if (what.compare(0, name.size() + 1, name + ":") == 0)
      throw;
    throw Error(with_context(name, what));
  }
}

template <size_t N>
bool starts_with(const uint8_t* data, size_t size, const uint8_t (&magic)[N]) {
  return size >= N && std::memcmp(data, magic, N) == 0;
}

// ---------------------------------------------------------------------------------------------
// Reading: from bytes to the pickled value.

/// The object np.save pickled: a 0-d object array holds it (np.save of a dict).
PickleValue unwrap_object_scalar(const PickleValue& value, const std::string& name) {
  if (value.kind() != Kind::kObjectArray)
    return value;
  PM_CHECK(value.items().size() == 1,
           "{}: holds an object array of shape {}, expected a dict",
           name,
           shape_string(value.object_array_shape()));
  return value.items()[0];
}

/// The pickled object of a .npy with dtype object, or of a bare pickle file. Returns false if
/// the data is neither (then it is a numeric .npy or .npz).
bool load_pickled_object(const uint8_t* data,
                         size_t size,
                         const std::string& name,
                         PickleValue& value) {
  if (starts_with(data, size, kNpyMagic)) {
    const NpyHeader header = parse_npy_header(data, size, name);
    if (header.descr != "|O")
      return false;
    PM_CHECK(header.shape.empty(),
             "{}: holds an object array of shape {}, expected a dict",
             name,
             shape_string(header.shape));
    PM_CHECK(header.data_offset <= size, "{}: truncated .npy header", name);
    value = load_pickle(data + header.data_offset, size - header.data_offset, name);
  } else if (looks_like_pickle(data, size)) {
    value = load_pickle(data, size, name);
  } else {
    return false;
  }
  value = unwrap_object_scalar(value, name);
  return true;
}

// ---------------------------------------------------------------------------------------------
// Reading: interpretation.

/// Short, one-line description of a dict's keys for error messages.
std::string describe_keys(const PickleValue& dict) {
  std::string out;
  size_t n = 0;
  for (const auto& entry : dict.dict_items()) {
    if (n++ == 6) {
      out += ", ...";
      break;
    }
    if (!out.empty())
      out += ", ";
    const PickleValue& k = entry.first;
    if (k.kind() == Kind::kStr) {
      out += "'" + printable(k.as_str()) + "'";
    } else if (k.is_int_like()) {
      out += std::to_string(k.as_int());
    } else {
      out += k.type_name();
    }
  }
  return "{" + out + "}";
}

/// A class id from a key value; checks that it is a non-negative int.
int class_id(int64_t v, const std::string& name) {
  PM_CHECK(v >= 0 && v <= std::numeric_limits<int>::max(), "{}: invalid class id {}", name, v);
  return static_cast<int>(v);
}

/// The class ids of IRN's 'keys': an integer array or tensor (1-D) or a list/tuple of ints.
std::vector<int> read_keys(const PickleValue& v, const std::string& name) {
  std::vector<int> keys;
  if (v.kind() == Kind::kArray) {
    const NDArray& a = v.array();
    PM_CHECK(a.ndim() == 1 && a.dtype() != DType::kBool && a.dtype() != DType::kF16 &&
                 a.dtype() != DType::kF32 && a.dtype() != DType::kF64,
             "{}: 'keys' is {}, expected a 1-D integer array",
             name,
             a.describe());
    const NDArray k64 = a.astype(DType::kI64);
    const int64_t* p = k64.data<int64_t>();
    for (int64_t i = 0; i < k64.numel(); ++i)
      keys.push_back(class_id(p[i], name));
    return keys;
  }
  PM_CHECK(v.kind() == Kind::kList || v.kind() == Kind::kTuple,
           "{}: 'keys' is a {}, expected an integer array or a list of ints",
           name,
           v.type_name());
  for (const auto& item : v.items()) {
    PM_CHECK(item.is_int_like(), "{}: 'keys' holds a {}, expected ints", name, item.type_name());
    keys.push_back(class_id(item.as_int(), name));
  }
  return keys;
}

/// A (C, H, W) map as float32; `what` names it in messages.
NDArray read_map3(const PickleValue& v, const std::string& name, const char* what) {
  PM_CHECK(v.kind() == Kind::kArray,
           "{}: '{}' is a {}, expected a (C, H, W) array",
           name,
           what,
           v.type_name());
  const NDArray& a = v.array();
  PM_CHECK(a.ndim() == 3,
           "{}: '{}' has shape {}, expected (C, H, W)",
           name,
           what,
           shape_string(a.shape()));
  return a.dtype() == DType::kF32 ? a : a.astype(DType::kF32);
}

/// Channels `channels[i]` of a (C, H, W) float32 array, in that order.
NDArray select_channels(const NDArray& a, const std::vector<size_t>& channels) {
  NDArray out(DType::kF32, {static_cast<int64_t>(channels.size()), a.dim(1), a.dim(2)});
  const size_t plane = static_cast<size_t>(a.dim(1) * a.dim(2)) * sizeof(float);
  for (size_t i = 0; i < channels.size(); ++i) {
    if (plane > 0)
      std::memcpy(out.raw() + i * plane, a.raw() + channels[i] * plane, plane);
  }
  return out;
}

/// Puts the keys in ascending order (permuting the channels with them) after checking that they
/// are unique.
void sort_keys(CamFile& cams, const std::string& name) {
  std::vector<size_t> order(cams.keys.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(
      order.begin(), order.end(), [&](size_t a, size_t b) { return cams.keys[a] < cams.keys[b]; });
  for (size_t i = 1; i < order.size(); ++i) {
    PM_CHECK(cams.keys[order[i]] != cams.keys[order[i - 1]],
             "{}: class id {} appears twice in 'keys'",
             name,
             cams.keys[order[i]]);
  }
  if (std::is_sorted(cams.keys.begin(), cams.keys.end()))
    return;
  std::vector<int> sorted;
  for (size_t i : order)
    sorted.push_back(cams.keys[i]);
  cams.keys = std::move(sorted);
  if (cams.cam.ndim() == 3)
    cams.cam = select_channels(cams.cam, order);
  if (cams.high_res.ndim() == 3)
    cams.high_res = select_channels(cams.high_res, order);
}

/// Drops a leading background channel (AMN) when the map has one channel more than there are
/// keys; any other mismatch is an error.
NDArray match_channels(const NDArray& map,
                       size_t num_keys,
                       bool background,
                       const std::string& name,
                       const char* what) {
  const size_t expected = num_keys + (background ? 1 : 0);
  PM_CHECK(static_cast<size_t>(map.dim(0)) == expected,
           "{}: '{}' has {} channels for {} keys{}",
           name,
           what,
           map.dim(0),
           num_keys,
           background ? " plus background" : "");
  if (!background)
    return map;
  std::vector<size_t> channels(num_keys);
  std::iota(channels.begin(), channels.end(), size_t{1});
  return select_channels(map, channels);
}

/// IRN / AMN / ORANDNet: {'keys', 'cam', 'high_res'}.
CamFile from_irn_dict(const PickleValue& dict, const std::string& name) {
  const PickleValue* keys = dict.find("keys");
  const PickleValue* cam = dict.find("cam");
  const PickleValue* high_res = dict.find("high_res");
  PM_CHECK(keys != nullptr && !keys->is_none(),
           "{}: CAM dict {} has no 'keys'",
           name,
           describe_keys(dict));
  const bool has_cam = cam != nullptr && !cam->is_none();
  const bool has_high_res = high_res != nullptr && !high_res->is_none();
  PM_CHECK(has_cam || has_high_res,
           "{}: CAM dict {} has neither 'cam' nor 'high_res'",
           name,
           describe_keys(dict));
  CamFile out;
  out.keys = read_keys(*keys, name);
  NDArray cam_map = has_cam ? read_map3(*cam, name, "cam") : NDArray();
  NDArray high_res_map = has_high_res ? read_map3(*high_res, name, "high_res") : NDArray();
  // AMN stores a background channel first; the reference map decides for both.
  const NDArray& reference = has_high_res ? high_res_map : cam_map;
  const bool background = static_cast<size_t>(reference.dim(0)) == out.keys.size() + 1;
  if (has_cam)
    out.cam = match_channels(cam_map, out.keys.size(), background, name, "cam");
  if (has_high_res) {
    out.high_res = match_channels(high_res_map, out.keys.size(), background, name, "high_res");
  }
  sort_keys(out, name);
  return out;
}

/// MCTformer: {class id: (H, W) map}, stacked in ascending class order into high_res.
CamFile from_class_map_dict(const PickleValue& dict, const std::string& name) {
  std::vector<std::pair<int, const NDArray*>> maps;
  for (const auto& [key, value] : dict.dict_items()) {
    PM_CHECK(value.kind() == Kind::kArray,
             "{}: class {} maps to a {}, expected an (H, W) array",
             name,
             key.as_int(),
             value.type_name());
    const NDArray& a = value.array();
    PM_CHECK(a.ndim() == 2,
             "{}: map of class {} has shape {}, expected (H, W)",
             name,
             key.as_int(),
             shape_string(a.shape()));
    maps.emplace_back(class_id(key.as_int(), name), &a);
  }
  std::sort(
      maps.begin(), maps.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  const std::vector<int64_t>& hw = maps.front().second->shape();
  CamFile out;
  out.high_res = NDArray(DType::kF32, {static_cast<int64_t>(maps.size()), hw[0], hw[1]});
  const size_t plane = static_cast<size_t>(hw[0] * hw[1]);
  for (size_t i = 0; i < maps.size(); ++i) {
    PM_CHECK(maps[i].second->shape() == hw,
             "{}: map of class {} has shape {}, class {} has {}",
             name,
             maps[i].first,
             shape_string(maps[i].second->shape()),
             maps.front().first,
             shape_string(hw));
    const NDArray f = maps[i].second->astype(DType::kF32);
    if (plane > 0) {
      std::memcpy(out.high_res.data<float>() + i * plane, f.data<float>(), plane * sizeof(float));
    }
    if (i > 0) {
      PM_CHECK(
          maps[i].first != maps[i - 1].first, "{}: class {} appears twice", name, maps[i].first);
    }
    out.keys.push_back(maps[i].first);
  }
  return out;
}

/// A plain (C, H, W) array: keys 0..C-1, or 0..C-2 after a background channel.
CamFile from_plain_array(const NDArray& array,
                         const std::string& name,
                         const CamReadOptions& options) {
  PM_CHECK(array.ndim() == 3,
           "{}: CAM array has shape {}, expected (C, H, W)",
           name,
           shape_string(array.shape()));
  const NDArray maps = array.dtype() == DType::kF32 ? array : array.astype(DType::kF32);
  const bool background = options.plain_has_background;
  PM_CHECK(!background || maps.dim(0) >= 1,
           "{}: CAM array has no channels, but a background channel was expected",
           name);
  CamFile out;
  const size_t classes = static_cast<size_t>(maps.dim(0)) - (background ? 1 : 0);
  for (size_t c = 0; c < classes; ++c)
    out.keys.push_back(static_cast<int>(c));
  out.high_res = match_channels(maps, classes, background, name, "array");
  return out;
}

CamFile from_value(const PickleValue& value,
                   const std::string& name,
                   const CamReadOptions& options) {
  if (value.kind() == Kind::kArray)
    return from_plain_array(value.array(), name, options);
  PM_CHECK(value.kind() == Kind::kDict,
           "{}: holds a {}, expected a dict of CAMs",
           name,
           value.type_name());
  PM_CHECK(!value.dict_items().empty(), "{}: the CAM dict is empty", name);
  if (value.find("keys") != nullptr || value.find("cam") != nullptr ||
      value.find("high_res") != nullptr) {
    return from_irn_dict(value, name);
  }
  const bool all_int_keys =
      std::all_of(value.dict_items().begin(), value.dict_items().end(), [](const auto& entry) {
        return entry.first.is_int_like();
      });
  PM_CHECK(all_int_keys,
           "{}: unrecognized CAM dict {} (expected 'keys'/'cam'/'high_res' or class ids)",
           name,
           describe_keys(value));
  return from_class_map_dict(value, name);
}

/// .npz: one array, or members named like IRN's dict ('keys', 'cam', 'high_res').
CamFile from_npz(const std::map<std::string, NDArray>& members,
                 const std::string& name,
                 const CamReadOptions& options) {
  if (members.size() == 1)
    return from_plain_array(members.begin()->second, name, options);
  const auto keys = members.find("keys");
  const auto cam = members.find("cam");
  const auto high_res = members.find("high_res");
  std::string list;
  for (const auto& m : members)
    list += (list.empty() ? "" : ", ") + m.first;
  PM_CHECK(keys != members.end() && (cam != members.end() || high_res != members.end()),
           "{}: .npz holds [{}]; expected one (C, H, W) array or 'keys' with 'cam'/'high_res'",
           name,
           printable(list));
  CamFile out;
  const NDArray& k = keys->second;
  PM_CHECK(k.ndim() == 1, "{}: 'keys' has shape {}, expected (K,)", name, shape_string(k.shape()));
  const NDArray k64 = k.astype(DType::kI64);
  for (int64_t i = 0; i < k64.numel(); ++i)
    out.keys.push_back(class_id(k64.data<int64_t>()[i], name));
  const bool has_high_res = high_res != members.end();
  const NDArray& reference = has_high_res ? high_res->second : cam->second;
  PM_CHECK(reference.ndim() == 3,
           "{}: CAM array has shape {}, expected (C, H, W)",
           name,
           shape_string(reference.shape()));
  const bool background = static_cast<size_t>(reference.dim(0)) == out.keys.size() + 1;
  if (cam != members.end()) {
    PM_CHECK(cam->second.ndim() == 3,
             "{}: 'cam' has shape {}, expected (C, H, W)",
             name,
             shape_string(cam->second.shape()));
    out.cam =
        match_channels(cam->second.astype(DType::kF32), out.keys.size(), background, name, "cam");
  }
  if (has_high_res) {
    out.high_res = match_channels(
        high_res->second.astype(DType::kF32), out.keys.size(), background, name, "high_res");
  }
  sort_keys(out, name);
  return out;
}

CamFile decode_cam_bytes(const uint8_t* data,
                         size_t size,
                         const std::string& name,
                         const CamReadOptions& options) {
  PickleValue value;
  if (load_pickled_object(data, size, name, value))
    return from_value(value, name, options);
  if (starts_with(data, size, kNpyMagic)) {
    return from_plain_array(decode_npy(data, size, name), name, options);
  }
  if (starts_with(data, size, kZipMagic)) {
    return from_npz(decode_npz(data, size, name), name, options);
  }
  PM_FAIL("{}: not a CAM file (expected .npy, .npz or a pickle)", name);
}

// ---------------------------------------------------------------------------------------------
// cls_labels.npy

/// IRN stores VOC ids as int(name[:4] + name[5:]): 2007000032 → "2007_000032".
std::string voc_id_from_int(int64_t n, const std::string& name) {
  PM_CHECK(n >= 0, "{}: negative image id {}", name, n);
  if (n >= 1000000000 && n <= 9999999999) {
    return fmt::format("{:04d}_{:06d}", n / 1000000, n % 1000000);
  }
  return std::to_string(n);
}

std::vector<uint8_t> multi_hot(const PickleValue& v,
                               const std::string& id,
                               const std::string& name) {
  PM_CHECK(v.kind() == Kind::kArray,
           "{}: label of '{}' is a {}, expected a vector",
           name,
           id,
           v.type_name());
  const NDArray& a = v.array();
  PM_CHECK(a.ndim() == 1 && a.dim(0) >= 1 && a.dim(0) <= 254,
           "{}: label of '{}' has shape {}, expected a vector of 1 to 254 classes (20 for VOC, 80 "
           "for COCO)",
           name,
           id,
           shape_string(a.shape()));
  std::vector<uint8_t> out(static_cast<size_t>(a.dim(0)));
  for (int64_t i = 0; i < a.dim(0); ++i) {
    const double x = a.value_at(i);
    PM_CHECK(x == 0.0 || x == 1.0,
             "{}: label of '{}' has value {} at {}, expected 0 or 1",
             name,
             id,
             x,
             i);
    out[static_cast<size_t>(i)] = x == 1.0 ? 1 : 0;
  }
  return out;
}

ClsLabels decode_labels_bytes(const uint8_t* data, size_t size, const std::string& name) {
  PickleValue value;
  PM_CHECK(load_pickled_object(data, size, name, value),
           "{}: not a pickled label dict (expected np.save of a dict)",
           name);
  PM_CHECK(value.kind() == Kind::kDict,
           "{}: holds a {}, expected a dict id → labels",
           name,
           value.type_name());
  PM_CHECK(!value.dict_items().empty(), "{}: the label dict is empty", name);
  ClsLabels labels;
  for (const auto& [key, vector] : value.dict_items()) {
    std::string id;
    if (key.kind() == Kind::kStr) {
      id = key.as_str();
    } else {
      PM_CHECK(
          key.is_int_like(), "{}: image id is a {}, expected str or int", name, key.type_name());
      id = voc_id_from_int(key.as_int(), name);
    }
    std::vector<uint8_t> hot = multi_hot(vector, printable(id), name);
    if (labels.num_classes == 0)
      labels.num_classes = static_cast<int>(hot.size());
    PM_CHECK(static_cast<int>(hot.size()) == labels.num_classes,
             "{}: label of '{}' has {} entries, others have {}",
             name,
             printable(id),
             hot.size(),
             labels.num_classes);
    const std::string shown = printable(id);
    PM_CHECK(labels.multi_hot.emplace(std::move(id), std::move(hot)).second,
             "{}: image id '{}' appears twice",
             name,
             shown);
  }
  return labels;
}

// ---------------------------------------------------------------------------------------------
// Writing: a protocol-3 pickler that reproduces CPython's output for numpy arrays.

class NumpyPickler {
 public:
  NumpyPickler() {
    op(0x80);  // PROTO 3
    op(3);
  }

  /// The 0-d object array holding a dict of str → numeric array, as np.save pickles it.
  void object_scalar_of_dict(const std::vector<std::pair<std::string, const NDArray*>>& dict) {
    reconstruct_prefix();
    mark();
    integer(1);  // state version
    op(')');     // shape ()
    dtype("O8", '|', 63);
    op(0x89);  // not Fortran
    op(']');   // the object list
    put();
    op('}');
    put();
    if (dict.size() > 1)
      mark();
    for (const auto& [key, array] : dict) {
      str(key);
      numeric_array(*array);
      if (dict.size() == 1)
        op('s');
    }
    if (dict.size() > 1)
      op('u');
    op('a');  // one element: APPEND
    op('t');
    put();
    op('b');
  }

  std::string finish() {
    op('.');
    return std::move(out_);
  }

 private:
  void op(int code) { out_.push_back(static_cast<char>(code)); }
  void mark() { op('('); }
  void le(uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i)
      out_.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  }
  /// Memoizes the object just written (BINPUT / LONG_BINPUT).
  uint32_t put() {
    const uint32_t index = next_memo_++;
    if (index < 256) {
      op('q');
      le(index, 1);
    } else {
      op('r');
      le(index, 4);
    }
    return index;
  }
  void get(uint32_t index) {
    if (index < 256) {
      op('h');
      le(index, 1);
    } else {
      op('j');
      le(index, 4);
    }
  }
  /// Emits a reference to a shared object if it was written before.
  bool reuse(const std::string& identity) {
    auto it = shared_.find(identity);
    if (it == shared_.end())
      return false;
    get(it->second);
    return true;
  }
  void integer(int64_t v) {
    if (v >= 0 && v <= 0xFF) {
      op('K');
      le(static_cast<uint64_t>(v), 1);
    } else if (v >= 0 && v <= 0xFFFF) {
      op('M');
      le(static_cast<uint64_t>(v), 2);
    } else if (v >= std::numeric_limits<int32_t>::min() &&
               v <= std::numeric_limits<int32_t>::max()) {
      op('J');
      le(static_cast<uint32_t>(static_cast<int32_t>(v)), 4);
    } else {
      // LONG1 with the shortest two's complement encoding.
      std::string bytes;
      int64_t x = v;
      while (true) {
        bytes.push_back(static_cast<char>(x & 0xFF));
        const bool sign = (x & 0x80) != 0;
        x >>= 8;
        if ((x == 0 && !sign) || (x == -1 && sign))
          break;
      }
      op(0x8a);
      le(bytes.size(), 1);
      out_ += bytes;
    }
  }
  void global(const char* module, const char* name) {
    const std::string identity = std::string("g:") + module + "." + name;
    if (reuse(identity))
      return;
    op('c');
    out_ += module;
    out_ += '\n';
    out_ += name;
    out_ += '\n';
    shared_[identity] = put();
  }
  /// BINUNICODE. CPython shares one-character strings, so the pickler memoizes them once.
  void str(const std::string& s) {
    const bool singleton = s.size() == 1;
    if (singleton && reuse("s:" + s))
      return;
    op('X');
    le(s.size(), 4);
    out_ += s;
    const uint32_t index = put();
    if (singleton)
      shared_["s:" + s] = index;
  }
  /// SHORT_BINBYTES / BINBYTES. CPython shares b'' and one-byte bytes objects.
  void bytes(const uint8_t* data, size_t size) {
    const std::string content(reinterpret_cast<const char*>(data), size);
    const bool singleton = size <= 1;
    if (singleton && reuse("b:" + content))
      return;
    if (size < 256) {
      op('C');
      le(size, 1);
    } else {
      PM_CHECK(
          size <= 0xFFFFFFFFu, "CAM array of {} bytes is too large for pickle protocol 3", size);
      op('B');
      le(size, 4);
    }
    out_ += content;
    const uint32_t index = put();
    if (singleton)
      shared_["b:" + content] = index;
  }
  void tuple_of_ints(const std::vector<int64_t>& items) {
    if (items.empty()) {
      op(')');
      return;
    }
    if (items.size() > 3)
      mark();
    for (int64_t v : items)
      integer(v);
    op(items.size() > 3 ? 't' : 0x84 + static_cast<int>(items.size()));
    put();
  }
  /// numpy.dtype(code, False, True) with its BUILD state; dtypes are singletons in numpy.
  void dtype(const char* code, char byteorder, int flags) {
    const std::string identity = std::string("d:") + code;
    if (reuse(identity))
      return;
    global("numpy", "dtype");
    str(code);
    op(0x89);
    op(0x88);
    op(0x87);
    put();
    op('R');
    shared_[identity] = put();
    mark();
    integer(3);
    str(std::string(1, byteorder));
    op('N');
    op('N');
    op('N');
    integer(-1);
    integer(-1);
    integer(flags);
    op('t');
    put();
    op('b');
  }
  /// numpy.core.multiarray._reconstruct(numpy.ndarray, (0,), b'b'), memoized.
  void reconstruct_prefix() {
    global("numpy.core.multiarray", "_reconstruct");
    global("numpy", "ndarray");
    tuple_of_ints({0});
    const uint8_t b = 'b';
    bytes(&b, 1);
    op(0x87);
    put();
    op('R');
    put();
  }
  void numeric_array(const NDArray& a) {
    reconstruct_prefix();
    mark();
    integer(1);
    tuple_of_ints(a.shape());
    if (a.dtype() == DType::kI64) {
      dtype("i8", '<', 0);
    } else {
      PM_CHECK(a.dtype() == DType::kF32, "internal: CAM pickler got {}", a.describe());
      dtype("f4", '<', 0);
    }
    op(0x89);
    bytes(a.raw(), a.nbytes());
    op('t');
    put();
    op('b');
  }

  std::string out_;
  uint32_t next_memo_ = 0;
  std::map<std::string, uint32_t> shared_;
};

/// numpy's .npy header for a 0-d object array (format 1.0, padded to 64 bytes).
std::vector<uint8_t> object_npy_header() {
  const std::string dict = "{'descr': '|O', 'fortran_order': False, 'shape': (), }";
  const size_t prefix = 6 + 2 + 2;
  const size_t padding = 64 - (prefix + dict.size() + 1) % 64;
  const size_t header_len = dict.size() + padding + 1;
  std::vector<uint8_t> out(std::begin(kNpyMagic), std::end(kNpyMagic));
  out.push_back(1);
  out.push_back(0);
  out.push_back(static_cast<uint8_t>(header_len & 0xFF));
  out.push_back(static_cast<uint8_t>(header_len >> 8));
  out.insert(out.end(), dict.begin(), dict.end());
  out.insert(out.end(), padding, ' ');
  out.push_back('\n');
  return out;
}

void check_writable(const CamFile& cams) {
  for (size_t i = 0; i < cams.keys.size(); ++i) {
    PM_CHECK(cams.keys[i] >= 0, "write_cam_file: negative class id {}", cams.keys[i]);
    for (size_t j = 0; j < i; ++j) {
      PM_CHECK(
          cams.keys[i] != cams.keys[j], "write_cam_file: class id {} appears twice", cams.keys[i]);
    }
  }
  PM_CHECK(cams.cam.ndim() == 3 || cams.high_res.ndim() == 3,
           "write_cam_file: neither 'cam' nor 'high_res' is a (K, H, W) array");
  for (const NDArray* a : {&cams.cam, &cams.high_res}) {
    if (a->empty())
      continue;
    PM_CHECK(a->ndim() == 3 && static_cast<size_t>(a->dim(0)) == cams.keys.size(),
             "write_cam_file: map of shape {} for {} keys",
             shape_string(a->shape()),
             cams.keys.size());
  }
}

/// The bytes np.save writes for a dict of arrays (a 0-d object array holding the pickled dict).
std::vector<uint8_t> npy_of_dict(const std::vector<std::pair<std::string, const NDArray*>>& dict) {
  NumpyPickler pickler;
  pickler.object_scalar_of_dict(dict);
  const std::string pickle = pickler.finish();
  std::vector<uint8_t> out = object_npy_header();
  out.insert(out.end(), pickle.begin(), pickle.end());
  return out;
}

/// Encodes with `encode` (whose errors get the path as context), then writes atomically.
template <typename Encode>
void write_encoded(const std::string& path, Encode encode) {
  std::vector<uint8_t> bytes;
  try {
    bytes = encode();
  } catch (const Error& e) {
    throw Error(with_context(path, e.what()));
  }
  write_file_atomic(path, bytes);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Public API.

CamFile decode_cam_file(const uint8_t* data,
                        size_t size,
                        const std::string& name,
                        const CamReadOptions& options) {
  return with_name(name, [&] { return decode_cam_bytes(data, size, name, options); });
}

CamFile read_cam_file(const std::string& path, const CamReadOptions& options) {
  const std::vector<uint8_t> bytes = read_file_bytes(path);
  return decode_cam_file(bytes.data(), bytes.size(), path, options);
}

std::vector<uint8_t> encode_cam_file(const CamFile& cams) {
  check_writable(cams);
  const NDArray keys = NDArray::from(std::vector<int64_t>(cams.keys.begin(), cams.keys.end()),
                                     {static_cast<int64_t>(cams.keys.size())});
  NDArray cam, high_res;
  std::vector<std::pair<std::string, const NDArray*>> dict{{"keys", &keys}};
  if (!cams.cam.empty()) {
    cam = cams.cam.astype(DType::kF32);
    dict.emplace_back("cam", &cam);
  }
  if (!cams.high_res.empty()) {
    high_res = cams.high_res.astype(DType::kF32);
    dict.emplace_back("high_res", &high_res);
  }
  return npy_of_dict(dict);
}

void write_cam_file(const std::string& path, const CamFile& cams) {
  write_encoded(path, [&] { return encode_cam_file(cams); });
}

std::vector<uint8_t> encode_cls_labels(const ClsLabels& labels) {
  PM_CHECK(!labels.multi_hot.empty(), "write_cls_labels: no images");
  std::vector<NDArray> vectors;
  vectors.reserve(labels.multi_hot.size());
  for (const auto& [id, hot] : labels.multi_hot) {
    PM_CHECK(static_cast<int>(hot.size()) == labels.num_classes,
             "write_cls_labels: '{}' has {} entries, expected {}",
             id,
             hot.size(),
             labels.num_classes);
    std::vector<float> values(hot.begin(), hot.end());
    vectors.push_back(NDArray::from(values, {static_cast<int64_t>(values.size())}));
  }
  std::vector<std::pair<std::string, const NDArray*>> dict;
  size_t i = 0;
  for (const auto& entry : labels.multi_hot)
    dict.emplace_back(entry.first, &vectors[i++]);
  return npy_of_dict(dict);
}

void write_cls_labels(const std::string& path, const ClsLabels& labels) {
  write_encoded(path, [&] { return encode_cls_labels(labels); });
}

ClsLabels decode_cls_labels(const uint8_t* data, size_t size, const std::string& name) {
  return with_name(name, [&] { return decode_labels_bytes(data, size, name); });
}

ClsLabels read_cls_labels(const std::string& path) {
  const std::vector<uint8_t> bytes = read_file_bytes(path);
  return decode_cls_labels(bytes.data(), bytes.size(), path);
}

}  // namespace pm
