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
  size_t i = 0;
  for (; i + 2 * N <= n; i += 2 * N) {
    const auto y0 = hn::Add(hn::LoadU(d, a + i), hn::LoadU(d, b + i));
    const auto y1 = hn::Add(hn::LoadU(d, a + i + N), hn::LoadU(d, b + i + N));
    hn::StoreU(ClampF32(y0, clamp_min, clamp_max), d, out + i);
    hn::StoreU(ClampF32(y1, clamp_min, clamp_max), d, out + i + N);
  }
  for (; i + N <= n; i += N)
    hn::StoreU(ClampF32(hn::Add(hn::LoadU(d, a + i), hn::LoadU(d, b + i)), clamp_min, clamp_max), d,
               out + i);
  for (; i < n; ++i) {
    float y = a[i] + b[i];
    y = y < clamp_min ? clamp_min : y;
    out[i] = y > clamp_max ? clamp_max : y;
  }
}

// The reference's q = clamp(nearbyint(x / scale) + zero_point) per lane:
// a correctly rounded division, round to nearest even, a float add, NaN to
// the low end (as fmaxf gives), then the clamp; the tail through the reference.
void QuantizeF32(const float* x, size_t n, float scale, int32_t zero_point, int u8, void* out) {
  const hn::ScalableTag<float> d;
  const hn::RebindToSigned<decltype(d)> di;
  const size_t N = hn::Lanes(d);
  const auto vs = hn::Set(d, scale), vz = hn::Set(d, static_cast<float>(zero_point));
  const auto lo = hn::Set(d, u8 ? 0.0f : -128.0f), hi = hn::Set(d, u8 ? 255.0f : 127.0f);
  size_t i = 0;
  for (; i + N <= n; i += N) {
    auto q = hn::Add(hn::Round(hn::Div(hn::LoadU(d, x + i), vs)), vz);
    q = hn::Min(hn::Max(hn::IfThenElse(hn::IsNaN(q), lo, q), lo), hi);
    const auto qi = hn::ConvertTo(di, q);
    if (u8) {
      const hn::Rebind<uint8_t, decltype(di)> du8;
      hn::StoreU(hn::DemoteTo(du8, qi), du8, static_cast<uint8_t*>(out) + i);
    } else {
      const hn::Rebind<int8_t, decltype(di)> di8;
      hn::StoreU(hn::DemoteTo(di8, qi), di8, static_cast<int8_t*>(out) + i);
    }
  }
  if (i < n) bnn_quantize_f32_ref(x + i, n - i, scale, zero_point, u8, static_cast<uint8_t*>(out) + i);
}

// The reference's select per lane: a compare and a blend, no branch (a
// branch per element mispredicts on real activations, whose signs are random).
void PReluF32(const float* x, size_t n, const float* slope, size_t channels, float* out) {
  assert((n == 0 || (x && slope && out)) && channels >= 1 && n % channels == 0);
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  const auto zero = hn::Zero(d);
  const auto prelu = [&](hn::Vec<decltype(d)> v, hn::Vec<decltype(d)> s) HWY_ATTR {
    return hn::IfThenElse(hn::Lt(v, zero), hn::Mul(v, s), v);
  };
  if (channels == 1) {  // one shared slope: a flat stream
    const auto s = hn::Set(d, slope[0]);
    size_t i = 0;
    for (; i + N <= n; i += N) hn::StoreU(prelu(hn::LoadU(d, x + i), s), d, out + i);
    if (i < n) bnn_prelu_f32_ref(x + i, n - i, slope, 1, out + i);
    return;
  }
  if (channels < N) return bnn_prelu_f32_ref(x, n, slope, channels, out);  // no whole vector
  // Per pixel: the channels in vectors, the last partial vector in scalar code.
  const size_t body = channels / N * N;
  for (size_t p = 0; p < n; p += channels) {
    for (size_t c = 0; c < body; c += N)
      hn::StoreU(prelu(hn::LoadU(d, x + p + c), hn::LoadU(d, slope + c)), d, out + p + c);
    for (size_t c = body; c < channels; ++c)
      out[p + c] = x[p + c] < 0.0f ? x[p + c] * slope[c] : x[p + c];
  }
}

#else  // !BNN_F32_EXACT

void PReluF32(const float* x, size_t n, const float* slope, size_t channels, float* out) {
  bnn_prelu_f32_ref(x, n, slope, channels, out);
}

void QuantizeF32(const float* x, size_t n, float scale, int32_t zero_point, int u8, void* out) {
  bnn_quantize_f32_ref(x, n, scale, zero_point, u8, out);
}

void AddF32(const float* a, const float* b, size_t n, float clamp_min, float clamp_max,
            float* out) {
  bnn_add_f32_ref(a, b, n, clamp_min, clamp_max, out);
}

#endif  // BNN_F32_EXACT

}  // namespace HWY_NAMESPACE
}  // namespace bnn
HWY_AFTER_NAMESPACE();

#endif  // BNN_FELEMENTWISE_INL_H_
