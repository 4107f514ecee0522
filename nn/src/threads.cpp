// SPDX-License-Identifier: MIT
#include "pseudomask/nn/threads.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>

namespace pm::nn {
namespace {

// OpenBLAS's setter if an already loaded BLAS library exports it, else nullptr.
using SetThreads = void (*)(int);

SetThreads openblas_setter() {
  for (const char* lib : {"libblas.so.3", "libopenblas.so.0"}) {
    void* handle = dlopen(lib, RTLD_LAZY | RTLD_NOLOAD);
    if (handle == nullptr)
      continue;
    auto f = reinterpret_cast<SetThreads>(dlsym(handle, "openblas_set_num_threads"));
    dlclose(handle);  // RTLD_NOLOAD took a reference; the library stays loaded
    if (f != nullptr)
      return f;
  }
  return nullptr;
}

}  // namespace

void set_torch_threads(int n) {
  if (n <= 0)
    return;
  at::set_num_threads(n);
  if (const SetThreads f = openblas_setter())
    f(n);
}

}  // namespace pm::nn
