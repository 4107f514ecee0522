// SPDX-License-Identifier: MIT
// Part of the `pseudomask` executable (not of the module): finds and calls the nn module.
#include <dlfcn.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "nn/nn_commands.h"

namespace pm::cli {
namespace {

/// The folder of the running executable (from /proc/self/exe), or "." if unknown.
std::string executable_dir() {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0)
    return ".";
  const std::string path(buf, static_cast<size_t>(n));
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

}  // namespace

int run_nn_module(int argc, char** argv) {
  const std::string path = executable_dir() + "/" + kNnModuleFile;
  if (::access(path.c_str(), F_OK) != 0) {
    std::fprintf(stderr,
                 "pseudomask: error: '%s' needs the nn module %s, which this build does not have "
                 "(rebuild with -DPM_BUILD_NN=ON and libtorch)\n",
                 argv[1],
                 path.c_str());
    return 1;
  }
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    std::fprintf(stderr, "pseudomask: error: %s: cannot load: %s\n", path.c_str(), ::dlerror());
    return 1;
  }
  using Entry = int (*)(int, char**);
  auto entry = reinterpret_cast<Entry>(::dlsym(handle, kNnEntryPoint));
  if (entry == nullptr) {
    std::fprintf(stderr, "pseudomask: error: %s: no %s entry point\n", path.c_str(), kNnEntryPoint);
    return 1;
  }
  // The module stays loaded until exit: libtorch does not support being unloaded.
  return entry(argc, argv);
}

}  // namespace pm::cli
