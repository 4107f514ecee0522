// SPDX-License-Identifier: MIT
// IRN's cls_labels.npy (np.save of a dict id → multi-hot vector), read through the restricted
// unpickler and written exactly as numpy's np.save writes it.
#include "pseudomask/core/datasets/cls_labels.h"

#include "pseudomask/core/common/files.h"
#include "pseudomask/core/io/numpy/object_npy.h"

namespace pm {
namespace {

using Kind = PickleValue::Kind;

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
  PM_CHECK(load_npy_object(data, size, name, value),
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
    std::vector<uint8_t> hot = multi_hot(vector, printable_key(id), name);
    if (labels.num_classes == 0)
      labels.num_classes = static_cast<int>(hot.size());
    PM_CHECK(static_cast<int>(hot.size()) == labels.num_classes,
             "{}: label of '{}' has {} entries, others have {}",
             name,
             printable_key(id),
             hot.size(),
             labels.num_classes);
    const std::string shown = printable_key(id);
    PM_CHECK(labels.multi_hot.emplace(std::move(id), std::move(hot)).second,
             "{}: image id '{}' appears twice",
             name,
             shown);
  }
  return labels;
}

}  // namespace

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
  return encode_npy_dict(dict);
}

void write_cls_labels(const std::string& path, const ClsLabels& labels) {
  write_encoded(path, [&] { return encode_cls_labels(labels); });
}

ClsLabels decode_cls_labels(const uint8_t* data, size_t size, const std::string& name) {
  return decode_named(name, [&] { return decode_labels_bytes(data, size, name); });
}

ClsLabels read_cls_labels(const std::string& path) {
  const std::vector<uint8_t> bytes = read_file_bytes(path);
  return decode_cls_labels(bytes.data(), bytes.size(), path);
}

}  // namespace pm
