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
#include "kernels/common/pool-window.h"

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
      for (uint32_t ox = 0; ox < out_w; ++ox, output += words) {
        const PoolWindow win = ClippedPoolWindow(s, oy, ox);
        size_t w = 0;
        for (; w + N <= words; w += N) {
          auto all = hn::Set(d, ~0u);
          for (size_t ky = win.ky0; ky < win.ky1; ++ky)
            for (size_t kx = win.kx0; kx < win.kx1; ++kx)
              all = hn::And(all, hn::LoadU(d, image + ((win.y0 + ky) * s->in_w + win.x0 + kx) * words + w));
          hn::StoreU(all, d, output + w);
        }
        for (; w < words; ++w) {
          bnn_word all = ~0u;
          for (size_t ky = win.ky0; ky < win.ky1; ++ky)
            for (size_t kx = win.kx0; kx < win.kx1; ++kx) all &= image[((win.y0 + ky) * s->in_w + win.x0 + kx) * words + w];
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
