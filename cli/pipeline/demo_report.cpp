// SPDX-License-Identifier: MIT
#include "pipeline/demo_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>

#include "common/report.h"
#include "pseudomask/core/common/error.h"

namespace pm::cli {
namespace {

using nlohmann::json;

json read_eval_json(const std::string& path) {
  std::ifstream in(path);
  PM_CHECK(in.good(), "{}: missing (its pipeline step did not run)", path);
  try {
    return json::parse(in);
  } catch (const std::exception& e) {
    PM_FAIL("{}: not a JSON eval report: {}", path, e.what());
  }
}

double number_or_nan(const json& j, const char* key) {
  return j.contains(key) && j[key].is_number() ? j[key].get<double>() : std::nan("");
}

// mIoU, precision and recall of an eval report (or of eval-cam's best threshold).
json scores(const json& metrics) {
  return {{"miou", number_or_nan(metrics, "mean_iou")},
          {"precision", number_or_nan(metrics, "mean_precision")},
          {"recall", number_or_nan(metrics, "mean_recall")}};
}

json pseudo_mask_row(const DemoConfig& c, const CamSet& s) {
  const json cam = read_eval_json(c.out + "/eval/cam_" + s.key + ".json");
  const json crf = read_eval_json(c.out + "/eval/crf_" + s.key + ".json");
  const json irn = read_eval_json(c.out + "/eval/irn_" + s.key + ".json");
  json row = scores(cam.at("best"));
  row["key"] = s.key;
  row["label"] = s.label;
  row["threshold"] = number_or_nan(cam, "best_threshold");
  row["crf"] = scores(crf);
  row["irn"] = scores(irn);
  return row;
}

json seg_row(const DemoConfig& c, const SegVariant& v) {
  std::vector<double> miou;
  for (int seed = 0; seed < c.seeds; ++seed) {
    const std::string path = fmt::format("{}/eval/seg_{}_seed{}.json", c.out, v.key, seed);
    miou.push_back(number_or_nan(read_eval_json(path), "mean_iou"));
  }
  const auto [mean, sd] = mean_and_std(miou);
  return {{"key", v.key}, {"label", v.label}, {"miou", miou}, {"mean", mean}, {"std", sd}};
}

json steps_json(const std::vector<StepResult>& steps) {
  json out = json::array();
  for (const StepResult& s : steps) {
    out.push_back(
        {{"name", s.name}, {"stage", s.stage}, {"seconds", s.seconds}, {"skipped", s.skipped}});
  }
  return out;
}

double value_of(const json& j) {
  return j.is_number() ? j.get<double>() : std::nan("");
}

std::string pct(const json& v) {
  return v.is_number() && !std::isnan(v.get<double>()) ? percent(v.get<double>()) : "-";
}

// Seconds per stage, in first-seen order.
std::vector<std::pair<std::string, double>> stage_seconds(const json& steps) {
  std::vector<std::pair<std::string, double>> out;
  for (const json& s : steps) {
    const std::string stage = s.at("stage");
    auto it = std::find_if(out.begin(), out.end(), [&](const auto& p) { return p.first == stage; });
    if (it == out.end())
      it = out.emplace(out.end(), stage, 0.0);
    it->second += s.at("seconds").get<double>();
  }
  return out;
}

std::string seg_cell(const json& row) {
  if (row.at("miou").size() <= 1)
    return pct(row.at("mean"));
  return pct(row.at("mean")) + " ± " + pct(row.at("std"));
}

std::string pseudo_mask_markdown(const json& r) {
  std::string md =
      "| pseudo-masks (train) | threshold | mIoU | precision | recall | mIoU +CRF | precision "
      "+CRF | recall +CRF | mIoU w/ IRN | precision w/ IRN | recall w/ IRN "
      "|\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const json& row : r.at("pseudo_masks")) {
    md += fmt::format("| {} | {:.2f} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
                      row.at("label").get<std::string>(),
                      row.at("threshold").get<double>(),
                      pct(row["miou"]),
                      pct(row["precision"]),
                      pct(row["recall"]),
                      pct(row["crf"]["miou"]),
                      pct(row["crf"]["precision"]),
                      pct(row["crf"]["recall"]),
                      pct(row["irn"]["miou"]),
                      pct(row["irn"]["precision"]),
                      pct(row["irn"]["recall"]));
  }
  const json& cyc = r.at("cyclic");
  md += fmt::format(
      "| cyclic masks M_c (the first segmentation model + CRF) | | | | | {} | {} | {} | | | |\n",
      pct(cyc["miou"]),
      pct(cyc["precision"]),
      pct(cyc["recall"]));
  return md;
}

// Whether IRN's random walk beats the CRF: per CAM set, and for the ORANDNet masks.
std::string irn_vs_crf_line(const json& r) {
  int better = 0, sets = 0;
  double orand_irn = std::nan(""), orand_crf = std::nan("");
  for (const json& row : r.at("pseudo_masks")) {
    const double irn = value_of(row["irn"]["miou"]), crf = value_of(row["crf"]["miou"]);
    ++sets;
    better += irn > crf ? 1 : 0;
    if (row.at("key") == "orand") {
      orand_irn = irn;
      orand_crf = crf;
    }
  }
  return fmt::format(
      "w/ IRN vs +CRF: IRN's random walk gives the higher mIoU for {} of {} CAM sets "
      "(ORANDNet: {} w/ IRN, {} +CRF).\n",
      better,
      sets,
      std::isnan(orand_irn) ? std::string("-") : percent(orand_irn),
      std::isnan(orand_crf) ? std::string("-") : percent(orand_crf));
}

std::string seg_markdown(const json& r) {
  const size_t seeds = r.at("config").at("seeds").get<size_t>();
  std::string md =
      fmt::format("| segmentation trained on | val mIoU ({}) |\n|---|---:|\n",
                  seeds > 1 ? fmt::format("mean ± std of {} seeds", seeds) : std::string("1 seed"));
  for (const json& row : r.at("segmentation"))
    md += fmt::format("| {} | {} |\n", row.at("label").get<std::string>(), seg_cell(row));
  return md;
}

std::string timing_line(const json& r) {
  std::string line =
      fmt::format("Time: {:.0f} s wall clock for this run; the steps took {:.0f} s (",
                  r.at("wall_seconds").get<double>(),
                  r.at("step_seconds").get<double>());
  bool first = true;
  for (const auto& [stage, seconds] : stage_seconds(r.at("steps"))) {
    line += fmt::format("{}{} {:.0f} s", first ? "" : ", ", stage, seconds);
    first = false;
  }
  return line + ").\n";
}

// --- HTML -----------------------------------------------------------------------------------

std::string escape_html(const std::string& s) {
  std::string out;
  for (char ch : s) {
    switch (ch) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += ch;
    }
  }
  return out;
}

// A Markdown table (as rendered above) as an HTML table.
std::string markdown_table_html(const std::string& md) {
  std::string html = "<table>\n";
  size_t line_no = 0;
  for (size_t start = 0; start < md.size();) {
    const size_t end = md.find('\n', start);
    const std::string line = md.substr(start, end - start);
    start = end == std::string::npos ? md.size() : end + 1;
    if (line_no++ == 1 || line.size() < 2)
      continue;  // the |---| separator
    const char* cell = line_no == 1 ? "th" : "td";
    html += "<tr>";
    for (size_t a = 1; a < line.size();) {
      const size_t b = line.find('|', a);
      if (b == std::string::npos)
        break;
      std::string text = line.substr(a, b - a);
      text.erase(0, text.find_first_not_of(' '));
      text.erase(text.find_last_not_of(' ') + 1);
      html += fmt::format("<{0}>{1}</{0}>", cell, escape_html(text));
      a = b + 1;
    }
    html += "</tr>\n";
  }
  return html + "</table>\n";
}

struct BarSeries {
  std::string name;
  std::string colour;
  std::vector<double> values;  // fractions; NaN draws no bar
};

// A grouped horizontal bar chart (one group per label), as inline SVG.
std::string bar_chart_svg(const std::vector<std::string>& labels,
                          const std::vector<BarSeries>& series) {
  const int bar = 12, gap = 10, left = 290, width = 420;
  const int group = static_cast<int>(series.size()) * bar + gap;
  const int height = static_cast<int>(labels.size()) * group + 40;
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n",
      left + width + 60,
      height);
  for (size_t g = 0; g < labels.size(); ++g) {
    const int y0 = static_cast<int>(g) * group;
    svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n",
                       left - 6,
                       y0 + group / 2,
                       escape_html(labels[g]));
    for (size_t s = 0; s < series.size(); ++s) {
      const double v = series[s].values[g];
      if (std::isnan(v))
        continue;
      const int y = y0 + static_cast<int>(s) * bar;
      svg += fmt::format(
          "<rect x=\"{}\" y=\"{}\" width=\"{:.1f}\" height=\"{}\" fill=\"{}\"/>"
          "<text x=\"{:.1f}\" y=\"{}\" font-size=\"10\">{:.1f}</text>\n",
          left,
          y,
          std::max(0.0, v) * width,
          bar - 2,
          series[s].colour,
          left + std::max(0.0, v) * width + 3,
          y + bar - 3,
          100.0 * v);
    }
  }
  const int ly = height - 20;
  for (size_t s = 0; s < series.size(); ++s) {
    const int x = left + static_cast<int>(s) * 130;
    svg += fmt::format(
        "<rect x=\"{}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"{}\"/>"
        "<text x=\"{}\" y=\"{}\">{}</text>\n",
        x,
        ly,
        series[s].colour,
        x + 16,
        ly + 10,
        escape_html(series[s].name));
  }
  return svg + "</svg>\n";
}

std::string pseudo_mask_chart(const json& r) {
  std::vector<std::string> labels;
  BarSeries miou{"mIoU", "#4e79a7", {}}, prec{"precision", "#f28e2b", {}},
      rec{"recall", "#59a14f", {}};
  for (const json& row : r.at("pseudo_masks")) {
    for (const char* refine : {"", "crf", "irn"}) {
      const std::string how = refine;
      const json& s = how.empty() ? row : row.at(how);
      labels.push_back(row.at("label").get<std::string>() + (how.empty()    ? ""
                                                             : how == "crf" ? " + CRF"
                                                                            : " w/ IRN"));
      miou.values.push_back(value_of(s["miou"]));
      prec.values.push_back(value_of(s["precision"]));
      rec.values.push_back(value_of(s["recall"]));
    }
  }
  return bar_chart_svg(labels, {miou, prec, rec});
}

std::string seg_chart(const json& r) {
  std::vector<std::string> labels;
  BarSeries miou{"val mIoU", "#4e79a7", {}};
  for (const json& row : r.at("segmentation")) {
    labels.push_back(row.at("label"));
    miou.values.push_back(value_of(row.at("mean")));
  }
  return bar_chart_svg(labels, {miou});
}

std::string figure(const std::string& file, const std::string& caption) {
  return fmt::format("<figure><img src=\"{}\" alt=\"{}\"><figcaption>{}</figcaption></figure>\n",
                     file,
                     escape_html(caption),
                     escape_html(caption));
}

}  // namespace

std::pair<double, double> mean_and_std(const std::vector<double>& values) {
  if (values.empty())
    return {std::nan(""), std::nan("")};
  double sum = 0;
  for (double v : values)
    sum += v;
  const double mean = sum / static_cast<double>(values.size());
  if (values.size() == 1)
    return {mean, 0.0};
  double ss = 0;
  for (double v : values)
    ss += (v - mean) * (v - mean);
  return {mean, std::sqrt(ss / static_cast<double>(values.size() - 1))};
}

nlohmann::json collect_demo_results(const DemoConfig& c,
                                    const std::vector<StepResult>& steps,
                                    double wall_seconds) {
  json pseudo = json::array();
  for (const CamSet& s : demo_cam_sets())
    pseudo.push_back(pseudo_mask_row(c, s));
  json seg = json::array();
  for (const SegVariant& v : demo_seg_variants())
    seg.push_back(seg_row(c, v));
  double total = 0;
  for (const StepResult& s : steps)
    total += s.seconds;
  return {{"config",
           {{"train_images", c.train_images},
            {"val_images", demo_val_images(c.train_images)},
            {"image_size", c.image_size},
            {"data_seed", c.data_seed},
            {"seeds", c.seeds},
            {"epoch_scale", c.epoch_scale},
            {"device", c.device}}},
          {"pseudo_masks", pseudo},
          {"cyclic", scores(read_eval_json(c.out + "/eval/cyclic.json"))},
          {"segmentation", seg},
          {"steps", steps_json(steps)},
          {"step_seconds", total},
          {"wall_seconds", wall_seconds}};
}

std::string demo_results_markdown(const nlohmann::json& r) {
  return "## (1) Pseudo-mask quality on the training images (ORANDNet Table 1)\n\n" +
         pseudo_mask_markdown(r) +
         "\nWithout CRF: each CAM set at its best background threshold (eval-cam sweep); "
         "+CRF: labels --mode crf; w/ IRN: irn-labels (IRN's random walk over the boundary maps "
         "of an IRN trained on the ORANDNet CAMs' confident regions).\n" +
         irn_vs_crf_line(r) +
         "\n"
         "## (2) Segmentation on val (URN Table 5, ORANDNet scale scheduling)\n\n" +
         seg_markdown(r) + "\n" + timing_line(r);
}

std::string demo_results_html(const nlohmann::json& r) {
  std::string html =
      "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>pseudomask demo</title>\n"
      "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;}"
      "table{border-collapse:collapse;margin:1em 0;}td,th{border:1px solid #ccc;padding:3px 8px;"
      "text-align:right;}td:first-child,th:first-child{text-align:left;}"
      "figure{margin:1em 0;}img{max-width:100%;image-rendering:pixelated;}</style>\n"
      "</head><body>\n<h1>pseudomask demo: the WSSS pipeline on the synthetic dataset</h1>\n";
  const json& cfg = r.at("config");
  html +=
      fmt::format("<p>{} training and {} validation images of {} px (seed {}), device {}.</p>\n",
                  cfg.at("train_images").get<int>(),
                  cfg.at("val_images").get<int>(),
                  cfg.at("image_size").get<int>(),
                  cfg.at("data_seed").get<unsigned>(),
                  escape_html(cfg.at("device").get<std::string>()));
  html += "<h2>(1) Pseudo-mask quality on the training images</h2>\n" +
          markdown_table_html(pseudo_mask_markdown(r)) + pseudo_mask_chart(r);
  html += figure("pseudo_masks.png",
                 "Training images: image | ground truth | pseudo-masks (+CRF) of A, B, mean, OR, "
                 "AND, ORANDNet | ORANDNet w/ IRN | cyclic mask M_c | URN uncertainty");
  for (const std::string key : {"A", "B", "and", "orand"})
    html += figure("cams_" + key + ".png", "CAM heat maps: " + key);
  html +=
      "<h2>(2) Segmentation on val</h2>\n" + markdown_table_html(seg_markdown(r)) + seg_chart(r);
  html += figure("predictions.png",
                 "Val images: image | ground truth | predictions of each variant (seed 0), in "
                 "table order");
  html += figure("dataset.png", "The synthetic dataset: image | mask | overlay");
  html += "<p>" + escape_html(timing_line(r)) + "</p>\n</body></html>\n";
  return html;
}

}  // namespace pm::cli
