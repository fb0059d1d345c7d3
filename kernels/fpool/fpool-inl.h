// Float max-pool and average pool, Highway: channels in lanes, the window's
// positions inside the image in (ky, kx) order, exactly the reference's
// operations per lane (bnn_kernels.h, the float contract); the channels past
// the last whole vector run the same operations in scalar code.
// Targets whose vectors are not IEEE (armv7 NEON) use the reference.

#if defined(BNN_FPOOL_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef BNN_FPOOL_INL_H_
#undef BNN_FPOOL_INL_H_
#else
#define BNN_FPOOL_INL_H_
#endif

#include <assert.h>

#include "bnn_kernels.h"
#include "hwy/highway.h"
#include "kernels/common/f32-inl.h"
#include "kernels/common/pool-window.h"

HWY_BEFORE_NAMESPACE();
namespace bnn {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

#if BNN_F32_EXACT

void MaxPoolF32(const bnn_pool_shape* s, const float* input, float* output) {
  assert(s && input && output && bnn_pool_shape_valid(s));
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d), C = s->channels;
  const uint32_t out_h = bnn_pool_out_h(s), out_w = bnn_pool_out_w(s);
  for (uint32_t b = 0; b < s->batch; ++b) {
    const float* image = input + static_cast<size_t>(b) * s->in_h * s->in_w * C;
    for (uint32_t oy = 0; oy < out_h; ++oy)
      for (uint32_t ox = 0; ox < out_w; ++ox, output += C) {
        const PoolWindow w = ClippedPoolWindow(s, oy, ox);
        const float* first = image + ((w.y0 + w.ky0) * s->in_w + w.x0 + w.kx0) * C;
        // m starts at the first position; going over it again changes nothing.
        // IsNaN, not Ne(x, x): Highway 1.0.3's Ne is an ordered compare (false
        // for NaN) on AVX2/AVX-512 but unordered on SSE4.
        size_t c = 0;
        for (; c + N <= C; c += N) {
          auto m = hn::LoadU(d, first + c);
          for (size_t ky = w.ky0; ky < w.ky1; ++ky)
            for (size_t kx = w.kx0; kx < w.kx1; ++kx) {
              const auto x = hn::LoadU(d, image + ((w.y0 + ky) * s->in_w + w.x0 + kx) * C + c);
              m = hn::IfThenElse(hn::Or(hn::Gt(x, m), hn::IsNaN(x)), x, m);
            }
          hn::StoreU(m, d, output + c);
        }
        for (; c < C; ++c) {
          float m = first[c];
          for (size_t ky = w.ky0; ky < w.ky1; ++ky)
            for (size_t kx = w.kx0; kx < w.kx1; ++kx) {
              const float x = image[((w.y0 + ky) * s->in_w + w.x0 + kx) * C + c];
              if (x > m || x != x) m = x;
            }
          output[c] = m;
        }
      }
  }
}

void AvgPoolF32(const bnn_pool_shape* s, const float* input, int count_include_pad,
                float* output) {
  assert(s && input && output && bnn_pool_shape_valid(s));
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d), C = s->channels;
  const uint32_t out_h = bnn_pool_out_h(s), out_w = bnn_pool_out_w(s);
  for (uint32_t b = 0; b < s->batch; ++b) {
    const float* image = input + static_cast<size_t>(b) * s->in_h * s->in_w * C;
    for (uint32_t oy = 0; oy < out_h; ++oy)
      for (uint32_t ox = 0; ox < out_w; ++ox, output += C) {
        const PoolWindow w = ClippedPoolWindow(s, oy, ox);
        const uint32_t count = count_include_pad
                                   ? s->pool_h * s->pool_w
                                   : static_cast<uint32_t>((w.ky1 - w.ky0) * (w.kx1 - w.kx0));
        const float divisor = static_cast<float>(count);
        const auto vdivisor = hn::Set(d, divisor);
        size_t c = 0;
        for (; c + N <= C; c += N) {
          auto acc = hn::Zero(d);
          for (size_t ky = w.ky0; ky < w.ky1; ++ky)
            for (size_t kx = w.kx0; kx < w.kx1; ++kx)
              acc = hn::Add(acc, hn::LoadU(d, image + ((w.y0 + ky) * s->in_w + w.x0 + kx) * C + c));
          hn::StoreU(hn::Div(acc, vdivisor), d, output + c);
        }
        for (; c < C; ++c) {
          float acc = 0.0f;
          for (size_t ky = w.ky0; ky < w.ky1; ++ky)
            for (size_t kx = w.kx0; kx < w.kx1; ++kx)
              acc = acc + image[((w.y0 + ky) * s->in_w + w.x0 + kx) * C + c];
          output[c] = acc / divisor;
        }
      }
  }
}

#else  // !BNN_F32_EXACT

void MaxPoolF32(const bnn_pool_shape* s, const float* input, float* output) {
  bnn_maxpool_f32_ref(s, input, output);
}
void AvgPoolF32(const bnn_pool_shape* s, const float* input, int count_include_pad,
                float* output) {
  bnn_avgpool_f32_ref(s, input, count_include_pad, output);
}

#endif  // BNN_F32_EXACT

}  // namespace HWY_NAMESPACE
}  // namespace bnn
HWY_AFTER_NAMESPACE();

#endif  // BNN_FPOOL_INL_H_
