// Float helpers for the Highway kernels: which targets may run the float
// contract in vectors (bnn_kernels.h, "THE FLOAT CONTRACT"), the clamp, and
// partial loads/stores that never touch memory past `count` floats.

// Evaluated at each use, with the current pass's HWY_TARGET:
//   BNN_F32_EXACT: vector float arithmetic is IEEE-754 (armv7 NEON is not: it
//                  flushes subnormal inputs and results to zero).
//   BNN_F32_FMA:   and MulAdd is one fused, singly rounded operation.
// Targets without them put the C reference in their table entries.
#ifndef BNN_F32_EXACT
#define BNN_F32_EXACT (!(HWY_TARGET == HWY_NEON && !HWY_ARCH_ARM_A64))
#define BNN_F32_FMA (BNN_F32_EXACT && HWY_NATIVE_FMA)
#endif

#if defined(BNN_F32_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef BNN_F32_INL_H_
#undef BNN_F32_INL_H_
#else
#define BNN_F32_INL_H_
#endif

#include <math.h>
#include <string.h>

#include "bnn_kernels.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace bnn {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// The contract's clamp: y < lo ? lo : y, then y > hi ? hi : y. Compare and
// select, never Min/Max (their NaN and signed-zero cases differ by target).
// An infinite bound selects nothing (y < -inf and y > +inf are false for
// every y, NaN included), so that side is skipped: the usual unclamped output
// costs no compares.
template <class V>
HWY_INLINE V ClampF32(V y, float lo, float hi) {
  const hn::DFromV<V> d;
  if (lo != -HUGE_VALF) y = hn::IfThenElse(hn::Lt(y, hn::Set(d, lo)), hn::Set(d, lo), y);
  if (hi != HUGE_VALF) y = hn::IfThenElse(hn::Gt(y, hn::Set(d, hi)), hn::Set(d, hi), y);
  return y;
}

// The first `count` (< Lanes(d)) floats of p, the other lanes 0.
template <class D>
HWY_INLINE hn::Vec<D> LoadPartialF32(D d, const float* p, size_t count) {
  HWY_ALIGN float tmp[HWY_MAX_BYTES / sizeof(float)] = {0};
  memcpy(tmp, p, count * sizeof(float));
  return hn::Load(d, tmp);
}

// Writes the first `count` (< Lanes(d)) lanes of v to p.
template <class D>
HWY_INLINE void StorePartialF32(D d, hn::Vec<D> v, float* p, size_t count) {
  HWY_ALIGN float tmp[HWY_MAX_BYTES / sizeof(float)];
  hn::Store(v, d, tmp);
  memcpy(p, tmp, count * sizeof(float));
}

}  // namespace HWY_NAMESPACE
}  // namespace bnn
HWY_AFTER_NAMESPACE();

#endif  // BNN_F32_INL_H_
