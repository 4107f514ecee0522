// SPDX-License-Identifier: MIT
// Benchmarks of .npy/.npz coding on a CAM-sized array (21 classes x 375 x 500, float32).
#include <benchmark/benchmark.h>

#include <cstring>
#include <vector>

#include "pseudomask/core/io/numpy/npy.h"
#include "pseudomask/core/io/numpy/npz.h"

namespace pm {
namespace {

NDArray cam_array() {
  NDArray a(DType::kF32, {21, 375, 500});
  float* p = a.data<float>();
  for (int64_t i = 0; i < a.numel(); ++i)
    p[i] = static_cast<float>(i % 997) / 997.0f;
  return a;
}

/// The .npy bytes of `a` with the header and data rewritten in the given layout.
std::vector<uint8_t> npy_with_layout(const NDArray& a, bool fortran, bool big_endian) {
  std::vector<uint8_t> bytes = encode_npy(a);
  const NpyHeader h = parse_npy_header(bytes.data(), bytes.size(), "bench");
  std::string header(bytes.begin(), bytes.begin() + h.data_offset);
  if (fortran)
    header.replace(header.find("False"), 5, "True ");
  if (big_endian)
    header[header.find("<f4")] = '>';
  std::vector<uint8_t> out(header.begin(), header.end());
  out.resize(bytes.size());
  // Any bytes do for timing; the layout only changes the work done.
  std::memcpy(out.data() + h.data_offset, a.raw(), a.nbytes());
  return out;
}

void BM_DecodeNpy(benchmark::State& state) {
  const bool fortran = state.range(0) != 0, big_endian = state.range(1) != 0;
  const std::vector<uint8_t> bytes = npy_with_layout(cam_array(), fortran, big_endian);
  for (auto _ : state) {
    NDArray a = decode_npy(bytes.data(), bytes.size(), "bench");
    benchmark::DoNotOptimize(a.raw());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes.size()));
}
BENCHMARK(BM_DecodeNpy)
    ->ArgNames({"fortran", "big_endian"})
    ->Args({0, 0})
    ->Args({1, 0})
    ->Args({0, 1});

void BM_EncodeNpy(benchmark::State& state) {
  const NDArray a = cam_array();
  for (auto _ : state) {
    std::vector<uint8_t> bytes = encode_npy(a);
    benchmark::DoNotOptimize(bytes.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(a.nbytes()));
}
BENCHMARK(BM_EncodeNpy);

void BM_NpzRoundTrip(benchmark::State& state) {
  const bool compress = state.range(0) != 0;
  const std::map<std::string, NDArray> arrays = {{"cam", cam_array()}};
  for (auto _ : state) {
    const std::vector<uint8_t> bytes = encode_npz(arrays, compress);
    auto back = decode_npz(bytes.data(), bytes.size(), "bench");
    benchmark::DoNotOptimize(back.size());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(arrays.at("cam").nbytes()));
}
BENCHMARK(BM_NpzRoundTrip)->ArgName("compress")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace pm
