/* Binary max-pool, reference: AND of the bits over the valid window positions. */
#include <assert.h>

#include "bnn_kernels.h"

void bnn_bmaxpool_ref(const bnn_pool_shape* s, const bnn_word* input, bnn_word* output) {
  assert(s && input && output && bnn_pool_shape_valid(s));
  const uint32_t out_h = bnn_pool_out_h(s), out_w = bnn_pool_out_w(s);
  const size_t words = bnn_words(s->channels);
  for (uint32_t b = 0; b < s->batch; ++b)
    for (uint32_t oy = 0; oy < out_h; ++oy)
      for (uint32_t ox = 0; ox < out_w; ++ox, output += words)
        for (size_t x = 0; x < words; ++x) {
          bnn_word all_negative = ~(bnn_word)0;
          for (uint32_t ky = 0; ky < s->pool_h; ++ky)
            for (uint32_t kx = 0; kx < s->pool_w; ++kx) {
              const int64_t iy = (int64_t)oy * s->stride_h + ky - s->pad_top;
              const int64_t ix = (int64_t)ox * s->stride_w + kx - s->pad_left;
              if (iy < 0 || iy >= s->in_h || ix < 0 || ix >= s->in_w) continue;
              all_negative &= input[(((size_t)b * s->in_h + (size_t)iy) * s->in_w + (size_t)ix) * words + x];
            }
          output[x] = all_negative;
        }
}
