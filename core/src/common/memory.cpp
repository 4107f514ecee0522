// SPDX-License-Identifier: MIT
#include "pseudomask/core/common/memory.h"

#include <cstdlib>  // defines __GLIBC__ (through <features.h>) on glibc systems

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace pm {

void keep_freed_memory_for_reuse() {
#if defined(__GLIBC__)
  constexpr int kMmapThreshold = 1 << 30;  // serve blocks up to 1 GiB from the heap
  constexpr int kTrimThreshold = 1 << 30;  // return heap memory to the kernel only above 1 GiB free
  mallopt(M_MMAP_THRESHOLD, kMmapThreshold);
  mallopt(M_TRIM_THRESHOLD, kTrimThreshold);
#endif
}

}  // namespace pm
