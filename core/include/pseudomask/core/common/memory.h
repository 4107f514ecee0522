// SPDX-License-Identifier: MIT
#pragma once

namespace pm {

/// Makes glibc keep freed memory in the process for reuse instead of returning every large block
/// to the kernel. Batch work allocates the same large buffers image after image; without this,
/// each allocation is fresh memory whose first touch page-faults, which costs more than the
/// computation on some virtual machines (a lattice build was 3× slower here). Call once at
/// program start; a no-op where glibc's mallopt is unavailable.
void keep_freed_memory_for_reuse();

}  // namespace pm
