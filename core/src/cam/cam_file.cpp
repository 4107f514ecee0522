// SPDX-License-Identifier: MIT
// CAM files of the WSSS tools (IRN, AMN, MCTformer, ORANDNet; plain .npy/.npz), read through the
// restricted unpickler, and the IRN layout written exactly as numpy's np.save writes it.
#include "pseudomask/core/cam/cam_file.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <numeric>

#include "pseudomask/core/common/files.h"
#include "pseudomask/core/io/numpy/npy.h"
#include "pseudomask/core/io/numpy/npz.h"
#include "pseudomask/core/io/numpy/object_npy.h"

namespace pm {
namespace {

// A CAM file as its readers decode it, before its maps become float32 Planes.
struct CamArrays {
  std::vector<int> keys;
  NDArray cam;
  NDArray high_res;
};

using Kind = PickleValue::Kind;

constexpr uint8_t kNpyMagic[] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
constexpr uint8_t kZipMagic[] = {'P', 'K', 0x03, 0x04};

template <size_t N>
bool starts_with(const uint8_t* data, size_t size, const uint8_t (&magic)[N]) {
  return size >= N && std::memcmp(data, magic, N) == 0;
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
      out += "'" + printable_key(k.as_str()) + "'";
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
void sort_keys(CamArrays& cams, const std::string& name) {
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
CamArrays from_irn_dict(const PickleValue& dict, const std::string& name) {
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
  CamArrays out;
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
CamArrays from_class_map_dict(const PickleValue& dict, const std::string& name) {
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
  CamArrays out;
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
CamArrays from_plain_array(const NDArray& array,
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
  CamArrays out;
  const size_t classes = static_cast<size_t>(maps.dim(0)) - (background ? 1 : 0);
  for (size_t c = 0; c < classes; ++c)
    out.keys.push_back(static_cast<int>(c));
  out.high_res = match_channels(maps, classes, background, name, "array");
  return out;
}

CamArrays from_value(const PickleValue& value,
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
CamArrays from_npz(const std::map<std::string, NDArray>& members,
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
           printable_key(list));
  CamArrays out;
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

CamArrays decode_cam_bytes(const uint8_t* data,
                           size_t size,
                           const std::string& name,
                           const CamReadOptions& options) {
  PickleValue value;
  if (load_npy_object(data, size, name, value))
    return from_value(value, name, options);
  if (starts_with(data, size, kNpyMagic)) {
    return from_plain_array(decode_npy(data, size, name), name, options);
  }
  if (starts_with(data, size, kZipMagic)) {
    return from_npz(decode_npz(data, size, name), name, options);
  }
  PM_FAIL("{}: not a CAM file (expected .npy, .npz or a pickle)", name);
}

/// Whether a CAM member holds a map: any shape but the default (0, 0, 0), so that (0, H, W) maps
/// of an image with no classes are written and keep the image size.
bool holds_map(const Planes& map) {
  return map.channels() > 0 || map.height() > 0 || map.width() > 0;
}

void check_writable(const CamFile& cams) {
  for (size_t i = 0; i < cams.keys.size(); ++i) {
    PM_CHECK(cams.keys[i] >= 0, "write_cam_file: negative class id {}", cams.keys[i]);
    for (size_t j = 0; j < i; ++j) {
      PM_CHECK(
          cams.keys[i] != cams.keys[j], "write_cam_file: class id {} appears twice", cams.keys[i]);
    }
  }
  PM_CHECK(holds_map(cams.cam) || holds_map(cams.high_res),
           "write_cam_file: neither 'cam' nor 'high_res' holds a map");
  for (const Planes* a : {&cams.cam, &cams.high_res}) {
    if (!holds_map(*a))
      continue;
    PM_CHECK(static_cast<size_t>(a->channels()) == cams.keys.size(),
             "write_cam_file: map of shape {} for {} keys",
             a->describe(),
             cams.keys.size());
  }
}

CamFile as_planes(CamArrays arrays, const std::string& name) {
  CamFile out;
  out.keys = std::move(arrays.keys);
  out.cam = planes_from_ndarray(arrays.cam, name, "cam");
  out.high_res = planes_from_ndarray(arrays.high_res, name, "high_res");
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Public API.

CamFile decode_cam_file(const uint8_t* data,
                        size_t size,
                        const std::string& name,
                        const CamReadOptions& options) {
  return as_planes(decode_named(name, [&] { return decode_cam_bytes(data, size, name, options); }),
                   name);
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
  if (holds_map(cams.cam)) {
    cam = planes_to_ndarray(cams.cam);
    dict.emplace_back("cam", &cam);
  }
  if (holds_map(cams.high_res)) {
    high_res = planes_to_ndarray(cams.high_res);
    dict.emplace_back("high_res", &high_res);
  }
  return encode_npy_dict(dict);
}

void write_cam_file(const std::string& path, const CamFile& cams) {
  write_encoded(path, [&] { return encode_cam_file(cams); });
}

}  // namespace pm
