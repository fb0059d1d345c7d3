/* Output transform, reference: the formulas of bnn_kernels.h, one channel at a time. */
#include <assert.h>
#include <math.h>
#include <string.h>

#include "bnn_kernels.h"
#include "../common/f32.h"

static float affine_clamped(const bnn_output_transform* t, int32_t acc, size_t c,
                            const float* residual_row, float lo, float hi) {
  /* Separately rounded operations (the build disables FMA contraction): the
   * product, the bias, then the residual when there is one (adding 0 instead
   * would turn -0 into +0), then the float contract's clamp (compare and select). */
  const float product = (float)acc * t->multiplier[c];
  float y = product + t->bias[c];
  if (residual_row) y = y + residual_row[c];
  return bnn_clamp_f32(y, lo, hi);
}

void bnn_output_element_ref(const bnn_output_transform* t, int32_t acc, size_t c,
                            const float* residual_row, void* row) {
  switch (t->type) {
    case BNN_OUTPUT_S32:
      ((int32_t*)row)[c] = acc;
      return;
    case BNN_OUTPUT_F32:
      ((float*)row)[c] = affine_clamped(t, acc, c, residual_row, t->clamp_min, t->clamp_max);
      return;
    case BNN_OUTPUT_S8: {
      const float lo = fmaxf(t->clamp_min, -128.0f), hi = fminf(t->clamp_max, 127.0f);
      ((int8_t*)row)[c] = (int8_t)(int32_t)nearbyintf(affine_clamped(t, acc, c, NULL, lo, hi));
      return;
    }
    case BNN_OUTPUT_BITS: {
      const int negative = t->direction[c] >= 0 ? acc < t->threshold[c] : acc > t->threshold[c];
      ((bnn_word*)row)[c / BNN_WORD_BITS] |= (bnn_word)negative << (c % BNN_WORD_BITS);
      return;
    }
  }
  assert(0 && "unknown output type");
}

void bnn_output_row_ref(const bnn_output_transform* t, const int32_t* acc, size_t channels,
                        const float* residual_row, void* out) {
  if (t->type == BNN_OUTPUT_BITS) memset(out, 0, bnn_output_row_bytes(t->type, channels));
  for (size_t c = 0; c < channels; ++c) bnn_output_element_ref(t, acc[c], c, residual_row, out);
}
