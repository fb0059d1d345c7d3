// The popcount ceiling: popcount(a XOR b) over L1-resident 64-bit words with
// four independent accumulators, compiled for every Highway target
// (foreach_target). It is the strongest loop a binary kernel can hope to
// match on a target: every bit of the operands is one binary MAC, with none
// of a convolution's gathering, output transform or loop overhead. Both loops
// count the way the kernels do on each target (kernels/common/popcount-inl.h:
// byte counts widened every 31 words where a lane popcount is not one
// instruction), so the ceiling is the best loop each target has.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "bench/ceiling-hwy.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "kernels/common/popcount-inl.h"

// foreach_target includes this file once per target: declare things once.
#ifndef BNN_BENCH_CEILING_DECLS_
#define BNN_BENCH_CEILING_DECLS_
#include <stddef.h>
#include <stdint.h>

#include <vector>

namespace bnn_bench {
// Sum over `passes` passes of popcount(a[i] ^ b[i]) for i < words; words a
// multiple of 32 (4 accumulators of up to 8 lanes), a and b 64-byte aligned.
using XorPopcountFn = uint64_t (*)(const uint64_t* a, const uint64_t* b, size_t words,
                                   size_t passes);
// Total popcount over `passes` passes of 4 rows of `words` words against a
// [words][u32_lanes] block (see BroadcastPopcount).
using BroadcastPopcountFn = uint64_t (*)(const uint32_t* rows, const uint32_t* w, size_t words,
                                         size_t passes);
struct CeilingKernel {
  const char* name;  // Highway target name
  XorPopcountFn xor_popcount;
  BroadcastPopcountFn broadcast_popcount;
  size_t u32_lanes;
};
// Declared again in kernels_bench.cc (the caller).
std::vector<CeilingKernel> CeilingKernels();
}  // namespace bnn_bench
#endif  // BNN_BENCH_CEILING_DECLS_

HWY_BEFORE_NAMESPACE();
namespace bnn_bench {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;
using bnn::HWY_NAMESPACE::CountBits;
using bnn::HWY_NAMESPACE::CountTag;
using bnn::HWY_NAMESPACE::FinishCounts;
using bnn::HWY_NAMESPACE::kBytePopcount;
using bnn::HWY_NAMESPACE::kMaxPendingWords;

// Sum over `passes` passes of popcount(a[i] ^ b[i]) for i < words.
// words must be a multiple of 4 * Lanes (a multiple of 32 serves every target).
uint64_t XorPopcount(const uint64_t* HWY_RESTRICT a, const uint64_t* HWY_RESTRICT b,
                     size_t words, size_t passes) {
  const hn::ScalableTag<uint64_t> d;
  const CountTag<decltype(d)> dc;
  const size_t N = hn::Lanes(d);
  // Words per flush of the byte counts: each accumulator takes one vector a step.
  const size_t block = kBytePopcount ? kMaxPendingWords * 4 * N : words;
  auto acc0 = hn::Zero(d), acc1 = hn::Zero(d), acc2 = hn::Zero(d), acc3 = hn::Zero(d);
  for (size_t p = 0; p < passes; ++p) {
    for (size_t i0 = 0; i0 < words; i0 += block) {
      const size_t end = words - i0 < block ? words : i0 + block;
      auto part0 = hn::Zero(dc), part1 = hn::Zero(dc), part2 = hn::Zero(dc), part3 = hn::Zero(dc);
      for (size_t i = i0; i + 4 * N <= end; i += 4 * N) {
        const auto x0 = hn::Xor(hn::Load(d, a + i), hn::Load(d, b + i));
        const auto x1 = hn::Xor(hn::Load(d, a + i + N), hn::Load(d, b + i + N));
        const auto x2 = hn::Xor(hn::Load(d, a + i + 2 * N), hn::Load(d, b + i + 2 * N));
        const auto x3 = hn::Xor(hn::Load(d, a + i + 3 * N), hn::Load(d, b + i + 3 * N));
        part0 = hn::Add(part0, CountBits(d, x0));
        part1 = hn::Add(part1, CountBits(d, x1));
        part2 = hn::Add(part2, CountBits(d, x2));
        part3 = hn::Add(part3, CountBits(d, x3));
      }
      acc0 = hn::Add(acc0, FinishCounts(d, part0));
      acc1 = hn::Add(acc1, FinishCounts(d, part1));
      acc2 = hn::Add(acc2, FinishCounts(d, part2));
      acc3 = hn::Add(acc3, FinishCounts(d, part3));
    }
#if defined(__GNUC__)
    // Every pass re-reads the data: the compiler may not fold the passes.
    asm volatile("" : : : "memory");
#endif
  }
  const auto sum = hn::Add(hn::Add(acc0, acc1), hn::Add(acc2, acc3));
  return hn::GetLane(hn::SumOfLanes(d, sum));
}

// The convolution's loop shape (bconv-inl.h MismatchTile): 4 rows of `words`
// 32-bit words, each word broadcast and XORed with one vector of a weight
// block laid out [word][Lanes], one accumulator per row. One vector load
// serves 4 rows, so this loop is bound by the vector ALU ports, not by loads.
// Returns the total popcount; bits per pass = 4 * words * Lanes(u32) * 32.
uint64_t BroadcastPopcount(const uint32_t* HWY_RESTRICT rows, const uint32_t* HWY_RESTRICT w,
                           size_t words, size_t passes) {
  const hn::ScalableTag<uint32_t> d;
  const CountTag<decltype(d)> dc;
  const size_t N = hn::Lanes(d);
  const uint32_t* HWY_RESTRICT r0 = rows;
  const uint32_t* HWY_RESTRICT r1 = rows + words;
  const uint32_t* HWY_RESTRICT r2 = rows + 2 * words;
  const uint32_t* HWY_RESTRICT r3 = rows + 3 * words;
  const size_t block = kBytePopcount ? kMaxPendingWords : words;  // words per flush
  auto acc0 = hn::Zero(d), acc1 = hn::Zero(d), acc2 = hn::Zero(d), acc3 = hn::Zero(d);
  for (size_t p = 0; p < passes; ++p) {
    const uint32_t* HWY_RESTRICT wk = w;
    for (size_t k0 = 0; k0 < words; k0 += block) {
      const size_t end = words - k0 < block ? words : k0 + block;
      auto part0 = hn::Zero(dc), part1 = hn::Zero(dc), part2 = hn::Zero(dc), part3 = hn::Zero(dc);
      for (size_t k = k0; k < end; ++k, wk += N) {
        const auto wv = hn::Load(d, wk);
        part0 = hn::Add(part0, CountBits(d, hn::Xor(hn::Set(d, r0[k]), wv)));
        part1 = hn::Add(part1, CountBits(d, hn::Xor(hn::Set(d, r1[k]), wv)));
        part2 = hn::Add(part2, CountBits(d, hn::Xor(hn::Set(d, r2[k]), wv)));
        part3 = hn::Add(part3, CountBits(d, hn::Xor(hn::Set(d, r3[k]), wv)));
      }
      acc0 = hn::Add(acc0, FinishCounts(d, part0));
      acc1 = hn::Add(acc1, FinishCounts(d, part1));
      acc2 = hn::Add(acc2, FinishCounts(d, part2));
      acc3 = hn::Add(acc3, FinishCounts(d, part3));
    }
#if defined(__GNUC__)
    asm volatile("" : : : "memory");
#endif
  }
  // uint32 lanes: callers keep passes * words * 32 * 4 * Lanes below 2^32.
  const auto sum = hn::Add(hn::Add(acc0, acc1), hn::Add(acc2, acc3));
  return hn::GetLane(hn::SumOfLanes(d, sum));
}

size_t U32Lanes() { return hn::Lanes(hn::ScalableTag<uint32_t>()); }

CeilingKernel Kernel() {
  return CeilingKernel{hwy::TargetName(HWY_TARGET), &XorPopcount, &BroadcastPopcount, U32Lanes()};
}

}  // namespace HWY_NAMESPACE
}  // namespace bnn_bench
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace bnn_bench {
HWY_EXPORT(Kernel);

// Same walk as bnn_kernels_all: weakest target first, best last.
std::vector<CeilingKernel> CeilingKernels() {
  std::vector<CeilingKernel> out;
#if HWY_HAVE_RUNTIME_DISPATCH && !defined(HWY_COMPILE_ONLY_STATIC)
  const int64_t supported = hwy::SupportedTargets() & HWY_TARGETS;
  for (int bit = 62; bit >= 0; --bit) {
    const int64_t target = int64_t{1} << bit;
    if (!(supported & target)) continue;
    hwy::SetSupportedTargetsForTest(target);
    out.push_back(HWY_DYNAMIC_DISPATCH(Kernel)());
  }
  hwy::SetSupportedTargetsForTest(0);
#else
  out.push_back(HWY_DYNAMIC_DISPATCH(Kernel)());
#endif
  return out;
}

}  // namespace bnn_bench
#endif
