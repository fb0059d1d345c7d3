/* Float element-wise kernels, reference. */
#include <assert.h>
#include <math.h>

#include "../common/f32.h"

void bnn_add_f32_ref(const float* a, const float* b, size_t n, float clamp_min, float clamp_max,
                     float* out) {
  assert((n == 0 || (a && b && out)) && bnn_clamp_valid(clamp_min, clamp_max));
  for (size_t i = 0; i < n; ++i) out[i] = bnn_clamp_f32(a[i] + b[i], clamp_min, clamp_max);
}

void bnn_prelu_f32_ref(const float* x, size_t n, const float* slope, size_t channels, float* out) {
  assert((n == 0 || (x && slope && out)) && channels >= 1 && n % channels == 0);
  for (size_t i = 0; i < n; i += channels)
    for (size_t c = 0; c < channels; ++c) out[i + c] = x[i + c] < 0.0f ? x[i + c] * slope[c] : x[i + c];
}

void bnn_quantize_f32_ref(const float* x, size_t n, float scale, int32_t zero_point, int u8, void* out) {
  assert((n == 0 || (x && out)) && scale > 0.0f);
  const float lo = u8 ? 0.0f : -128.0f, hi = u8 ? 255.0f : 127.0f;
  for (size_t i = 0; i < n; ++i) {
    const float q = fminf(fmaxf(nearbyintf(x[i] / scale) + (float)zero_point, lo), hi);
    if (u8)
      ((uint8_t*)out)[i] = (uint8_t)q;
    else
      ((int8_t*)out)[i] = (int8_t)q;
  }
}
