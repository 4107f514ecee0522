// SPDX-License-Identifier: MIT
#include "pseudomask/nn/orandnet/orandnet.h"

#include <torch/nn/functional/loss.h>
#include <torch/serialize.h>

#include <algorithm>
#include <filesystem>
#include <numeric>
#include <random>

#include "pseudomask/core/common/error.h"
#include "pseudomask/core/ensemble/ensemble.h"
#include "pseudomask/nn/tensor.h"
#include "pseudomask/nn/train/sgd.h"

namespace pm::nn {
namespace {

constexpr const char* kArch = "orandnet-fcn8s";
constexpr const char* kSgdPrefix = "sgd.";
constexpr float kMaxEpsilon = 1e-5f;  // module/encdec_pred.py

/// The position of step t in a per-epoch shuffle of n items (epoch e shuffled with seed + e).
size_t shuffled_index(int64_t step, size_t n, uint64_t seed) {
  const int64_t epoch = step / static_cast<int64_t>(n);
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::mt19937_64 rng(seed * 1000003ULL + static_cast<uint64_t>(epoch));
  std::shuffle(order.begin(), order.end(), rng);
  return order[static_cast<size_t>(step % static_cast<int64_t>(n))];
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

OrandLoss parse_orand_loss(const std::string& name) {
  if (name == "bce")
    return OrandLoss::kBce;
  if (name == "official")
    return OrandLoss::kOfficial;
  PM_FAIL("unknown ORANDNet loss '{}' (expected bce or official)", name);
}

const char* orand_loss_name(OrandLoss loss) {
  return loss == OrandLoss::kBce ? "bce" : "official";
}

torch::Tensor official_soft_ce_loss(const torch::Tensor& logits, const torch::Tensor& target) {
  // Official encdec_train.py: F.cross_entropy(logits, AND) with probability targets; the softmax
  // runs over the image's foreground classes (dim 1) only.
  const torch::Tensor log_p = torch::log_softmax(logits, 1);
  return -(target * log_p).sum(1).mean();
}

torch::Tensor bce_and_loss(const torch::Tensor& logits, const torch::Tensor& target) {
  return torch::binary_cross_entropy_with_logits(logits, target.clamp(0.0, 1.0));
}

torch::Tensor orand_loss(OrandLoss loss, const torch::Tensor& logits, const torch::Tensor& target) {
  return loss == OrandLoss::kOfficial ? official_soft_ce_loss(logits, target)
                                      : bce_and_loss(logits, target);
}

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
  PM_CHECK(or_cams.high_res.ndim() == 3, "{}: ORANDNet needs 'high_res' CAMs", name_a);
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

NDArray refine_cam(Fcn8s& net, const NDArray& or_map, OrandLoss loss, const torch::Device& device) {
  PM_CHECK(or_map.ndim() == 3, "ORANDNet: the OR map must be (K, H, W)");
  torch::NoGradGuard no_grad;
  net->eval();
  const torch::Tensor x = to_tensor(or_map).to(torch::kFloat32).to(device);
  torch::Tensor y = forward_classes(net, x)[0];
  y = loss == OrandLoss::kOfficial ? torch::relu(y) : torch::sigmoid(y);
  // encdec_pred.py: each class divided by its spatial max + 1e-5.
  const torch::Tensor max = std::get<0>(y.flatten(1).max(1)).view({-1, 1, 1});
  return to_ndarray((y / (max + kMaxEpsilon)).to(torch::kCPU).contiguous());
}

void save_orand_model(const std::string& path,
                      Fcn8s& net,
                      OrandLoss loss,
                      bool official_pair,
                      int64_t step,
                      const Checkpoint& extra) {
  Checkpoint ckpt = state_dict_of(*net);
  for (const auto& t : extra.tensors)
    ckpt.tensors.push_back(t);
  ckpt.metadata = {{"arch", kArch},
                   {"width", net->options().width},
                   {"official_crop", net->options().official_crop ? "1" : "0"},
                   {"loss", orand_loss_name(loss)},
                   {"official_pair", official_pair ? "1" : "0"},
                   {"step", std::to_string(step)}};
  write_checkpoint(path, ckpt);
}

namespace {

OrandModel load_model_and_checkpoint(const std::string& path,
                                     const torch::Device& device,
                                     Checkpoint* out) {
  Checkpoint ckpt = read_checkpoint(path);
  const std::string* arch = ckpt.find_metadata("arch");
  PM_CHECK(arch != nullptr && *arch == kArch,
           "{}: not an ORANDNet model (arch '{}')",
           path,
           arch ? *arch : std::string("none"));
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
  if (out != nullptr)
    *out = std::move(ckpt);
  return m;
}

}  // namespace

OrandModel load_orand_model(const std::string& path, const torch::Device& device) {
  return load_model_and_checkpoint(path, device, nullptr);
}

OrandTrainResult train_orandnet(const OrandTrainOptions& options,
                                const std::vector<std::string>& ids,
                                const std::function<OrandPair(const std::string&)>& load,
                                const std::function<void(const OrandStep&)>& progress) {
  PM_CHECK(!ids.empty(), "ORANDNet training: no images");
  PM_CHECK(options.iterations >= 1, "ORANDNet training: iterations must be >= 1");
  PM_CHECK(!options.model_path.empty(), "ORANDNet training: no model path");
  const torch::Device device = parse_device(options.device);
  OrandTrainResult result;
  torch::manual_seed(options.seed);
  Fcn8s net(options.net);
  Checkpoint resume_state;
  const bool resuming = options.resume && std::filesystem::exists(options.model_path);
  if (resuming) {
    OrandModel m = load_model_and_checkpoint(options.model_path, device, &resume_state);
    PM_CHECK(m.net->options().width == options.net.width &&
                 m.net->options().official_crop == options.net.official_crop &&
                 m.loss == options.loss,
             "{}: cannot resume: the model was trained with width {}, loss {}, official crop {}",
             options.model_path,
             m.net->options().width,
             orand_loss_name(m.loss),
             m.net->options().official_crop);
    net = m.net;
    result.start_step = m.step;
  } else if (!options.init_checkpoint.empty()) {
    result.init_report =
        load_vgg16_imagenet(net, read_checkpoint(options.init_checkpoint), options.init_checkpoint)
            .summary();
  }
  net->to(device);
  net->train();

  ParamGroup group;
  for (const auto& p : net->named_parameters())
    group.params.emplace_back(p.key(), p.value());
  SgdOptions so;
  so.lr = options.lr;
  so.momentum = options.momentum;
  so.weight_decay = options.weight_decay;
  so.total_steps = options.iterations;
  PolySgd sgd({group}, so);
  if (resuming)
    sgd.load_state(resume_state, kSgdPrefix, options.model_path);

  auto save = [&](int64_t step) {
    Checkpoint extra;
    sgd.save_state(extra, kSgdPrefix);
    save_orand_model(options.model_path, net, options.loss, options.official_pair, step, extra);
  };

  double sum = 0;
  const int64_t end =
      options.stop_at > 0 ? std::min(options.stop_at, options.iterations) : options.iterations;
  for (int64_t t = result.start_step; t < end; ++t) {
    const std::string& id = ids[shuffled_index(t, ids.size(), options.seed)];
    const OrandPair pair = load(id);
    torch::manual_seed(options.seed * 7919ULL + static_cast<uint64_t>(t));  // dropout
    const torch::Tensor x = to_tensor(pair.or_map).to(torch::kFloat32).to(device);
    const torch::Tensor y = to_tensor(pair.and_map).to(torch::kFloat32).to(device).unsqueeze(0);
    sgd.zero_grad();
    const torch::Tensor loss = orand_loss(options.loss, forward_classes(net, x), y);
    loss.backward();
    const double lr = sgd.step(t);
    const double value = loss.item<double>();
    if (value == 0.0)
      ++result.zero_gradient_steps;
    if (result.steps == 0)
      result.first_loss = value;
    result.last_loss = value;
    sum += value;
    ++result.steps;
    if (progress)
      progress({t + 1, options.iterations, value, lr, id});
    if (options.save_every > 0 && (t + 1) % options.save_every == 0)
      save(t + 1);
  }
  result.mean_loss = result.steps > 0 ? sum / static_cast<double>(result.steps) : 0.0;
  save(std::max(result.start_step, end));
  return result;
}

}  // namespace pm::nn
