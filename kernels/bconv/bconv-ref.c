/* Binary 2-D convolution, reference: each output element's dot product is
 * computed straight from the definitions in bnn_kernels.h. It is the
 * microcontroller path and the oracle the optimised kernels are tested
 * against, so it stays simple; the only concessions to speed (Cortex-M) are
 * that each tap's position is found once per output pixel and block of
 * output channels instead of once per channel, and that a group starting on
 * a word boundary reads whole words.
 *
 * Zero padding: a padded tap contributes 0 to the +/-1 dot product, so the
 * dot product runs over the valid taps only: dot = Cg * valid_taps - 2 * mismatches.
 * One padding: a padded tap is all +1 (bits 0), so it contributes
 * Cg - 2 * popcount(weight bits of that tap). */
#include <assert.h>
#include <string.h>

#include "../common/bits.h"

/* Output channels whose dot products are accumulated together. */
#define CHANNEL_BLOCK 32u

static int32_t tap_dot(const bnn_word* act, size_t act_bit, const bnn_word* w, uint32_t cg) {
  /* act: the input pixel's row, the group's channels starting at act_bit
   * (NULL: +1 padding); w: this tap's weight words (bit 0 aligned). */
  uint32_t mismatches = 0;
  if (act && act_bit % BNN_WORD_BITS == 0) {
    const bnn_word* a = act + act_bit / BNN_WORD_BITS;
    uint32_t done = 0, i = 0;
    for (; done + BNN_WORD_BITS <= cg; done += BNN_WORD_BITS, ++i) mismatches += bnn_popcount32(a[i] ^ w[i]);
    if (done < cg) mismatches += bnn_popcount32((a[i] & ((1u << (cg - done)) - 1u)) ^ w[i]);
    return (int32_t)cg - 2 * (int32_t)mismatches;
  }
  for (uint32_t done = 0; done < cg; done += BNN_WORD_BITS) {
    const uint32_t n = cg - done < BNN_WORD_BITS ? cg - done : BNN_WORD_BITS;
    const uint32_t a = act ? bnn_get_bits(act, act_bit + done, n) : 0;
    mismatches += bnn_popcount32(a ^ w[done / BNN_WORD_BITS]);
  }
  return (int32_t)cg - 2 * (int32_t)mismatches;
}

void bnn_bconv2d_ref(const bnn_conv_shape* s, const bnn_word* input, const bnn_word* weights,
                     const bnn_output_transform* t, void* output) {
  assert(s && input && weights && t && output && bnn_conv_shape_valid(s));
  const uint32_t out_h = bnn_conv_out_h(s), out_w = bnn_conv_out_w(s);
  const uint32_t cg = s->in_c / s->groups, ocg = s->out_c / s->groups;
  const size_t in_words = bnn_words(s->in_c), tap_words = bnn_words(cg);
  const size_t w_row = bnn_conv_weight_row_words(s);
  const size_t out_row_bytes = bnn_output_row_bytes(t->type, s->out_c);
  uint8_t* out = (uint8_t*)output;
  size_t pixel = 0; /* output rows done, for the residual's row */
  int32_t dot[CHANNEL_BLOCK];
  size_t group_bit[CHANNEL_BLOCK];

  for (uint32_t b = 0; b < s->batch; ++b)
    for (uint32_t oy = 0; oy < out_h; ++oy)
      for (uint32_t ox = 0; ox < out_w; ++ox, out += out_row_bytes, ++pixel) {
        const float* residual = bnn_output_residual_row(t, pixel, s->out_c);
        if (t->type == BNN_OUTPUT_BITS) memset(out, 0, out_row_bytes);
        for (uint32_t oc0 = 0; oc0 < s->out_c; oc0 += CHANNEL_BLOCK) {
          const uint32_t count = s->out_c - oc0 < CHANNEL_BLOCK ? s->out_c - oc0 : CHANNEL_BLOCK;
          for (uint32_t j = 0; j < count; ++j) {
            dot[j] = 0;
            group_bit[j] = (size_t)((oc0 + j) / ocg) * cg; /* where channel oc0 + j's group starts */
          }
          for (uint32_t ky = 0; ky < s->kernel_h; ++ky)
            for (uint32_t kx = 0; kx < s->kernel_w; ++kx) {
              const int64_t iy = (int64_t)oy * s->stride_h + (int64_t)ky * s->dilation_h - s->pad_top;
              const int64_t ix = (int64_t)ox * s->stride_w + (int64_t)kx * s->dilation_w - s->pad_left;
              const int inside = iy >= 0 && iy < s->in_h && ix >= 0 && ix < s->in_w;
              if (!inside && s->pad_value != BNN_PAD_ONE) continue; /* zero padding: contributes 0 */
              const bnn_word* act =
                  inside ? input + (((size_t)b * s->in_h + (size_t)iy) * s->in_w + (size_t)ix) * in_words : NULL;
              const size_t tap = ((size_t)ky * s->kernel_w + kx) * tap_words;
              const bnn_word* w = weights + oc0 * w_row + tap;
              for (uint32_t j = 0; j < count; ++j, w += w_row) dot[j] += tap_dot(act, group_bit[j], w, cg);
            }
          for (uint32_t j = 0; j < count; ++j) bnn_output_element_ref(t, dot[j], oc0 + j, residual, out);
        }
      }
}
