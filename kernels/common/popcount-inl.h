// Counting the set bits of many XOR words, per target.
//
// Highway's PopulationCount on 32- and 64-bit lanes is one instruction only
// where the CPU has it (AVX-512 VPOPCNTDQ, SVE). Elsewhere it is a per-byte
// count (a nibble table lookup, PSHUFB or NEON's CNT) followed by a widening
// of the byte counts to the lane, which costs as much again and is the same
// for every word. On those targets the kernels keep byte counts: CountBits
// gives each byte's popcount, up to kMaxPendingWords of them are added in
// byte lanes, and FinishCounts widens the sums to the lanes once.
//
//   kBytePopcount      true where the byte counts are the cheaper way
//   kMaxPendingWords   words whose byte counts may be summed before a byte
//                      can overflow: 31 * 8 = 248 < 256 (unbounded in lane
//                      mode, where CountBits already gives lane counts)
//   CountTag<D>        the tag of CountBits' result (u8 lanes, or D)

#if defined(BNN_POPCOUNT_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef BNN_POPCOUNT_INL_H_
#undef BNN_POPCOUNT_INL_H_
#else
#define BNN_POPCOUNT_INL_H_
#endif

#include <stddef.h>
#include <stdint.h>

#include <type_traits>

#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace bnn {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// SSE2 and the scalar targets have no byte table lookup (their byte count is
// itself arithmetic), AVX3_DL and SVE count whole lanes in one instruction.
#if HWY_TARGET == HWY_SSSE3 || HWY_TARGET == HWY_SSE4 || HWY_TARGET == HWY_AVX2 || \
    HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_NEON
constexpr bool kBytePopcount = true;
#else
constexpr bool kBytePopcount = false;
#endif
constexpr size_t kMaxPendingWords = kBytePopcount ? 31 : SIZE_MAX;

template <class D>
using CountTag = std::conditional_t<kBytePopcount, hn::Repartition<uint8_t, D>, D>;

// Popcount of x: per byte (CountTag<D> lanes) or per lane of D.
template <class D>
HWY_INLINE hn::Vec<CountTag<D>> CountBits(D /*d*/, hn::Vec<D> x) {
  return hn::PopulationCount(hn::BitCast(CountTag<D>(), x));
}

// Sums of CountBits results (at most kMaxPendingWords of them) as lane counts of D.
template <class D>
HWY_INLINE hn::Vec<D> FinishCounts(D d, hn::Vec<CountTag<D>> counts) {
  if constexpr (!kBytePopcount) {
    return counts;
  } else if constexpr (sizeof(hn::TFromD<D>) == 8) {
    return hn::BitCast(d, hn::SumsOf8(counts));
  } else {
    static_assert(sizeof(hn::TFromD<D>) == 4, "lane counts are 32 or 64 bits");
    // Pairs of bytes into 16 bits (at most 2 * 248), then pairs of those.
    const hn::Repartition<uint16_t, D> d16;
    const auto c16 = hn::BitCast(d16, counts);
    const auto s16 = hn::Add(hn::And(c16, hn::Set(d16, 0xFF)), hn::ShiftRight<8>(c16));
    const auto c32 = hn::BitCast(d, s16);
    return hn::Add(hn::And(c32, hn::Set(d, 0xFFFF)), hn::ShiftRight<16>(c32));
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace bnn
HWY_AFTER_NAMESPACE();

#endif  // BNN_POPCOUNT_INL_H_
