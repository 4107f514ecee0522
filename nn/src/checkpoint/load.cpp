// SPDX-License-Identifier: MIT
#include "pseudomask/nn/checkpoint/load.h"

#include <torch/csrc/autograd/grad_mode.h>

#include <fmt/format.h>

#include <map>

#include "pseudomask/core/common/error.h"
#include "pseudomask/nn/backbones/vit.h"
#include "pseudomask/nn/tensor.h"

namespace pm::nn {
namespace {

/// Names listed in error messages before "and N more".
constexpr size_t kMaxNamesShown = 4;

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string name_list(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < kMaxNamesShown; ++i)
    out += (i ? ", " : "") + names[i];
  if (names.size() > kMaxNamesShown)
    out += fmt::format(", and {} more", names.size() - kMaxNamesShown);
  return out;
}

std::string shape_text(const torch::Tensor& t) {
  return shape_string(t.sizes().vec());
}

/// The module's parameters and buffers by name (prefix + Module name), in registration order.
std::vector<std::pair<std::string, torch::Tensor>> module_tensors(const torch::nn::Module& m,
                                                                  const std::string& prefix) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& p : m.named_parameters(/*recurse=*/true))
    out.emplace_back(prefix + p.key(), p.value());
  for (const auto& b : m.named_buffers(/*recurse=*/true))
    out.emplace_back(prefix + b.key(), b.value());
  return out;
}

/// The module name a file key maps to under the rules, and how ("" if unchanged).
std::pair<std::string, const RenameRule*> target_name(const std::string& key,
                                                      const LoadRules& rules) {
  for (const RenameRule& r : rules.renames) {
    if (starts_with(key, r.from))
      return {r.to + key.substr(r.from.size()), &r};
  }
  return {key, nullptr};
}

}  // namespace

LoadRules torchvision_resnet_rules() {
  LoadRules r;
  r.ignore_prefixes = {"fc."};
  // torchvision's hosted files from before PyTorch 0.4.1 (resnet50-19c8e357.pth, the one the WSSS
  // code loads) have no BatchNorm counters; PyTorch's own loader accepts them without.
  r.allow_missing_suffixes = {"num_batches_tracked"};
  return r;
}

LoadRules resnet38d_rules() {
  LoadRules r;
  r.ignore_prefixes = {"linear1000."};
  r.allow_missing_suffixes = {"num_batches_tracked"};
  return r;
}

LoadRules res2net_rules() {
  LoadRules r;
  r.ignore_prefixes = {"fc."};
  r.allow_missing_suffixes = {"num_batches_tracked"};
  return r;
}

LoadRules torchvision_vgg_rules() {
  LoadRules r;
  r.renames = {{"classifier.0.", "fc6.", true}, {"classifier.3.", "fc7.", true}};
  r.ignore_prefixes = {"classifier.6."};
  return r;
}

LoadRules timm_vit_rules() {
  LoadRules r;
  r.ignore_prefixes = {"head.", "head_dist.", "dist_token", "fc_norm."};
  r.resample_pos_embed = true;
  return r;
}

std::string LoadReport::summary() const {
  std::string s = fmt::format("loaded {} tensors", loaded.size());
  if (!missing.empty())
    s += fmt::format("; {} missing ({})", missing.size(), name_list(missing));
  if (!unexpected.empty())
    s += fmt::format("; {} unexpected ({})", unexpected.size(), name_list(unexpected));
  if (!mismatched.empty())
    s += fmt::format("; {} shape mismatch ({})", mismatched.size(), name_list(mismatched));
  if (!ignored.empty())
    s += fmt::format("; {} ignored ({})", ignored.size(), name_list(ignored));
  if (!adapted.empty())
    s += fmt::format("; {} adapted ({})", adapted.size(), name_list(adapted));
  if (!allowed_missing.empty())
    s += fmt::format("; {} left at init ({})", allowed_missing.size(), name_list(allowed_missing));
  return s;
}

LoadReport load_state_dict(torch::nn::Module& module,
                           const Checkpoint& checkpoint,
                           const LoadRules& rules,
                           const std::string& name,
                           bool strict,
                           const std::string& prefix) {
  const auto targets = module_tensors(module, prefix);
  std::map<std::string, torch::Tensor> by_name(targets.begin(), targets.end());
  LoadReport report;
  // Planned copies: module tensor ← converted file tensor. Nothing is written until all are known.
  std::vector<std::pair<torch::Tensor, torch::Tensor>> copies;
  std::map<std::string, bool> seen;
  for (const auto& [key, array] : checkpoint.tensors) {
    const auto [target, rule] = target_name(key, rules);
    const auto it = by_name.find(target);
    if (it == by_name.end()) {
      bool ignored = false;
      for (const auto& p : rules.ignore_prefixes)
        ignored = ignored || starts_with(key, p);
      (ignored ? report.ignored : report.unexpected).push_back(key);
      continue;
    }
    const torch::Tensor& dst = it->second;
    torch::Tensor src = to_tensor(array);
    std::string how = rule ? "renamed" : "";
    if (src.sizes() != dst.sizes()) {
      const bool is_pos = rules.resample_pos_embed && starts_with(target, prefix) &&
                          target.substr(prefix.size()) == "pos_embed" && src.dim() == 3 &&
                          dst.dim() == 3 && src.size(2) == dst.size(2);
      if (rule && rule->reshape && src.numel() == dst.numel()) {
        src = src.reshape(dst.sizes());
        how = "reshaped " + shape_text(to_tensor(array)) + " to " + shape_text(dst);
      } else if (is_pos) {
        const int64_t tokens = dst.size(1) - 1;
        const auto g = static_cast<int>(std::llround(std::sqrt(static_cast<double>(tokens))));
        PM_CHECK(static_cast<int64_t>(g) * g == tokens,
                 "{}: {}: cannot resample to a non-square grid of {} tokens",
                 name,
                 key,
                 tokens);
        src = resample_pos_embed(src.to(torch::kFloat32), g, g, rules.pos_embed_mode);
        how = fmt::format("resampled {} to {} ({})",
                          shape_text(to_tensor(array)),
                          shape_text(dst),
                          rules.pos_embed_mode);
      } else {
        report.mismatched.push_back(
            fmt::format("{}: file {} vs model {}", target, shape_text(src), shape_text(dst)));
        seen[target] = true;
        continue;
      }
    }
    if (!how.empty())
      report.adapted.push_back(key == target ? fmt::format("{} ({})", key, how)
                                             : fmt::format("{} -> {} ({})", key, target, how));
    PM_CHECK(!seen.count(target), "{}: two tensors load into {}", name, target);
    seen[target] = true;
    report.loaded.push_back(target);
    copies.emplace_back(dst, src);
  }
  for (const auto& [target, tensor] : targets) {
    if (seen.count(target))
      continue;
    bool allowed = false;
    for (const auto& p : rules.allow_missing_prefixes)
      allowed = allowed || starts_with(target, prefix + p);
    for (const auto& s : rules.allow_missing_suffixes)
      allowed = allowed || ends_with(target, s);
    (allowed ? report.allowed_missing : report.missing).push_back(target);
  }
  if (strict)
    PM_CHECK(report.ok(), "{}: cannot load: {}", name, report.summary());
  torch::NoGradGuard no_grad;
  for (auto& [dst, src] : copies)
    dst.copy_(src.to(dst.dtype()));
  return report;
}

Checkpoint state_dict_of(const torch::nn::Module& module, const std::string& prefix) {
  Checkpoint ckpt;
  for (const auto& [key, tensor] : module_tensors(module, prefix))
    ckpt.tensors.emplace_back(key, to_ndarray(tensor.detach()));
  return ckpt;
}

}  // namespace pm::nn
