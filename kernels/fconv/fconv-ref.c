/* Float 2-D convolution, reference: one output element at a time, straight
 * from the float contract in bnn_kernels.h (fused multiply-adds in (ky, kx, ic)
 * order, padded taps as +0.0f, then the optional bias add, then the clamp).
 * The microcontroller path and the oracle of the optimised kernels. */
#include <assert.h>
#include <math.h>

#include "../common/f32.h"

void bnn_fconv2d_ref(const bnn_conv_shape* s, const float* input, const float* weights,
                     const float* bias, float clamp_min, float clamp_max, float* output) {
  assert(s && input && weights && output && bnn_fconv_shape_valid(s));
  assert(bnn_clamp_valid(clamp_min, clamp_max));
  const uint32_t out_h = bnn_conv_out_h(s), out_w = bnn_conv_out_w(s);
  const uint32_t cg = s->in_c / s->groups, ocg = s->out_c / s->groups;
  const size_t w_row = (size_t)s->kernel_h * s->kernel_w * cg;

  for (uint32_t b = 0; b < s->batch; ++b)
    for (uint32_t oy = 0; oy < out_h; ++oy)
      for (uint32_t ox = 0; ox < out_w; ++ox, output += s->out_c)
        for (uint32_t oc = 0; oc < s->out_c; ++oc) {
          const uint32_t g = oc / ocg;
          const float* w = weights + oc * w_row;
          float acc = 0.0f;
          for (uint32_t ky = 0; ky < s->kernel_h; ++ky)
            for (uint32_t kx = 0; kx < s->kernel_w; ++kx) {
              const int64_t iy = (int64_t)oy * s->stride_h + (int64_t)ky * s->dilation_h - s->pad_top;
              const int64_t ix = (int64_t)ox * s->stride_w + (int64_t)kx * s->dilation_w - s->pad_left;
              const int inside = iy >= 0 && iy < s->in_h && ix >= 0 && ix < s->in_w;
              const float* x = inside ? input + (((size_t)b * s->in_h + (size_t)iy) * s->in_w +
                                                 (size_t)ix) * s->in_c + (size_t)g * cg
                                      : NULL;
              for (uint32_t ic = 0; ic < cg; ++ic, ++w) acc = fmaf(x ? x[ic] : 0.0f, *w, acc);
            }
          const float y = bias ? acc + bias[oc] : acc;
          output[oc] = bnn_clamp_f32(y, clamp_min, clamp_max);
        }
}
