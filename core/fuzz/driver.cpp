// SPDX-License-Identifier: MIT
// A standalone runner for the fuzz targets where libFuzzer is not available (gcc):
//   fuzz_<target> [-runs=N] [-seed=S] [-max_len=M] FILE_OR_FOLDER...
// runs the target on every file given (folders: every file in them), then, with -runs, on N
// random mutations of those inputs (bit flips, interesting bytes, inserted, deleted, repeated
// and spliced runs, truncation). Under ASan/UBSan a finding aborts the run; the input that
// caused it is saved as ./crash-<n> first.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

namespace {

namespace fs = std::filesystem;

std::vector<uint8_t> g_current;  // the input being run, saved if it kills the process

void save_current() {
  static int saved = 0;
  const std::string name = "crash-" + std::to_string(saved++);
  std::ofstream(name, std::ios::binary)
      .write(reinterpret_cast<const char*>(g_current.data()),
             static_cast<std::streamsize>(g_current.size()));
  std::fprintf(stderr, "fuzz driver: input saved as %s\n", name.c_str());
}

void run_one(const std::vector<uint8_t>& input) {
  g_current = input;
  LLVMFuzzerTestOneInput(g_current.data(), g_current.size());
}

std::vector<uint8_t> read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

class Mutator {
 public:
  Mutator(uint64_t seed, size_t max_len) : rng_(seed), max_len_(max_len) {}

  std::vector<uint8_t> mutate(std::vector<uint8_t> v, const std::vector<uint8_t>& other) {
    const int steps = 1 + static_cast<int>(below(4));
    for (int s = 0; s < steps; ++s)
      step(v, other);
    if (v.size() > max_len_)
      v.resize(max_len_);
    return v;
  }

 private:
  size_t below(size_t n) { return n == 0 ? 0 : static_cast<size_t>(rng_() % n); }

  void step(std::vector<uint8_t>& v, const std::vector<uint8_t>& other) {
    static const uint8_t kInteresting[] = {0, 1, 0x7F, 0x80, 0xFF, 0xFE, 0x20, 0x40, 0x10};
    switch (below(8)) {
      case 0:  // flip a bit
        if (!v.empty())
          v[below(v.size())] ^= static_cast<uint8_t>(1u << below(8));
        break;
      case 1:  // an interesting byte
        if (!v.empty())
          v[below(v.size())] = kInteresting[below(sizeof(kInteresting))];
        break;
      case 2:  // a random byte
        if (!v.empty())
          v[below(v.size())] = static_cast<uint8_t>(rng_());
        break;
      case 3: {  // insert random bytes
        const size_t at = below(v.size() + 1), n = 1 + below(8);
        std::vector<uint8_t> bytes(n);
        for (uint8_t& b : bytes)
          b = static_cast<uint8_t>(rng_());
        v.insert(v.begin() + static_cast<std::ptrdiff_t>(at), bytes.begin(), bytes.end());
        break;
      }
      case 4:  // delete a run
        if (!v.empty()) {
          const size_t at = below(v.size()), n = 1 + below(std::min<size_t>(16, v.size() - at));
          v.erase(v.begin() + static_cast<std::ptrdiff_t>(at),
                  v.begin() + static_cast<std::ptrdiff_t>(at + n));
        }
        break;
      case 5:  // repeat a run
        if (!v.empty()) {
          const size_t at = below(v.size()), n = 1 + below(std::min<size_t>(32, v.size() - at));
          const std::vector<uint8_t> run(v.begin() + static_cast<std::ptrdiff_t>(at),
                                         v.begin() + static_cast<std::ptrdiff_t>(at + n));
          v.insert(
              v.begin() + static_cast<std::ptrdiff_t>(below(v.size() + 1)), run.begin(), run.end());
        }
        break;
      case 6:  // truncate
        if (!v.empty())
          v.resize(below(v.size()));
        break;
      default:  // splice with another input
        if (!other.empty()) {
          const size_t keep = below(v.size() + 1), from = below(other.size());
          v.resize(keep);
          v.insert(v.end(), other.begin() + static_cast<std::ptrdiff_t>(from), other.end());
        }
        break;
    }
  }

  std::mt19937_64 rng_;
  size_t max_len_;
};

bool flag(const char* arg, const char* name, uint64_t* value) {
  const size_t n = std::strlen(name);
  if (std::strncmp(arg, name, n) != 0)
    return false;
  *value = std::strtoull(arg + n, nullptr, 10);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t runs = 0, seed = 1, max_len = 1 << 20;
  std::vector<std::vector<uint8_t>> corpus;
  for (int i = 1; i < argc; ++i) {
    if (flag(argv[i], "-runs=", &runs) || flag(argv[i], "-seed=", &seed) ||
        flag(argv[i], "-max_len=", &max_len))
      continue;
    if (argv[i][0] == '-')
      continue;  // other libFuzzer flags are ignored
    const fs::path p(argv[i]);
    if (fs::is_directory(p)) {
      std::vector<fs::path> files;
      for (const auto& e : fs::directory_iterator(p)) {
        if (e.is_regular_file())
          files.push_back(e.path());
      }
      std::sort(files.begin(), files.end());
      for (const auto& f : files)
        corpus.push_back(read_all(f));
    } else {
      corpus.push_back(read_all(p));
    }
  }
  if (__sanitizer_set_death_callback != nullptr)
    __sanitizer_set_death_callback(save_current);
  for (const auto& input : corpus)
    run_one(input);
  if (corpus.empty())
    corpus.emplace_back();
  Mutator mutator(seed, max_len);
  std::mt19937_64 pick(seed + 1);
  for (uint64_t r = 0; r < runs; ++r) {
    const auto& base = corpus[pick() % corpus.size()];
    const auto& other = corpus[pick() % corpus.size()];
    run_one(mutator.mutate(base, other));
  }
  std::printf("fuzz driver: %zu inputs and %llu mutations run\n",
              corpus.size(),
              static_cast<unsigned long long>(runs));
  return 0;
}
