/* Float element-wise kernels, reference. */
#include <assert.h>

#include "../common/f32.h"

void bnn_add_f32_ref(const float* a, const float* b, size_t n, float clamp_min, float clamp_max,
                     float* out) {
  assert((n == 0 || (a && b && out)) && bnn_clamp_valid(clamp_min, clamp_max));
  for (size_t i = 0; i < n; ++i) out[i] = bnn_clamp_f32(a[i] + b[i], clamp_min, clamp_max);
}
