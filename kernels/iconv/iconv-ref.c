/* Int8 2-D convolution, reference: the first layer on 8-bit pixels or
 * quantised activations. Exact integer accumulation, then the same output
 * transform as the binary convolution (bnn_kernels.h), so an int8 first layer
 * can write floats, int8 or packed bits for the binary layer after it. */
#include <assert.h>
#include <string.h>

#include "bnn_kernels.h"

void bnn_iconv2d_ref(const bnn_conv_shape* s, const int8_t* input, int32_t input_zero_point,
                     const int8_t* weights, const bnn_output_transform* t, void* output) {
  assert(s && input && weights && t && output && bnn_fconv_shape_valid(s));
  assert(input_zero_point >= -128 && input_zero_point <= 127);
  assert(!t->residual && "the int8 convolution takes no residual");
  const uint32_t out_h = bnn_conv_out_h(s), out_w = bnn_conv_out_w(s);
  const uint32_t cg = s->in_c / s->groups, ocg = s->out_c / s->groups;
  const size_t out_row_bytes = bnn_output_row_bytes(t->type, s->out_c);
  uint8_t* out = (uint8_t*)output;
  for (uint32_t b = 0; b < s->batch; ++b)
    for (uint32_t oy = 0; oy < out_h; ++oy)
      for (uint32_t ox = 0; ox < out_w; ++ox, out += out_row_bytes) {
        if (t->type == BNN_OUTPUT_BITS) memset(out, 0, out_row_bytes);
        for (uint32_t oc = 0; oc < s->out_c; ++oc) {
          const uint32_t g = oc / ocg;
          int32_t acc = 0;
          for (uint32_t ky = 0; ky < s->kernel_h; ++ky)
            for (uint32_t kx = 0; kx < s->kernel_w; ++kx) {
              const int64_t iy = (int64_t)oy * s->stride_h + (int64_t)ky * s->dilation_h - s->pad_top;
              const int64_t ix = (int64_t)ox * s->stride_w + (int64_t)kx * s->dilation_w - s->pad_left;
              /* Padding is the real value 0, i.e. the zero point: it adds nothing. */
              if (iy < 0 || iy >= s->in_h || ix < 0 || ix >= s->in_w) continue;
              const int8_t* x = input + (((size_t)b * s->in_h + (size_t)iy) * s->in_w + (size_t)ix) * s->in_c + (size_t)g * cg;
              const int8_t* w = weights + (((size_t)oc * s->kernel_h + ky) * s->kernel_w + kx) * cg;
              for (uint32_t i = 0; i < cg; ++i) acc += ((int32_t)x[i] - input_zero_point) * (int32_t)w[i];
            }
          bnn_output_element_ref(t, acc, oc, NULL, out);
        }
      }
}
