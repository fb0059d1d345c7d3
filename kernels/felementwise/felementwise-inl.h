// Float element-wise kernels, Highway: the reference's operations per lane
// (bnn_kernels.h, the float contract), the tail in scalar code.
// Targets whose vectors are not IEEE (armv7 NEON) use the reference.

#if defined(BNN_FELEMENTWISE_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef BNN_FELEMENTWISE_INL_H_
#undef BNN_FELEMENTWISE_INL_H_
#else
#define BNN_FELEMENTWISE_INL_H_
#endif

#include <assert.h>

#include "bnn_kernels.h"
#include "hwy/highway.h"
#include "kernels/common/f32-inl.h"

HWY_BEFORE_NAMESPACE();
namespace bnn {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

#if BNN_F32_EXACT

void AddF32(const float* a, const float* b, size_t n, float clamp_min, float clamp_max,
            float* out) {
  assert((n == 0 || (a && b && out)) && clamp_min <= clamp_max);
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  const auto lo = hn::Set(d, clamp_min), hi = hn::Set(d, clamp_max);
  size_t i = 0;
  for (; i + 2 * N <= n; i += 2 * N) {
    const auto y0 = hn::Add(hn::LoadU(d, a + i), hn::LoadU(d, b + i));
    const auto y1 = hn::Add(hn::LoadU(d, a + i + N), hn::LoadU(d, b + i + N));
    hn::StoreU(ClampF32(y0, lo, hi), d, out + i);
    hn::StoreU(ClampF32(y1, lo, hi), d, out + i + N);
  }
  for (; i + N <= n; i += N)
    hn::StoreU(ClampF32(hn::Add(hn::LoadU(d, a + i), hn::LoadU(d, b + i)), lo, hi), d, out + i);
  for (; i < n; ++i) {
    float y = a[i] + b[i];
    y = y < clamp_min ? clamp_min : y;
    out[i] = y > clamp_max ? clamp_max : y;
  }
}

#else  // !BNN_F32_EXACT

void AddF32(const float* a, const float* b, size_t n, float clamp_min, float clamp_max,
            float* out) {
  bnn_add_f32_ref(a, b, n, clamp_min, clamp_max, out);
}

#endif  // BNN_F32_EXACT

}  // namespace HWY_NAMESPACE
}  // namespace bnn
HWY_AFTER_NAMESPACE();

#endif  // BNN_FELEMENTWISE_INL_H_
