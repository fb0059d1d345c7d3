// Binary max-pool, Highway: AND of the window's valid pixels, whole vectors
// of channel words, the remaining words one at a time.

#if defined(BNN_BMAXPOOL_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef BNN_BMAXPOOL_INL_H_
#undef BNN_BMAXPOOL_INL_H_
#else
#define BNN_BMAXPOOL_INL_H_
#endif

#include <assert.h>

#include "bnn_kernels.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace bnn {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

void BMaxPool(const bnn_pool_shape* s, const bnn_word* input, bnn_word* output) {
  assert(s && input && output && bnn_pool_shape_valid(s));
  const hn::ScalableTag<uint32_t> d;
  const size_t N = hn::Lanes(d);
  const uint32_t out_h = bnn_pool_out_h(s), out_w = bnn_pool_out_w(s);
  const size_t words = bnn_words(s->channels);
  for (uint32_t b = 0; b < s->batch; ++b) {
    const bnn_word* image = input + static_cast<size_t>(b) * s->in_h * s->in_w * words;
    for (uint32_t oy = 0; oy < out_h; ++oy) {
      // The window clipped to the image (pads are smaller than the window,
      // so it is never empty).
      const int64_t y0 = static_cast<int64_t>(oy) * s->stride_h - s->pad_top;
      const size_t ky0 = y0 < 0 ? static_cast<size_t>(-y0) : 0;
      const size_t ky1 = y0 + s->pool_h > s->in_h ? static_cast<size_t>(s->in_h - y0) : s->pool_h;
      for (uint32_t ox = 0; ox < out_w; ++ox, output += words) {
        const int64_t x0 = static_cast<int64_t>(ox) * s->stride_w - s->pad_left;
        const size_t kx0 = x0 < 0 ? static_cast<size_t>(-x0) : 0;
        const size_t kx1 = x0 + s->pool_w > s->in_w ? static_cast<size_t>(s->in_w - x0) : s->pool_w;
        size_t w = 0;
        for (; w + N <= words; w += N) {
          auto all = hn::Set(d, ~0u);
          for (size_t ky = ky0; ky < ky1; ++ky)
            for (size_t kx = kx0; kx < kx1; ++kx)
              all = hn::And(all, hn::LoadU(d, image + ((y0 + ky) * s->in_w + x0 + kx) * words + w));
          hn::StoreU(all, d, output + w);
        }
        for (; w < words; ++w) {
          bnn_word all = ~0u;
          for (size_t ky = ky0; ky < ky1; ++ky)
            for (size_t kx = kx0; kx < kx1; ++kx) all &= image[((y0 + ky) * s->in_w + x0 + kx) * words + w];
          output[w] = all;
        }
      }
    }
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace bnn
HWY_AFTER_NAMESPACE();

#endif  // BNN_BMAXPOOL_INL_H_
