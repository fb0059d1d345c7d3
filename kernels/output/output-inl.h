// Output transform, Highway: one chunk of up to kChunk output channels of one
// output row, from exact integer dot products. Same formulas as
// output-ref.c (see bnn_kernels.h); partial chunks use the reference element
// function, so every path computes identical bits.

#if defined(BNN_OUTPUT_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef BNN_OUTPUT_INL_H_
#undef BNN_OUTPUT_INL_H_
#else
#define BNN_OUTPUT_INL_H_
#endif

#include <string.h>

#include "bnn_kernels.h"
#include "hwy/highway.h"
#include "kernels/common/f32-inl.h"

HWY_BEFORE_NAMESPACE();
namespace bnn {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Output channels per weight block: one AVX-512 vector of uint32 lanes, two
// AVX2 vectors, four SSE4/NEON vectors. Fixed for every target so the
// pre-packed weight layout is the same everywhere.
constexpr size_t kChunk = 16;

// Writes `bits` (count <= 32 bits) at bit `first` of a packed row,
// leaving the row's other bits alone.
HWY_INLINE void InsertBits(bnn_word* row, size_t first, uint32_t bits, size_t count) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  if (count == 16 && first % 16 == 0) {
    // A whole chunk on a half-word boundary: bits [first, first + 16) are
    // the two bytes at byte first / 8 of the little-endian words.
    const uint16_t half = static_cast<uint16_t>(bits);
    memcpy(reinterpret_cast<uint8_t*>(row) + first / 8, &half, sizeof(half));
    return;
  }
#endif
  const uint64_t mask = ((count >= 32) ? 0xFFFFFFFFull : ((1ull << count) - 1)) << (first % 32);
  const uint64_t value = static_cast<uint64_t>(bits) << (first % 32);
  bnn_word* w = row + first / 32;
  w[0] = static_cast<bnn_word>((w[0] & ~mask) | (value & mask));
  if ((mask >> 32) != 0) {
    w[1] = static_cast<bnn_word>((w[1] & ~(mask >> 32)) | ((value & mask) >> 32));
  }
}

// Lanes [v, v + Lanes(di)) of a full chunk of kChunk channels starting at
// channel `first`: writes F32/S8/S32 into `out` (the output row) and returns
// nothing (0), or for BITS returns the lanes' bits shifted to bit v of the
// chunk; the caller inserts the chunk's 16 bits with InsertBits. `residual`
// is the row's residual (bnn_output_residual_row) or nullptr. kType >= 0 is
// t->type known at compile time (a kernel specialised per output type), -1
// reads it from t.
template <int kType = -1, class DI, class VI>
HWY_INLINE uint32_t TransformLanes(DI di, const bnn_output_transform* t, size_t first, size_t v,
                                   VI dot, const float* HWY_RESTRICT residual, void* HWY_RESTRICT out) {
  const size_t N = hn::Lanes(di);
  const size_t c = first + v;
  const bnn_output_type type = kType >= 0 ? static_cast<bnn_output_type>(kType) : t->type;
  switch (type) {
    case BNN_OUTPUT_S32:
      hn::StoreU(dot, di, static_cast<int32_t*>(out) + c);
      return 0;
    case BNN_OUTPUT_BITS: {
      // In the mask domain: acc > threshold where the direction is negative,
      // acc < threshold elsewhere.
      const auto thr = hn::LoadU(di, t->threshold + c);
      const auto flipped = hn::Lt(hn::LoadU(di, t->direction + c), hn::Zero(di));
      const auto negative = hn::Or(hn::And(flipped, hn::Gt(dot, thr)), hn::AndNot(flipped, hn::Lt(dot, thr)));
      uint8_t mask_bytes[8] = {0};
      hn::StoreMaskBits(di, negative, mask_bytes);
      uint64_t lane_bits;
      memcpy(&lane_bits, mask_bytes, sizeof(lane_bits));  // little-endian: lane i is bit i
      lane_bits &= (N >= 64) ? ~0ull : ((1ull << N) - 1);
      return static_cast<uint32_t>(lane_bits << v);
    }
    case BNN_OUTPUT_F32:
    case BNN_OUTPUT_S8: {
#if !BNN_F32_EXACT
      // Vector float arithmetic here is not IEEE-754 (armv7 NEON flushes
      // subnormals): the reference formula, lane by lane.
      HWY_ALIGN int32_t lanes[kChunk];
      hn::Store(dot, di, lanes);
      for (size_t i = 0; i < N; ++i) bnn_output_element_ref(t, lanes[i], c + i, residual, out);
      return 0;
#else
      const hn::Rebind<float, DI> df;
      float lo = t->clamp_min, hi = t->clamp_max;
      if (type == BNN_OUTPUT_S8) {
        lo = lo > -128.0f ? lo : -128.0f;
        hi = hi < 127.0f ? hi : 127.0f;
      }
      // Multiply, then add (then add the residual): separate roundings,
      // exactly as the reference.
      const auto product = hn::Mul(hn::ConvertTo(df, dot), hn::LoadU(df, t->multiplier + c));
      auto affine = hn::Add(product, hn::LoadU(df, t->bias + c));
      if (residual) affine = hn::Add(affine, hn::LoadU(df, residual + c));
      const auto y = ClampF32(affine, lo, hi);
      if (type == BNN_OUTPUT_F32) {
        hn::StoreU(y, df, static_cast<float*>(out) + c);
      } else {
        HWY_ALIGN int32_t q[kChunk];
        hn::Store(hn::NearestInt(y), di, q);
        int8_t* o = static_cast<int8_t*>(out) + c;
        for (size_t i = 0; i < N; ++i) o[i] = static_cast<int8_t>(q[i]);
      }
      return 0;
#endif
    }
  }
  return 0;
}

// dot[0..count) are channels first..first+count of the row `out`
// (count <= kChunk). dot must be kChunk int32 and vector-aligned.
HWY_INLINE void TransformChunk(const bnn_output_transform* t, const int32_t* HWY_RESTRICT dot,
                               size_t first, size_t count, const float* HWY_RESTRICT residual,
                               void* HWY_RESTRICT out) {
  if (count != kChunk) {
    // A partial chunk (the last one of a row or group) goes through the
    // reference, so the transform arrays are never read past out_c.
    if (t->type == BNN_OUTPUT_BITS) InsertBits(static_cast<bnn_word*>(out), first, 0, count);
    for (size_t i = 0; i < count; ++i) bnn_output_element_ref(t, dot[i], first + i, residual, out);
    return;
  }
  const hn::CappedTag<int32_t, kChunk> di;
  uint32_t bits = 0;
  for (size_t v = 0; v < kChunk; v += hn::Lanes(di))
    bits |= TransformLanes(di, t, first, v, hn::Load(di, dot + v), residual, out);
  if (t->type == BNN_OUTPUT_BITS) InsertBits(static_cast<bnn_word*>(out), first, bits, kChunk);
}

}  // namespace HWY_NAMESPACE
}  // namespace bnn
HWY_AFTER_NAMESPACE();

#endif  // BNN_OUTPUT_INL_H_
