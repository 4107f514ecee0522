// SPDX-License-Identifier: MIT
#include "common/report.h"

#include <fmt/format.h>

#include <cmath>
#include <string>

#include "pseudomask/core/common/files.h"

namespace pm::cli {
namespace {

nlohmann::json number(double v) {
  return std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(v);
}

const std::string& name_of(const std::vector<std::string>& names, size_t c) {
  static const std::string unknown = "?";
  return c < names.size() ? names[c] : unknown;
}

}  // namespace

std::string percent(double fraction) {
  return std::isnan(fraction) ? "-" : fmt::format("{:.2f}", 100.0 * fraction);
}

nlohmann::json metrics_json(const Metrics& m, const std::vector<std::string>& class_names) {
  nlohmann::json classes = nlohmann::json::array();
  for (size_t c = 0; c < m.classes.size(); ++c) {
    const ClassMetrics& k = m.classes[c];
    classes.push_back({{"id", c},
                       {"name", name_of(class_names, c)},
                       {"iou", number(k.iou)},
                       {"precision", number(k.precision)},
                       {"recall", number(k.recall)},
                       {"fp_share", number(k.fp_share)},
                       {"fn_share", number(k.fn_share)},
                       {"tp", k.tp},
                       {"fp", k.fp},
                       {"fn", k.fn}});
  }
  return {{"mean_iou", number(m.mean_iou)},
          {"mean_precision", number(m.mean_precision)},
          {"mean_recall", number(m.mean_recall)},
          {"pixel_accuracy", number(m.pixel_accuracy)},
          {"pixels", m.pixels},
          {"classes", classes}};
}

std::string metrics_table(const Metrics& m, const std::vector<std::string>& class_names) {
  std::string out = "| id | class | IoU | precision | recall | FP share | FN share |\n";
  out += "|---:|---|---:|---:|---:|---:|---:|\n";
  for (size_t c = 0; c < m.classes.size(); ++c) {
    const ClassMetrics& k = m.classes[c];
    out += fmt::format("| {} | {} | {} | {} | {} | {} | {} |\n",
                       c,
                       name_of(class_names, c),
                       percent(k.iou),
                       percent(k.precision),
                       percent(k.recall),
                       percent(k.fp_share),
                       percent(k.fn_share));
  }
  out += fmt::format("| | **mean** | **{}** | **{}** | **{}** | | |\n",
                     percent(m.mean_iou),
                     percent(m.mean_precision),
                     percent(m.mean_recall));
  out += fmt::format("\npixel accuracy {} % over {} pixels\n", percent(m.pixel_accuracy), m.pixels);
  return out;
}

std::string metrics_csv(const Metrics& m, const std::vector<std::string>& class_names) {
  auto num = [](double v) { return std::isnan(v) ? std::string() : fmt::format("{:.6f}", v); };
  std::string out = "id,class,iou,precision,recall,fp_share,fn_share,tp,fp,fn\n";
  for (size_t c = 0; c < m.classes.size(); ++c) {
    const ClassMetrics& k = m.classes[c];
    out += fmt::format("{},\"{}\",{},{},{},{},{},{},{},{}\n",
                       c,
                       name_of(class_names, c),
                       num(k.iou),
                       num(k.precision),
                       num(k.recall),
                       num(k.fp_share),
                       num(k.fn_share),
                       k.tp,
                       k.fp,
                       k.fn);
  }
  out += fmt::format(
      "mean,,{},{},{},,,,,\n", num(m.mean_iou), num(m.mean_precision), num(m.mean_recall));
  return out;
}

double shortest(float v) {
  return std::stod(fmt::format("{}", v));
}

nlohmann::json crf_params_json(const CrfParams& params) {
  nlohmann::json terms = nlohmann::json::array();
  for (const PairwiseTerm& t : params.terms) {
    terms.push_back({{"sxy", shortest(t.sxy)},
                     {"srgb", shortest(t.srgb)},
                     {"compat", shortest(t.weight)},
                     {"kind", t.bilateral() ? "bilateral" : "gaussian"}});
  }
  return {{"iterations", params.iterations}, {"terms", terms}};
}

void write_json(const std::string& path, const nlohmann::json& j) {
  write_file_atomic(path, j.dump(2) + "\n");
}

}  // namespace pm::cli
