/* Float 2-D convolution, reference: each output element straight from the
 * float contract in bnn_kernels.h (fused multiply-adds in (ky, kx, ic)
 * order, padded taps as +0.0f, then the optional bias add, then the clamp).
 * The microcontroller path and the oracle of the optimised kernels; the one
 * concession to speed (Cortex-M) is that each tap's position is found once
 * per output pixel and block of output channels, which leaves every
 * element's chain of operations as it was. */
#include <assert.h>
#include <math.h>

#include "../common/f32.h"

/* Output channels accumulated together. */
#define CHANNEL_BLOCK 16u

void bnn_fconv2d_ref(const bnn_conv_shape* s, const float* input, const float* weights,
                     const float* bias, float clamp_min, float clamp_max, float* output) {
  assert(s && input && weights && output && bnn_fconv_shape_valid(s));
  assert(bnn_clamp_valid(clamp_min, clamp_max));
  const uint32_t out_h = bnn_conv_out_h(s), out_w = bnn_conv_out_w(s);
  const uint32_t cg = s->in_c / s->groups, ocg = s->out_c / s->groups;
  const size_t w_row = (size_t)s->kernel_h * s->kernel_w * cg;
  float acc[CHANNEL_BLOCK];
  size_t group_offset[CHANNEL_BLOCK];

  for (uint32_t b = 0; b < s->batch; ++b)
    for (uint32_t oy = 0; oy < out_h; ++oy)
      for (uint32_t ox = 0; ox < out_w; ++ox, output += s->out_c)
        for (uint32_t oc0 = 0; oc0 < s->out_c; oc0 += CHANNEL_BLOCK) {
          const uint32_t count = s->out_c - oc0 < CHANNEL_BLOCK ? s->out_c - oc0 : CHANNEL_BLOCK;
          for (uint32_t j = 0; j < count; ++j) {
            acc[j] = 0.0f;
            group_offset[j] = (size_t)((oc0 + j) / ocg) * cg; /* channel oc0 + j's group in a pixel */
          }
          for (uint32_t ky = 0; ky < s->kernel_h; ++ky)
            for (uint32_t kx = 0; kx < s->kernel_w; ++kx) {
              const int64_t iy = (int64_t)oy * s->stride_h + (int64_t)ky * s->dilation_h - s->pad_top;
              const int64_t ix = (int64_t)ox * s->stride_w + (int64_t)kx * s->dilation_w - s->pad_left;
              const int inside = iy >= 0 && iy < s->in_h && ix >= 0 && ix < s->in_w;
              const float* pixel =
                  inside ? input + (((size_t)b * s->in_h + (size_t)iy) * s->in_w + (size_t)ix) * s->in_c : NULL;
              const size_t tap = ((size_t)ky * s->kernel_w + kx) * cg;
              const float* w = weights + oc0 * w_row + tap;
              for (uint32_t j = 0; j < count; ++j, w += w_row) {
                float a = acc[j];
                if (pixel) {
                  const float* x = pixel + group_offset[j];
                  for (uint32_t ic = 0; ic < cg; ++ic) a = fmaf(x[ic], w[ic], a);
                } else {
                  for (uint32_t ic = 0; ic < cg; ++ic) a = fmaf(0.0f, w[ic], a);
                }
                acc[j] = a;
              }
            }
          for (uint32_t j = 0; j < count; ++j) {
            const float y = bias ? acc[j] + bias[oc0 + j] : acc[j];
            output[oc0 + j] = bnn_clamp_f32(y, clamp_min, clamp_max);
          }
        }
}
