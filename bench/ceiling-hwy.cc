// The popcount ceiling: popcount(a XOR b) over L1-resident 64-bit words with
// four independent accumulators, compiled for every Highway target
// (foreach_target). It is the strongest loop a binary kernel can hope to
// match on a target: every bit of the operands is one binary MAC, with none
// of a convolution's gathering, output transform or loop overhead.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "bench/ceiling-hwy.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

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
struct CeilingKernel {
  const char* name;  // Highway target name
  XorPopcountFn xor_popcount;
};
// Declared again in kernels_bench.cc (the caller).
std::vector<CeilingKernel> CeilingKernels();
}  // namespace bnn_bench
#endif  // BNN_BENCH_CEILING_DECLS_

HWY_BEFORE_NAMESPACE();
namespace bnn_bench {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Sum over `passes` passes of popcount(a[i] ^ b[i]) for i < words.
// words must be a multiple of 4 * Lanes (a multiple of 32 serves every target).
uint64_t XorPopcount(const uint64_t* HWY_RESTRICT a, const uint64_t* HWY_RESTRICT b,
                     size_t words, size_t passes) {
  const hn::ScalableTag<uint64_t> d;
  const size_t N = hn::Lanes(d);
  auto acc0 = hn::Zero(d), acc1 = hn::Zero(d), acc2 = hn::Zero(d), acc3 = hn::Zero(d);
  for (size_t p = 0; p < passes; ++p) {
    for (size_t i = 0; i + 4 * N <= words; i += 4 * N) {
      acc0 = hn::Add(acc0, hn::PopulationCount(hn::Xor(hn::Load(d, a + i), hn::Load(d, b + i))));
      acc1 = hn::Add(acc1, hn::PopulationCount(
                               hn::Xor(hn::Load(d, a + i + N), hn::Load(d, b + i + N))));
      acc2 = hn::Add(acc2, hn::PopulationCount(
                               hn::Xor(hn::Load(d, a + i + 2 * N), hn::Load(d, b + i + 2 * N))));
      acc3 = hn::Add(acc3, hn::PopulationCount(
                               hn::Xor(hn::Load(d, a + i + 3 * N), hn::Load(d, b + i + 3 * N))));
    }
#if defined(__GNUC__)
    // Every pass re-reads the data: the compiler may not fold the passes.
    asm volatile("" : : : "memory");
#endif
  }
  const auto sum = hn::Add(hn::Add(acc0, acc1), hn::Add(acc2, acc3));
  return hn::GetLane(hn::SumOfLanes(d, sum));
}

CeilingKernel Kernel() { return CeilingKernel{hwy::TargetName(HWY_TARGET), &XorPopcount}; }

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
