// Every Highway kernel, compiled once per target (foreach_target), and one
// bnn_kernel_table per target. Dynamic builds pick the table at run time;
// static builds (-DHWY_COMPILE_ONLY_STATIC, fixed cross targets) have one.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/dispatch/kernels-hwy.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

#include "kernels/bconv/bconv-inl.h"
#include "kernels/bitpack/bitpack-inl.h"
#include "kernels/bmaxpool/bmaxpool-inl.h"
#include "kernels/felementwise/felementwise-inl.h"
#include "kernels/fconv/fconv-inl.h"
#include "kernels/fpool/fpool-inl.h"
#include "kernels/iconv/iconv-inl.h"

HWY_BEFORE_NAMESPACE();
namespace bnn {
namespace HWY_NAMESPACE {

// Float entries: Highway where the target gives the float contract's bits
// (BNN_F32_FMA for conv/FC, BNN_F32_EXACT for the rest), the C reference
// under the same names elsewhere (see kernels/common/f32-inl.h).
const bnn_kernel_table kTable = {
    hwy::TargetName(HWY_TARGET),
    BitpackF32,
    BitpackS8,
    ConvWeightsSize,
    ConvPackWeights,
    ConvScratchSize,
    BConv2D,
    GemmWeightsSize,
    GemmPackWeights,
    BGemm,
    BMaxPool,
    FConvWeightsSize,
    FConvPackWeights,
    FConvScratchSize,
    FConv2D,
    FFcWeightsSize,
    FFcPackWeights,
    FFc,
    MaxPoolF32,
    AvgPoolF32,
    AddF32,
    IConvWeightsSize,
    IConvPackWeights,
    IConvScratchSize,
    IConv2D,
    QuantizeF32,
    PReluF32,
};

const bnn_kernel_table* Table() { return &kTable; }

}  // namespace HWY_NAMESPACE
}  // namespace bnn
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace bnn {
HWY_EXPORT(Table);
// Inside the namespace: static dispatch names the target's namespace first.
static const bnn_kernel_table* CurrentTable() { return HWY_DYNAMIC_DISPATCH(Table)(); }
}  // namespace bnn

extern "C" const bnn_kernel_table* bnn_kernels_hwy_current(void) { return bnn::CurrentTable(); }

extern "C" size_t bnn_kernels_all(const bnn_kernel_table** tables, size_t max) {
  size_t n = 0;
  if (n < max) tables[n] = bnn_kernels_reference();
  ++n;
#if HWY_HAVE_RUNTIME_DISPATCH && !defined(HWY_COMPILE_ONLY_STATIC)
  // Highway's targets are bits, the best target the lowest: walk from the
  // highest bit (weakest) down. Each mock re-resolves the dynamic dispatch.
  const int64_t supported = hwy::SupportedTargets() & HWY_TARGETS;
  for (int bit = 62; bit >= 0; --bit) {
    const int64_t target = int64_t{1} << bit;
    if (!(supported & target)) continue;
    hwy::SetSupportedTargetsForTest(target);
    if (n < max) tables[n] = bnn_kernels_hwy_current();
    ++n;
  }
  hwy::SetSupportedTargetsForTest(0);
#else
  if (n < max) tables[n] = bnn_kernels_hwy_current();
  ++n;
#endif
  return n;
}
#endif
