// SPDX-License-Identifier: MIT
#include "pseudomask/nn/orandnet/orandnet.h"

#include <torch/nn/functional/loss.h>
#include <torch/serialize.h>

#include <fmt/format.h>

#include <algorithm>
#include <numeric>
#include <random>

#include "pseudomask/core/common/error.h"
#include "pseudomask/core/ensemble/ensemble.h"
#include "pseudomask/nn/tensor.h"
#include "pseudomask/nn/train/loop.h"
#include "pseudomask/nn/train/sgd.h"

namespace pm::nn {
namespace {

constexpr const char* kArch = "orandnet-fcn8s";
constexpr const char* kSgdPrefix = "sgd.";
constexpr float kMaxEpsilon = 1e-5f;  // module/encdec_pred.py

/// The order of epoch `epoch` over n items: a shuffle seeded by seed · 1000003 + epoch.
std::vector<size_t> shuffled_order(size_t n, uint64_t seed, int epoch) {
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::mt19937_64 rng(seed * 1000003ULL + static_cast<uint64_t>(epoch));
  std::shuffle(order.begin(), order.end(), rng);
  return order;
}

int64_t parse_int(const std::string* s, const std::string& path, const char* key) {
  PM_CHECK(s != nullptr, "{}: not an ORANDNet model (no '{}' metadata)", path, key);
  try {
    return std::stoll(*s);
  } catch (const std::exception&) {
    PM_FAIL("{}: bad '{}' metadata '{}'", path, key, *s);
  }
}

}  // namespace

OrandPair make_orand_pair(const CamFile& a,
                          const CamFile& b,
                          bool official,
                          const std::string& name_a,
                          const std::string& name_b) {
  EnsembleOptions o;
  o.official = official;
  o.low_res = LowResPolicy::kNone;
  OrandPair pair;
  o.mode = EnsembleMode::kOr;  // ORANDNet Eq. 1: a + b − a·b
  const CamFile or_cams = ensemble_cams(a, b, o, name_a, name_b);
  o.mode = EnsembleMode::kAnd;  // ORANDNet Eq. 1: a·b
  const CamFile and_cams = ensemble_cams(a, b, o, name_a, name_b);
  PM_CHECK(!or_cams.high_res.empty(), "{}: ORANDNet needs 'high_res' CAMs", name_a);
  pair.keys = or_cams.keys;
  pair.or_map = or_cams.high_res;
  pair.and_map = and_cams.high_res;
  return pair;
}

torch::Tensor forward_classes(Fcn8s& net, const torch::Tensor& planes) {
  std::vector<torch::Tensor> outs;
  for (int64_t k = 0; k < planes.size(0); ++k)
    outs.push_back(net->forward(planes[k].unsqueeze(0).unsqueeze(0)));  // (1, 1, H, W)
  return torch::cat(outs, 1);
}

Planes refine_cam(Fcn8s& net, const Planes& or_map, OrandLoss loss, const torch::Device& device) {
  torch::NoGradGuard no_grad;
  net->eval();
  const torch::Tensor x = to_tensor(or_map).to(device);
  torch::Tensor y = forward_classes(net, x)[0];
  y = loss == OrandLoss::kOfficial ? torch::relu(y) : torch::sigmoid(y);
  // encdec_pred.py: each class divided by its spatial max + 1e-5.
  const torch::Tensor max = std::get<0>(y.flatten(1).max(1)).view({-1, 1, 1});
  return to_planes(y / (max + kMaxEpsilon));
}

namespace {

/// What describes a model in its checkpoints (the loop adds the step).
std::vector<std::pair<std::string, std::string>> orand_metadata(const Fcn8s& net,
                                                                OrandLoss loss,
                                                                bool official_pair) {
  return {{"arch", kArch},
          {"width", net->options().width},
          {"official_crop", net->options().official_crop ? "1" : "0"},
          {"loss", orand_loss_name(loss)},
          {"official_pair", official_pair ? "1" : "0"}};
}

/// Throws naming `path` unless `ckpt` is an ORANDNet model.
void check_orand_arch(const Checkpoint& ckpt, const std::string& path) {
  const std::string* arch = ckpt.find_metadata("arch");
  PM_CHECK(arch != nullptr && *arch == kArch,
           "{}: not an ORANDNet model (arch '{}')",
           path,
           arch ? *arch : std::string("none"));
}

}  // namespace

void save_orand_model(const std::string& path,
                      Fcn8s& net,
                      OrandLoss loss,
                      bool official_pair,
                      int64_t step,
                      const Checkpoint& extra) {
  Checkpoint ckpt = state_dict_of(*net);
  for (const auto& t : extra.tensors)
    ckpt.tensors.push_back(t);
  ckpt.metadata = orand_metadata(net, loss, official_pair);
  ckpt.metadata.emplace_back(train_meta::kStep, std::to_string(step));
  write_checkpoint(path, ckpt);
}

OrandModel load_orand_model(const std::string& path, const torch::Device& device) {
  const Checkpoint ckpt = read_checkpoint(path);
  check_orand_arch(ckpt, path);
  Fcn8sOptions o;
  const std::string* width = ckpt.find_metadata("width");
  o.width = width ? *width : "";
  o.official_crop = parse_int(ckpt.find_metadata("official_crop"), path, "official_crop") != 0;
  OrandModel m;
  try {
    m.net = Fcn8s(o);
  } catch (const Error& e) {
    PM_FAIL("{}: {}", path, e.what());
  }
  const std::string* loss = ckpt.find_metadata("loss");
  PM_CHECK(loss != nullptr, "{}: not an ORANDNet model (no 'loss' metadata)", path);
  m.loss = parse_orand_loss(*loss);
  m.official_pair = parse_int(ckpt.find_metadata("official_pair"), path, "official_pair") != 0;
  m.step = parse_int(ckpt.find_metadata("step"), path, "step");
  LoadRules rules;
  rules.ignore_prefixes = {kSgdPrefix};
  load_state_dict(*m.net, ckpt, rules, path);
  m.net->to(device);
  return m;
}

namespace {

/// One training image, ready for the network.
struct OrandBatch {
  std::string id;
  OrandPair pair;
};

/// The FCN-8s and its OR → AND loss, as the training loop drives them.
class OrandTask final : public TrainTask<OrandBatch> {
 public:
  OrandTask(const OrandTrainOptions& o,
            const std::vector<std::string>& ids,
            const std::function<OrandPair(const std::string&)>& load,
            const std::function<void(const OrandStep&)>& progress,
            Fcn8s net,
            const torch::Device& device,
            OrandTrainResult& result)
      : o_(o),
        ids_(ids),
        load_(load),
        progress_(progress),
        net_(std::move(net)),
        sgd_({all_parameters(net_)}, sgd_options(o)),
        device_(device),
        result_(result) {}

  torch::nn::Module& module() override { return *net_; }
  PolySgd& optimizer() override { return sgd_; }

  std::vector<std::pair<std::string, std::string>> metadata() const override {
    return orand_metadata(net_, o_.loss, o_.official_pair);
  }

  OrandBatch load_batch(const BatchPlan& plan) const override {
    const std::string& id = ids_[plan.sample(0)];
    return {id, load_(id)};
  }

  std::string train_step(OrandBatch& b, const BatchPlan& plan) override {
    const int64_t t = plan.step;
    torch::manual_seed(o_.seed * 7919ULL + static_cast<uint64_t>(t));  // dropout
    const torch::Tensor x = to_tensor(b.pair.or_map).to(device_);
    const torch::Tensor y = to_tensor(b.pair.and_map).to(device_).unsqueeze(0);
    sgd_.zero_grad();
    const torch::Tensor loss = orand_loss(o_.loss, forward_classes(net_, x), y, o_.label_smoothing);
    loss.backward();
    const double lr = sgd_.step(t);
    const double value = loss.item<double>();
    if (value == 0.0)
      ++result_.zero_gradient_steps;
    if (result_.steps == 0)
      result_.first_loss = value;
    result_.last_loss = value;
    loss_sum_ += value;
    ++result_.steps;
    if (progress_)
      progress_({t + 1, o_.iterations, value, lr, b.id});
    return fmt::format("{},{},{:.6f},{:.6g},{}", t, plan.epoch, value, lr, b.id);
  }

  double loss_sum() const { return loss_sum_; }

 private:
  static ParamGroup all_parameters(Fcn8s& net) {
    ParamGroup group;
    for (const auto& p : net->named_parameters())
      group.params.emplace_back(p.key(), p.value());
    return group;
  }

  static SgdOptions sgd_options(const OrandTrainOptions& o) {
    SgdOptions so;
    so.lr = o.lr;
    so.momentum = o.momentum;
    so.weight_decay = o.weight_decay;
    so.total_steps = o.iterations;
    return so;
  }

  const OrandTrainOptions& o_;
  const std::vector<std::string>& ids_;
  const std::function<OrandPair(const std::string&)>& load_;
  const std::function<void(const OrandStep&)>& progress_;
  Fcn8s net_;
  PolySgd sgd_;
  torch::Device device_;
  OrandTrainResult& result_;
  double loss_sum_ = 0;
};

}  // namespace

OrandTrainResult train_orandnet(const OrandTrainOptions& options,
                                const std::vector<std::string>& ids,
                                const std::function<OrandPair(const std::string&)>& load,
                                const std::function<void(const OrandStep&)>& progress) {
  PM_CHECK(!ids.empty(), "ORANDNet training: no images");
  PM_CHECK(options.iterations >= 1, "ORANDNet training: iterations must be >= 1");
  PM_CHECK(!options.out_dir.empty(), "ORANDNet training: no output folder");
  const torch::Device device = parse_device(options.device);
  LoopOptions loop;
  loop.out_dir = options.out_dir;
  loop.num_samples = ids.size();
  loop.batch_size = 1;
  loop.total_steps = options.iterations;
  loop.stop_after = options.stop_after;
  loop.resume = options.resume;
  loop.resume_needs_same_schedule = false;
  loop.save_each_epoch = false;
  loop.save_every = options.save_every;
  loop.log_header = "step,epoch,loss,lr,id";
  loop.resume_must_match = {"arch", "width", "official_crop", "loss"};
  loop.optimizer_prefix = kSgdPrefix;
  loop.order = [n = ids.size(), seed = options.seed](int epoch) {
    return shuffled_order(n, seed, epoch);
  };

  OrandTrainResult result;
  torch::manual_seed(options.seed);
  Fcn8s net(options.net);
  const bool resuming = Checkpointer(options.out_dir, kSgdPrefix).resumes(options.resume);
  if (!resuming && !options.init_checkpoint.empty()) {
    result.init_report =
        load_vgg16_imagenet(net, read_checkpoint(options.init_checkpoint), options.init_checkpoint)
            .summary();
  }
  net->to(device);
  net->train();
  OrandTask task(options, ids, load, progress, net, device, result);
  const LoopResult done = run_training(loop, task);
  result.start_step = done.start_step;
  result.mean_loss = result.steps > 0 ? task.loss_sum() / static_cast<double>(result.steps) : 0.0;
  result.finished = done.finished;
  result.model_path = done.model_path;
  result.log_path = done.log_path;
  return result;
}

}  // namespace pm::nn
