// SPDX-License-Identifier: MIT
// Fuzz target: the restricted unpickler, with and without a storage provider for persistent ids.
#include "fuzz_common.h"
#include "pseudomask/core/io/pickle/torch_storage.h"
#include "pseudomask/core/io/pickle/unpickler.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pm::fuzz::run([&] { pm::load_pickle(data, size, "fuzz.pkl"); });
  pm::PickleOptions options;
  options.persistent_load = [](const pm::PickleValue& pid) {
    const pm::TorchStorageRef ref = pm::parse_torch_storage_ref(pid, "fuzz.pkl");
    const std::vector<uint8_t> zeros(64, 0);
    return pm::PickleValue::make_storage(
        pm::torch_storage_elements(ref, zeros.data(), zeros.size(), "fuzz.pkl"));
  };
  return pm::fuzz::run([&] { pm::load_pickle(data, size, "fuzz.pkl", options); });
}
