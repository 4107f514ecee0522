// SPDX-License-Identifier: MIT
#pragma once
// Specialised kernel: one mean-field step for a group of CRFs that all have the same small label
// count (URN's response-scaled variants), Potts kernels only. Bit-identical to mean_field_step
// (dense_crf.cpp); proven by CrfKernels.PottsBatchEqualsThePlainStepBitForBit
// (core/tests/crf/test_crf.cpp).

#include <cstddef>

#include "../mean_field.h"

namespace pm::detail {

/// Largest row (in blocks of kChannelBlock channels) and label count the kernel is compiled for.
constexpr int kMaxPottsBatchBlocks = 8;
constexpr int kMaxPottsBatchLabels = 8;

/// The update of pixels [p_begin, p_end) for rows of `ch` channels (≤ kMaxPottsBatchBlocks
/// blocks) holding `crfs` CRFs of `labels` (≤ kMaxPottsBatchLabels) labels each, side by side;
/// as mean_field_step.
void mean_field_step_potts_batch(size_t p_begin,
                                 size_t p_end,
                                 size_t ch,
                                 int labels,
                                 int crfs,
                                 const float* neg_unary,
                                 float* q,
                                 const KernelView* kernels,
                                 size_t nk,
                                 SliceOrder order);

}  // namespace pm::detail
