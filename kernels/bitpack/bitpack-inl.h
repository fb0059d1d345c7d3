// Bit-packing, Highway: the contract of bitpack-ref.c, 32 channels per word
// from whole vectors; a row's last partial word goes through the reference.

#if defined(BNN_BITPACK_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef BNN_BITPACK_INL_H_
#undef BNN_BITPACK_INL_H_
#else
#define BNN_BITPACK_INL_H_
#endif

#include <assert.h>
#include <string.h>

#include "bnn_kernels.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace bnn {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// The word of 32 lane bits from 32 / Lanes(d) masks computed by `negative(v)`.
template <class D, class Negative>
HWY_INLINE bnn_word PackWord(D d, Negative negative) {
  const size_t N = hn::Lanes(d);
  bnn_word word = 0;
  for (size_t v = 0; v < BNN_WORD_BITS; v += N) {
    uint8_t mask_bytes[8] = {0};
    hn::StoreMaskBits(d, negative(v), mask_bytes);
    uint64_t lane_bits;
    memcpy(&lane_bits, mask_bytes, sizeof(lane_bits));  // little-endian: lane i is bit i
    lane_bits &= (N >= 64) ? ~0ull : ((1ull << N) - 1);
    word |= static_cast<bnn_word>(lane_bits << v);
  }
  return word;
}

void BitpackF32(const float* in, size_t rows, size_t channels, const float* threshold,
                bnn_word* out) {
  assert(in && out && channels > 0);
  const hn::CappedTag<float, BNN_WORD_BITS> d;
  const size_t words = bnn_words(channels), full = channels / BNN_WORD_BITS;
  const size_t tail = channels - full * BNN_WORD_BITS;
  for (size_t r = 0; r < rows; ++r, in += channels, out += words) {
    for (size_t w = 0; w < full; ++w) {
      const float* x = in + w * BNN_WORD_BITS;
      const float* t = threshold ? threshold + w * BNN_WORD_BITS : nullptr;
      out[w] = PackWord(d, [&](size_t v) {
        return hn::Lt(hn::LoadU(d, x + v), t ? hn::LoadU(d, t + v) : hn::Zero(d));
      });
    }
    if (tail) {
      bnn_bitpack_f32_ref(in + full * BNN_WORD_BITS, 1, tail,
                          threshold ? threshold + full * BNN_WORD_BITS : nullptr, out + full);
    }
  }
}

void BitpackS8(const int8_t* in, size_t rows, size_t channels, int8_t zero_point, bnn_word* out) {
  assert(in && out && channels > 0);
  const hn::CappedTag<int8_t, BNN_WORD_BITS> d;
  const size_t words = bnn_words(channels), full = channels / BNN_WORD_BITS;
  const size_t tail = channels - full * BNN_WORD_BITS;
  const auto zp = hn::Set(d, zero_point);
  for (size_t r = 0; r < rows; ++r, in += channels, out += words) {
    for (size_t w = 0; w < full; ++w) {
      const int8_t* x = in + w * BNN_WORD_BITS;
      out[w] = PackWord(d, [&](size_t v) { return hn::Lt(hn::LoadU(d, x + v), zp); });
    }
    if (tail) bnn_bitpack_s8_ref(in + full * BNN_WORD_BITS, 1, tail, zero_point, out + full);
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace bnn
HWY_AFTER_NAMESPACE();

#endif  // BNN_BITPACK_INL_H_
