// SPDX-License-Identifier: MIT
#pragma once
// Specialised kernel: one mean-field step for a group holding ONE CRF with Potts kernels only,
// rows of at most kMaxPottsSingleBlocks blocks (48 labels). Bit-identical to mean_field_step
// (dense_crf.cpp); proven by CrfKernels.PottsSingleEqualsThePlainStepBitForBit
// (core/tests/crf/test_crf.cpp).

#include <cstddef>

#include "../mean_field.h"

namespace pm::detail {

/// Largest row (in blocks of kChannelBlock channels) the kernel is compiled for.
constexpr int kMaxPottsSingleBlocks = 6;

/// The update of pixels [p_begin, p_end) for rows of `ch` channels (≤ kMaxPottsSingleBlocks
/// blocks) holding one CRF of `labels` labels; as mean_field_step.
void mean_field_step_potts_single(size_t p_begin,
                                  size_t p_end,
                                  size_t ch,
                                  int labels,
                                  const float* neg_unary,
                                  float* q,
                                  const KernelView* kernels,
                                  size_t nk,
                                  SliceOrder order);

}  // namespace pm::detail
