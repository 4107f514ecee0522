// SPDX-License-Identifier: MIT
#include "pseudomask/core/common/temp_file.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>

#include "pseudomask/core/common/error.h"

namespace fs = std::filesystem;

namespace pm {
namespace {

constexpr int kMaxNameTries = 1000;  // taken names skipped before giving up

// FNV-1a of the host name, as 8 hex digits.
std::string host_tag() {
  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) != 0)
    std::strcpy(host, "unknown");
  uint32_t h = 2166136261u;
  for (const char* p = host; *p != '\0'; ++p)
    h = (h ^ static_cast<unsigned char>(*p)) * 16777619u;
  return fmt::format("{:08x}", h);
}

// A decimal number of at most 10 digits and no sign, or -1.
long long parse_decimal(const std::string& s) {
  if (s.empty() || s.size() > 10 || s.find_first_not_of("0123456789") != std::string::npos)
    return -1;
  return std::stoll(s);
}

// The pid of a temp file name "<prefix><pid>-<n>" of this machine, or -1 for any other name.
long long temp_file_pid(const std::string& name, const std::string& prefix) {
  if (name.compare(0, prefix.size(), prefix) != 0)
    return -1;
  const std::string rest = name.substr(prefix.size());
  const size_t dash = rest.find('-');
  if (dash == std::string::npos)
    return -1;
  const long long pid = parse_decimal(rest.substr(0, dash));
  const long long n = parse_decimal(rest.substr(dash + 1));
  return pid > 0 && pid <= INT_MAX && n >= 0 ? pid : -1;
}

// Whether a process with this pid exists (EPERM: it does, owned by someone else).
bool process_alive(long long pid) {
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH;
}

}  // namespace

std::string temp_file_prefix() {
  static const std::string prefix = ".pm-tmp-" + host_tag() + "-";
  return prefix;
}

TempFile create_temp_file(const std::string& dir, const std::string& target) {
  static std::atomic<unsigned> counter{0};
  const fs::path folder = dir.empty() ? fs::path(".") : fs::path(dir);
  const std::string stem = temp_file_prefix() + std::to_string(::getpid()) + "-";
  for (int attempt = 0; attempt < kMaxNameTries; ++attempt) {
    const std::string path = (folder / (stem + std::to_string(counter.fetch_add(1)))).string();
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd >= 0)
      return {path, fd};
    // ELOOP: a symlink there (O_NOFOLLOW); EEXIST: anything there. Both: try the next name.
    if (errno != EEXIST && errno != ELOOP) {
      PM_FAIL("{}: cannot create a temporary file in {} ({})",
              target,
              folder.string(),
              std::strerror(errno));
    }
  }
  PM_FAIL("{}: cannot create a temporary file in {} ({} names in a row are taken)",
          target,
          folder.string(),
          kMaxNameTries);
}

size_t remove_orphaned_temp_files(const std::string& dir) {
  const std::string prefix = temp_file_prefix();
  const long long self = ::getpid();
  size_t removed = 0;
  std::error_code ec;
  fs::directory_iterator it(dir.empty() ? fs::path(".") : fs::path(dir), ec);
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const long long pid = temp_file_pid(it->path().filename().string(), prefix);
    if (pid < 0 || pid == self || process_alive(pid))
      continue;
    struct stat st {};
    // Only files (or links, which unlink removes without following); never folders.
    if (::lstat(it->path().c_str(), &st) == 0 && (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) &&
        ::unlink(it->path().c_str()) == 0)
      ++removed;
  }
  return removed;
}

}  // namespace pm
