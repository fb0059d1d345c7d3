/* Float max-pool and average pool, reference: the orders of the float
 * contract in bnn_kernels.h, one output element at a time. */
#include <assert.h>

#include "bnn_kernels.h"

void bnn_maxpool_f32_ref(const bnn_pool_shape* s, const float* input, float* output) {
  assert(s && input && output && bnn_pool_shape_valid(s));
  const uint32_t out_h = bnn_pool_out_h(s), out_w = bnn_pool_out_w(s);
  for (uint32_t b = 0; b < s->batch; ++b)
    for (uint32_t oy = 0; oy < out_h; ++oy)
      for (uint32_t ox = 0; ox < out_w; ++ox, output += s->channels)
        for (uint32_t c = 0; c < s->channels; ++c) {
          float m = 0.0f;
          int first = 1;
          for (uint32_t ky = 0; ky < s->pool_h; ++ky)
            for (uint32_t kx = 0; kx < s->pool_w; ++kx) {
              const int64_t iy = (int64_t)oy * s->stride_h + ky - s->pad_top;
              const int64_t ix = (int64_t)ox * s->stride_w + kx - s->pad_left;
              if (iy < 0 || iy >= s->in_h || ix < 0 || ix >= s->in_w) continue;
              const float x = input[(((size_t)b * s->in_h + (size_t)iy) * s->in_w + (size_t)ix) * s->channels + c];
              if (first || x > m || x != x) m = x;
              first = 0;
            }
          output[c] = m;
        }
}

void bnn_avgpool_f32_ref(const bnn_pool_shape* s, const float* input, int count_include_pad,
                         float* output) {
  assert(s && input && output && bnn_pool_shape_valid(s));
  const uint32_t out_h = bnn_pool_out_h(s), out_w = bnn_pool_out_w(s);
  for (uint32_t b = 0; b < s->batch; ++b)
    for (uint32_t oy = 0; oy < out_h; ++oy)
      for (uint32_t ox = 0; ox < out_w; ++ox, output += s->channels)
        for (uint32_t c = 0; c < s->channels; ++c) {
          float acc = 0.0f;
          uint32_t count = 0;
          for (uint32_t ky = 0; ky < s->pool_h; ++ky)
            for (uint32_t kx = 0; kx < s->pool_w; ++kx) {
              const int64_t iy = (int64_t)oy * s->stride_h + ky - s->pad_top;
              const int64_t ix = (int64_t)ox * s->stride_w + kx - s->pad_left;
              if (iy < 0 || iy >= s->in_h || ix < 0 || ix >= s->in_w) continue;
              acc = acc + input[(((size_t)b * s->in_h + (size_t)iy) * s->in_w + (size_t)ix) * s->channels + c];
              ++count;
            }
          if (count_include_pad) count = s->pool_h * s->pool_w;
          output[c] = acc / (float)count;
        }
}
