/* Shape arithmetic and validation shared by every implementation. */
#include <assert.h>

#include "bnn_kernels.h"

static uint32_t extent(uint32_t kernel, uint32_t dilation) { return dilation * (kernel - 1) + 1; }

static uint32_t out_size(uint32_t in, uint32_t pad_a, uint32_t pad_b, uint32_t kernel,
                         uint32_t stride, uint32_t dilation) {
  const uint64_t padded = (uint64_t)in + pad_a + pad_b;
  const uint32_t ext = extent(kernel, dilation);
  if (stride == 0 || padded < ext) return 0;
  return (uint32_t)((padded - ext) / stride + 1);
}

uint32_t bnn_conv_out_h(const bnn_conv_shape* s) {
  return out_size(s->in_h, s->pad_top, s->pad_bottom, s->kernel_h, s->stride_h, s->dilation_h);
}

uint32_t bnn_conv_out_w(const bnn_conv_shape* s) {
  return out_size(s->in_w, s->pad_left, s->pad_right, s->kernel_w, s->stride_w, s->dilation_w);
}

static void same_pad(uint32_t in, uint32_t kernel, uint32_t stride, uint32_t dilation,
                     uint32_t* before, uint32_t* after) {
  const uint32_t out = (in + stride - 1) / stride;
  const int64_t need = (int64_t)(out - 1) * stride + extent(kernel, dilation) - in;
  const uint32_t total = need > 0 ? (uint32_t)need : 0;
  *before = total / 2;
  *after = total - total / 2;
}

void bnn_conv_same_padding(bnn_conv_shape* s, int same) {
  if (same) {
    same_pad(s->in_h, s->kernel_h, s->stride_h, s->dilation_h, &s->pad_top, &s->pad_bottom);
    same_pad(s->in_w, s->kernel_w, s->stride_w, s->dilation_w, &s->pad_left, &s->pad_right);
  } else {
    s->pad_top = s->pad_bottom = s->pad_left = s->pad_right = 0;
  }
}

int bnn_conv_shape_valid(const bnn_conv_shape* s) {
  if (!s->batch || !s->in_h || !s->in_w || !s->in_c || !s->out_c) return 0;
  if (!s->kernel_h || !s->kernel_w || !s->stride_h || !s->stride_w) return 0;
  if (!s->dilation_h || !s->dilation_w || !s->groups) return 0;
  if (s->in_c % s->groups || s->out_c % s->groups) return 0;
  if (s->pad_value != BNN_PAD_ZERO && s->pad_value != BNN_PAD_ONE) return 0;
  if (!bnn_conv_out_h(s) || !bnn_conv_out_w(s)) return 0;
  const uint64_t k = (uint64_t)s->kernel_h * s->kernel_w * (s->in_c / s->groups);
  return k <= BNN_MAX_K;
}

size_t bnn_conv_weight_row_words(const bnn_conv_shape* s) {
  return (size_t)s->kernel_h * s->kernel_w * bnn_words(s->in_c / s->groups);
}

size_t bnn_output_row_bytes(bnn_output_type type, size_t channels) {
  switch (type) {
    case BNN_OUTPUT_S32: return channels * sizeof(int32_t);
    case BNN_OUTPUT_F32: return channels * sizeof(float);
    case BNN_OUTPUT_S8: return channels;
    case BNN_OUTPUT_BITS: return bnn_words(channels) * sizeof(bnn_word);
  }
  assert(0 && "unknown output type");
  return 0;
}

uint32_t bnn_pool_out_h(const bnn_pool_shape* s) {
  return out_size(s->in_h, s->pad_top, s->pad_bottom, s->pool_h, s->stride_h, 1);
}

uint32_t bnn_pool_out_w(const bnn_pool_shape* s) {
  return out_size(s->in_w, s->pad_left, s->pad_right, s->pool_w, s->stride_w, 1);
}

int bnn_pool_shape_valid(const bnn_pool_shape* s) {
  if (!s->batch || !s->in_h || !s->in_w || !s->channels) return 0;
  if (!s->pool_h || !s->pool_w || !s->stride_h || !s->stride_w) return 0;
  if (s->pad_top >= s->pool_h || s->pad_bottom >= s->pool_h || s->pad_left >= s->pool_w ||
      s->pad_right >= s->pool_w)
    return 0;
  return bnn_pool_out_h(s) && bnn_pool_out_w(s);
}

int bnn_fconv_shape_valid(const bnn_conv_shape* s) {
  bnn_conv_shape known = *s;
  known.pad_value = BNN_PAD_ZERO; /* ignored by float convolutions */
  return bnn_conv_shape_valid(&known);
}
