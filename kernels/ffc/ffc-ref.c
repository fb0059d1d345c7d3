/* Float fully-connected, reference: the float contract's dot product per
 * output element (fused multiply-adds for k = 0 .. K-1, the optional bias add,
 * the clamp). */
#include <assert.h>
#include <math.h>

#include "../common/f32.h"

void bnn_ffc_ref(const bnn_gemm_shape* s, const float* a, const float* weights, const float* bias,
                 float clamp_min, float clamp_max, float* output) {
  assert(s && s->m && s->n && s->k && a && weights && output);
  assert(bnn_clamp_valid(clamp_min, clamp_max));
  for (uint32_t m = 0; m < s->m; ++m, a += s->k, output += s->n)
    for (uint32_t n = 0; n < s->n; ++n) {
      const float* w = weights + (size_t)n * s->k;
      float acc = 0.0f;
      for (uint32_t k = 0; k < s->k; ++k) acc = fmaf(a[k], w[k], acc);
      const float y = bias ? acc + bias[n] : acc;
      output[n] = bnn_clamp_f32(y, clamp_min, clamp_max);
    }
}
