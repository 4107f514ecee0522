// SPDX-License-Identifier: MIT
#include "pseudomask/nn/irn/irn_trainer.h"

#include <fmt/format.h>
#include <torch/types.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>

#include "pseudomask/core/common/error.h"
#include "pseudomask/core/io/torch/checkpoint.h"
#include "pseudomask/nn/backbones/backbone.h"
#include "pseudomask/nn/checkpoint/load.h"
#include "pseudomask/nn/tensor.h"
#include "pseudomask/nn/train/loop.h"
#include "pseudomask/nn/train/sgd.h"

namespace pm::nn {
namespace {

constexpr const char* kMomentumPrefix = "momentum.";
/// Rng stream of the sample order (the augmentation has its own, in irn_data.cpp).
constexpr uint64_t kOrderStream = 0x12a001;

/// `tensors` with their names in `net` (for the optimiser's named momentum buffers).
ParamGroup named_group(IrnNet& net, const std::vector<torch::Tensor>& tensors, double lr_mult) {
  std::map<const void*, std::string> names;
  for (const auto& p : net->named_parameters())
    names[p.value().unsafeGetTensorImpl()] = p.key();
  ParamGroup g;
  g.lr_mult = lr_mult;
  for (const torch::Tensor& t : tensors) {
    const auto it = names.find(t.unsafeGetTensorImpl());
    PM_CHECK(it != names.end(), "IrnNet: a parameter of a training group is not in the module");
    if (t.requires_grad())
      g.params.emplace_back(it->second, t);
  }
  return g;
}

std::string log_row(const IrnStepLog& s) {
  return fmt::format("{},{},{:.6f},{:.6f},{:.6f},{:.6f},{:.6f},{:.6g}",
                     s.step,
                     s.epoch,
                     s.pos_aff,
                     s.neg_aff,
                     s.dp_fg,
                     s.dp_bg,
                     s.loss,
                     s.lr);
}

/// IrnNet and IRN's losses, as the training loop drives them.
class IrnTask final : public TrainTask<IrnBatch> {
 public:
  IrnTask(const std::vector<IrnTrainSample>& samples,
          const TrainIrnOptions& o,
          IrnNet net,
          int64_t total,
          const torch::Device& device,
          const IrnStepCallback& on_step,
          TrainIrnResult& result)
      : samples_(samples),
        o_(o),
        net_(std::move(net)),
        index_(o.augment.radius, o.augment.label_side(), o.augment.label_side()),
        sgd_({named_group(net_, net_->edge_parameters(), 1.0),
              named_group(net_, net_->displacement_parameters(), o.dp_lr_mult)},
             {o.lr, o.momentum, o.weight_decay, o.poly_power, total, 0, LrSchedule::kPoly}),
        total_(total),
        device_(device),
        on_step_(on_step),
        result_(result) {}

  torch::nn::Module& module() override { return *net_; }
  PolySgd& optimizer() override { return sgd_; }

  std::vector<std::pair<std::string, std::string>> metadata() const override {
    return {{irn_meta::kFormat, irn_meta::kFormatName},
            {irn_meta::kArch, o_.net.backbone},
            {irn_meta::kEdgeWidth, std::to_string(o_.net.resolved_edge_width())},
            {irn_meta::kDpWidth, std::to_string(o_.net.resolved_dp_width())},
            {irn_meta::kRadius, std::to_string(o_.augment.radius)},
            {irn_meta::kCrop, std::to_string(o_.augment.crop)},
            {irn_meta::kSeed, std::to_string(o_.seed)}};
  }

  IrnBatch load_batch(const BatchPlan& plan) const override {
    return make_irn_batch(samples_, plan, o_.augment, index_, o_.seed, o_.workers, o_.num_classes);
  }

  std::string train_step(IrnBatch& b, const BatchPlan& plan) override {
    const torch::Tensor x = b.images.to(device_);
    auto on_device = [&](const torch::Tensor& t) { return t.to(device_).to(torch::kFloat32); };
    const IrnPairLabels labels{on_device(b.bg_pos), on_device(b.fg_pos), on_device(b.neg)};
    const IrnOutputs out = net_->forward(x);
    const IrnLosses l = irn_losses(out, labels, index_);
    sgd_.zero_grad();
    l.total.backward();
    IrnStepLog s;
    s.step = plan.step;
    s.epoch = plan.epoch;
    s.lr = sgd_.step(plan.step);
    s.pos_aff = l.pos_aff.item<double>();
    s.neg_aff = l.neg_aff.item<double>();
    s.dp_fg = l.dp_fg.item<double>();
    s.dp_bg = l.dp_bg.item<double>();
    s.loss = l.total.item<double>();
    PM_CHECK(std::isfinite(s.loss),
             "train-irn: the loss is {} at step {} (a lower learning rate?)",
             s.loss,
             plan.step);
    result_.steps.push_back(s);
    if (on_step_)
      on_step_(s, total_);
    return log_row(s);
  }

 private:
  const std::vector<IrnTrainSample>& samples_;
  const TrainIrnOptions& o_;
  IrnNet net_;
  PathIndex index_;
  PolySgd sgd_;
  int64_t total_;
  torch::Device device_;
  const IrnStepCallback& on_step_;
  TrainIrnResult& result_;
};

const std::string& required_meta(const Checkpoint& c, const char* key, const std::string& path) {
  const std::string* v = c.find_metadata(key);
  PM_CHECK(v != nullptr,
           "{}: no '{}' in the checkpoint's metadata (not a pseudomask IRN model)",
           path,
           key);
  return *v;
}

int meta_int(const Checkpoint& c, const char* key, const std::string& path) {
  const std::string& v = required_meta(c, key, path);
  try {
    size_t used = 0;
    const int n = std::stoi(v, &used);
    if (used == v.size())
      return n;
  } catch (const std::exception&) {
  }
  PM_FAIL("{}: metadata {} '{}' is not an integer", path, key, v);
}

}  // namespace

void TrainIrnOptions::validate() const {
  net.validate();
  augment.validate();
  PM_CHECK(!out_dir.empty(), "TrainIrnOptions::out_dir: an output folder is required");
  PM_CHECK(iterations >= 0 && (iterations > 0 || epochs > 0),
           "TrainIrnOptions::iterations/epochs {}/{}: give a positive budget",
           iterations,
           epochs);
  PM_CHECK(batch_size >= 1, "TrainIrnOptions::batch_size {}: must be positive", batch_size);
  PM_CHECK(lr > 0 && std::isfinite(lr), "TrainIrnOptions::lr {}: must be positive", lr);
  PM_CHECK(dp_lr_mult > 0, "TrainIrnOptions::dp_lr_mult {}: must be positive", dp_lr_mult);
  PM_CHECK(
      momentum >= 0 && momentum < 1, "TrainIrnOptions::momentum {}: must be in [0, 1)", momentum);
  PM_CHECK(weight_decay >= 0, "TrainIrnOptions::weight_decay {}: must be >= 0", weight_decay);
  PM_CHECK(num_classes >= 2 && num_classes <= 255,
           "TrainIrnOptions::num_classes {}: must be in [2, 255]",
           num_classes);
  PM_CHECK(workers >= 0 && threads >= 0,
           "TrainIrnOptions::workers/threads {}/{}: must be >= 0",
           workers,
           threads);
  PM_CHECK(stop_after >= 0, "TrainIrnOptions::stop_after {}: must be >= 0", stop_after);
}

TrainIrnResult train_irn(const std::vector<IrnTrainSample>& samples,
                         const TrainIrnOptions& o,
                         const IrnStepCallback& on_step) {
  o.validate();
  const auto start = std::chrono::steady_clock::now();
  const torch::Device device =
      start_training(samples.size(), o.batch_size, o.threads, o.device, o.seed);
  IrnNet net(o.net);
  if (!o.pretrained.empty())
    load_irn_backbone(net, o.pretrained);  // torchvision or a train-cls model
  net->to(device);
  net->train();

  const int64_t per_epoch = static_cast<int64_t>(samples.size()) / o.batch_size;
  const int64_t total = o.iterations > 0 ? o.iterations : per_epoch * o.epochs;
  TrainIrnResult r;
  r.freeze = net->backbone->freeze_state();
  IrnTask task(samples, o, net, total, device, on_step, r);
  LoopOptions loop = loop_options_of(o, samples.size(), total);
  loop.log_header = "step,epoch,pos_aff,neg_aff,dp_fg,dp_bg,loss,lr";
  loop.resume_must_match = {irn_meta::kArch,
                            irn_meta::kEdgeWidth,
                            irn_meta::kDpWidth,
                            irn_meta::kRadius,
                            irn_meta::kCrop};
  loop.optimizer_prefix = kMomentumPrefix;
  loop.order_stream = kOrderStream;
  const LoopResult done = run_training(loop, task);
  record_loop_result(done, r);
  r.steps_per_epoch = done.steps_per_epoch;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

IrnNet load_irn_model(const std::string& path, const std::string& device) {
  const Checkpoint ckpt = read_checkpoint(path);
  IrnNetOptions o;
  if (ckpt.find_metadata(irn_meta::kFormat) == nullptr) {
    // No pseudomask metadata: the public IRN code's res50_irn.pth (or IrnNet's keys of the
    // default network), which load_irn_weights reads.
    PM_CHECK(ckpt.metadata.empty(),
             "{}: no '{}' in the checkpoint's metadata (not a pseudomask IRN model)",
             path,
             irn_meta::kFormat);
    IrnNet net(o);
    load_irn_weights(net, path);
    net->to(parse_device(device));
    net->eval();
    return net;
  }
  const std::string& format = required_meta(ckpt, irn_meta::kFormat, path);
  PM_CHECK(format == irn_meta::kFormatName,
           "{}: metadata format is '{}', expected '{}'",
           path,
           format,
           irn_meta::kFormatName);
  o.backbone = required_meta(ckpt, irn_meta::kArch, path);
  o.edge_width = meta_int(ckpt, irn_meta::kEdgeWidth, path);
  o.dp_width = meta_int(ckpt, irn_meta::kDpWidth, path);
  o.validate();
  IrnNet net(o);
  LoadRules rules;
  rules.ignore_prefixes = {kMomentumPrefix};
  load_state_dict(*net, ckpt, rules, path);
  net->to(parse_device(device));
  net->eval();
  return net;
}

}  // namespace pm::nn
