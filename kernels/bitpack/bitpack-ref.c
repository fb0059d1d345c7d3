/* Bit-packing, reference: THE definition of the bit contract (bnn_kernels.h).
 * The converter and the runtime both call these functions. */
#include <assert.h>
#include <string.h>

#include "bnn_kernels.h"

void bnn_bitpack_f32_ref(const float* in, size_t rows, size_t channels, const float* threshold,
                         bnn_word* out) {
  assert(in && out && channels > 0);
  const size_t words = bnn_words(channels);
  for (size_t r = 0; r < rows; ++r, in += channels, out += words) {
    memset(out, 0, words * sizeof(bnn_word));
    for (size_t c = 0; c < channels; ++c) {
      const float t = threshold ? threshold[c] : 0.0f;
      out[c / BNN_WORD_BITS] |= (bnn_word)(in[c] < t) << (c % BNN_WORD_BITS);
    }
  }
}

void bnn_bitpack_s8_ref(const int8_t* in, size_t rows, size_t channels, int8_t zero_point,
                        bnn_word* out) {
  assert(in && out && channels > 0);
  const size_t words = bnn_words(channels);
  for (size_t r = 0; r < rows; ++r, in += channels, out += words) {
    memset(out, 0, words * sizeof(bnn_word));
    for (size_t c = 0; c < channels; ++c)
      out[c / BNN_WORD_BITS] |= (bnn_word)(in[c] < zero_point) << (c % BNN_WORD_BITS);
  }
}
