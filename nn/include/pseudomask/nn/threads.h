// SPDX-License-Identifier: MIT
#pragma once

namespace pm::nn {

/// Sets torch's intra-op threads and, when the BLAS that libtorch uses is OpenBLAS (Debian's
/// libtorch links libblas.so.3, which the alternatives system may point at OpenBLAS), OpenBLAS's
/// own thread pool too: otherwise `--threads 1` still runs every matrix product on all cores.
/// n <= 0 leaves both as they are.
void set_torch_threads(int n);

}  // namespace pm::nn
