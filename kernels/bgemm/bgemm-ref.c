/* Binary GEMM / fully-connected, reference. */
#include <assert.h>
#include <string.h>

#include "../common/bits.h"

void bnn_bgemm_ref(const bnn_gemm_shape* s, const bnn_word* a, const bnn_word* weights,
                   const bnn_output_transform* t, void* output) {
  assert(s && a && weights && t && output && s->m && s->n && s->k && s->k <= BNN_MAX_K);
  const size_t words = bnn_words(s->k);
  const size_t out_row_bytes = bnn_output_row_bytes(t->type, s->n);
  uint8_t* out = (uint8_t*)output;
  for (uint32_t i = 0; i < s->m; ++i, a += words, out += out_row_bytes) {
    const float* residual = bnn_output_residual_row(t, i, s->n);
    if (t->type == BNN_OUTPUT_BITS) memset(out, 0, out_row_bytes);
    for (uint32_t j = 0; j < s->n; ++j) {
      const bnn_word* w = weights + (size_t)j * words;
      uint32_t mismatches = 0;
      for (size_t x = 0; x < words; ++x) mismatches += bnn_popcount32(a[x] ^ w[x]);
      bnn_output_element_ref(t, (int32_t)s->k - 2 * (int32_t)mismatches, j, residual, out);
    }
  }
}
