/* Float helpers shared by the C reference kernels (internal): the clamp of
 * the float contract in bnn_kernels.h. */
#ifndef BNN_KERNELS_COMMON_F32_H
#define BNN_KERNELS_COMMON_F32_H

#include "bnn_kernels.h"

/* NaN passes through, -0.0f is kept: compare-and-select, not fminf/fmaxf. */
static inline float bnn_clamp_f32(float y, float lo, float hi) {
  y = y < lo ? lo : y;
  return y > hi ? hi : y;
}

/* The clamp bounds' precondition: ordered, neither NaN. */
static inline int bnn_clamp_valid(float lo, float hi) { return lo <= hi; }

#endif
