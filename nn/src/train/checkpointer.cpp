// SPDX-License-Identifier: MIT
#include "pseudomask/nn/train/checkpointer.h"

#include <filesystem>
#include <fstream>

#include "pseudomask/core/common/error.h"
#include "pseudomask/core/common/files.h"
#include "pseudomask/nn/checkpoint/load.h"

namespace pm::nn {

int64_t metadata_int(const Checkpoint& ckpt, const char* key, const std::string& path) {
  const std::string* v = ckpt.find_metadata(key);
  PM_CHECK(v != nullptr, "{}: no '{}' in the checkpoint's metadata", path, key);
  try {
    return std::stoll(*v);
  } catch (const std::exception&) {
    PM_FAIL("{}: metadata '{}' is '{}', not an integer", path, key, *v);
  }
}

void set_metadata(Checkpoint& ckpt, const std::string& key, const std::string& value) {
  for (auto& [k, v] : ckpt.metadata) {
    if (k == key) {
      v = value;
      return;
    }
  }
  ckpt.metadata.emplace_back(key, value);
}

Checkpointer::Checkpointer(const std::string& out_dir, std::string optimizer_prefix)
    : last_(out_dir + "/last.pth"),
      best_(out_dir + "/best.pth"),
      model_(out_dir + "/model.pth"),
      log_(out_dir + "/train_log.csv"),
      prefix_(std::move(optimizer_prefix)) {
  std::filesystem::create_directories(out_dir);
}

bool Checkpointer::resumes(bool resume) const {
  return resume && std::filesystem::exists(last_);
}

Checkpoint Checkpointer::read_last() const {
  return read_checkpoint(last_);
}

void Checkpointer::restore(const Checkpoint& last, torch::nn::Module& module, PolySgd& sgd) const {
  LoadRules rules;
  rules.ignore_prefixes = {prefix_};
  load_state_dict(module, last, rules, last_);
  sgd.load_state(last, prefix_, last_);
}

void Checkpointer::write_last(Checkpoint state, const PolySgd& sgd, const std::string& log) const {
  sgd.save_state(state, prefix_);
  write_checkpoint(last_, state);
  write_log(log);
}

void Checkpointer::write_best(const Checkpoint& state) const {
  write_checkpoint(best_, state);
}

void Checkpointer::write_model(const Checkpoint& state) const {
  write_checkpoint(model_, state);
}

void Checkpointer::write_log(const std::string& log) const {
  write_file_atomic(log_, log);
}

std::string Checkpointer::earlier_log_rows(int64_t step) const {
  std::ifstream in(log_);
  std::string out, line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] < '0' || line[0] > '9')
      continue;  // the header
    if (std::stoll(line) < step)
      out += line + "\n";
  }
  return out;
}

}  // namespace pm::nn
