// SPDX-License-Identifier: MIT
#include "pseudomask/nn/train/sgd.h"

#include <ATen/Parallel.h>
#include <torch/csrc/autograd/grad_mode.h>
#include <torch/utils.h>

#include <fmt/format.h>

#include <cmath>

#include "pseudomask/core/common/error.h"
#include "pseudomask/nn/tensor.h"
#include "pseudomask/nn/threads.h"

namespace pm::nn {

namespace {
constexpr double kPi = 3.14159265358979323846;
}  // namespace

PolySgd::PolySgd(std::vector<ParamGroup> groups, const SgdOptions& options)
    : groups_(std::move(groups)), options_(options) {
  PM_CHECK(
      options_.total_steps >= 1, "SGD: total steps must be positive, got {}", options_.total_steps);
  PM_CHECK(options_.lr > 0, "SgdOptions::lr {}: must be positive", options_.lr);
  PM_CHECK(options_.momentum >= 0 && options_.momentum < 1,
           "SgdOptions::momentum {}: must be in [0, 1)",
           options_.momentum);
  PM_CHECK(options_.weight_decay >= 0,
           "SgdOptions::weight_decay {}: must be >= 0",
           options_.weight_decay);
  for (const auto& g : groups_)
    buffers_.emplace_back(g.params.size());
}

LrSchedule parse_lr_schedule(const std::string& name, const std::string& field) {
  if (name == "poly")
    return LrSchedule::kPoly;
  if (name == "cosine")
    return LrSchedule::kCosine;
  throw Error(fmt::format("{} '{}': unknown schedule (poly or cosine)", field, name));
}

const char* lr_schedule_name(LrSchedule schedule) {
  return schedule == LrSchedule::kCosine ? "cosine" : "poly";
}

double PolySgd::lr_at(int64_t step) const {
  const double done = static_cast<double>(step) / static_cast<double>(options_.total_steps);
  const double floor = options_.min_lr;
  if (done >= 1)
    return floor;
  if (options_.schedule == LrSchedule::kCosine)
    return floor + (options_.lr - floor) * 0.5 * (1.0 + std::cos(kPi * done));
  return (options_.lr - floor) * std::pow(1.0 - done, options_.poly_power) + floor;
}

double PolySgd::step(int64_t step) {
  const double lr = lr_at(step);
  torch::NoGradGuard no_grad;
  for (size_t g = 0; g < groups_.size(); ++g) {
    const double group_lr = lr * groups_[g].lr_mult;
    for (size_t i = 0; i < groups_[g].params.size(); ++i) {
      torch::Tensor p = groups_[g].params[i].second;
      if (!p.grad().defined())
        continue;
      torch::Tensor d = p.grad();
      if (options_.weight_decay != 0)
        d = d.add(p, options_.weight_decay);
      torch::Tensor& buf = buffers_[g][i];
      if (options_.momentum != 0) {
        if (!buf.defined())
          buf = d.clone();
        else
          buf.mul_(options_.momentum).add_(d);
        d = buf;
      }
      p.add_(d, -group_lr);
    }
  }
  return lr;
}

void PolySgd::zero_grad() {
  for (auto& g : groups_) {
    for (auto& [name, p] : g.params) {
      if (p.grad().defined())
        p.mutable_grad() = torch::Tensor();
    }
  }
}

void PolySgd::save_state(Checkpoint& ckpt, const std::string& prefix) const {
  for (size_t g = 0; g < groups_.size(); ++g) {
    for (size_t i = 0; i < groups_[g].params.size(); ++i) {
      if (buffers_[g][i].defined())
        ckpt.tensors.emplace_back(prefix + groups_[g].params[i].first, to_ndarray(buffers_[g][i]));
    }
  }
}

void PolySgd::load_state(const Checkpoint& ckpt,
                         const std::string& prefix,
                         const std::string& name) {
  for (size_t g = 0; g < groups_.size(); ++g) {
    for (size_t i = 0; i < groups_[g].params.size(); ++i) {
      const auto& [pname, p] = groups_[g].params[i];
      const NDArray* a = ckpt.find(prefix + pname);
      if (a == nullptr) {
        buffers_[g][i] = torch::Tensor();
        continue;
      }
      const torch::Tensor t = to_tensor(*a);
      PM_CHECK(t.sizes() == p.sizes(),
               "{}: momentum of {} is {}, the parameter is {}",
               name,
               pname,
               shape_string(t.sizes().vec()),
               shape_string(p.sizes().vec()));
      buffers_[g][i] = t.to(p.device(), p.scalar_type());
    }
  }
}

torch::Device start_training(
    size_t samples, int batch_size, int threads, const std::string& device, uint64_t seed) {
  PM_CHECK(samples >= static_cast<size_t>(batch_size),
           "batch_size {}: the training set has only {} images",
           batch_size,
           samples);
  if (threads > 0)
    set_torch_threads(threads);
  const torch::Device parsed = parse_device(device);
  torch::manual_seed(seed);
  return parsed;
}

}  // namespace pm::nn
