// SPDX-License-Identifier: MIT
#pragma once
// Command-line words → core's enums. A flag's value is matched against the names core gives its
// enum values, so that a bad value fails naming the flag and every choice, and core never sees a
// string.

#include <initializer_list>
#include <string>

#include "pseudomask/core/common/error.h"
#include "pseudomask/core/crf/dense_crf.h"
#include "pseudomask/core/urn/uncertainty.h"

namespace pm::cli {

/// The value v of `all` whose name_of(v) is `word`; throws "<flag> <word>: expected a, b or c".
template <typename Enum, typename NameOf>
Enum enum_flag(const std::string& flag,
               const std::string& word,
               std::initializer_list<Enum> all,
               NameOf name_of) {
  std::string expected;
  size_t i = 0;
  for (Enum v : all) {
    if (word == name_of(v))
      return v;
    expected += i == 0 ? "" : i + 1 == all.size() ? " or " : ", ";
    expected += name_of(v);
    ++i;
  }
  PM_FAIL("{} {}: expected {}", flag, word, expected);
}

/// deeplab | urn | irn.
inline CrfPreset crf_preset_flag(const std::string& flag, const std::string& word) {
  return enum_flag(
      flag, word, {CrfPreset::kDeepLab, CrfPreset::kUrn, CrfPreset::kIrn}, crf_preset_name);
}

/// voc | coco.
inline UrnDataset urn_dataset_flag(const std::string& flag, const std::string& word) {
  return enum_flag(flag, word, {UrnDataset::kVoc, UrnDataset::kCoco}, urn_dataset_name);
}

/// hard | soft | prob.
inline UrnWeightMode urn_weight_mode_flag(const std::string& flag, const std::string& word) {
  return enum_flag(flag,
                   word,
                   {UrnWeightMode::kHard, UrnWeightMode::kSoft, UrnWeightMode::kProb},
                   urn_weight_mode_name);
}

}  // namespace pm::cli
