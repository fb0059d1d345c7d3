// Float max-pool and average pool, Highway: channels in lanes, the window's
// positions inside the image in (ky, kx) order, exactly the reference's
// operations per lane (bnn_kernels.h, the float contract), except that a
// max-pool window without NaN takes a cheaper step with the same result; the
// channels past the last whole vector run the reference's scalar step.
// Targets whose vectors are not IEEE (armv7 NEON) use the reference.

#if defined(BNN_FPOOL_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef BNN_FPOOL_INL_H_
#undef BNN_FPOOL_INL_H_
#else
#define BNN_FPOOL_INL_H_
#endif

#include <assert.h>

#include "bnn_kernels.h"
#include "hwy/highway.h"
#include "kernels/common/f32-inl.h"
#include "kernels/common/pool-window.h"

HWY_BEFORE_NAMESPACE();
namespace bnn {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

#if BNN_F32_EXACT

// The contract's max-pool step, m = (x > m || x is NaN) ? x : m, for an x
// that is not NaN. x86's MAXPS(x, m) is exactly x > m ? x : m: a tie
// (-0 against +0) keeps m, the first of equal values, as the reference does.
// Arm's FMAX prefers +0, so other targets compare and select.
template <class V>
HWY_INLINE V MaxStepNotNaN(V m, V x) {
#if HWY_ARCH_X86 && HWY_TARGET != HWY_EMU128 && HWY_TARGET != HWY_SCALAR
  return hn::Max(x, m);
#else
  return hn::IfThenElse(hn::Gt(x, m), x, m);
#endif
}

// The exact step, NaN included. IsNaN, not Ne(x, x): Highway 1.0.3's Ne is
// an ordered compare (false for NaN) on AVX2/AVX-512 but unordered on SSE4.
template <class V>
HWY_INLINE V MaxStep(V m, V x) {
  return hn::IfThenElse(hn::Or(hn::Gt(x, m), hn::IsNaN(x)), x, m);
}

// One output pixel's whole vectors of channels (c < C - C % N): the window's
// positions inside the image, `rows` x `cols` of them from `first` (image
// rows `row_floats` apart), stepped in (ky, kx) order. Four vectors at a time
// share the address arithmetic and make four independent chains. m starts at
// the first position; stepping over it again changes nothing.
//
// kExact: the contract's step. Otherwise the NaN-free step, with every input
// also summed: a NaN in the window makes its sum NaN (so can inf + -inf, a
// false alarm), and then the pixel returns false for the caller to redo
// exactly. A window without NaN (the usual case) costs two operations per
// position on x86 instead of four.
template <bool kExact>
HWY_INLINE bool MaxPoolPixel(const float* first, size_t rows, size_t cols, size_t row_floats,
                             size_t C, float* out) {
  const hn::ScalableTag<float> d;
  using V = hn::Vec<decltype(d)>;
  const size_t N = hn::Lanes(d);
  const auto step = [](V m, V x, V& sum) HWY_ATTR {
    if (kExact) return MaxStep(m, x);
    sum = hn::Add(sum, x);
    return MaxStepNotNaN(m, x);
  };
  auto sum0 = hn::Zero(d), sum1 = hn::Zero(d), sum2 = hn::Zero(d), sum3 = hn::Zero(d);
  size_t c = 0;
  for (; c + 4 * N <= C; c += 4 * N) {
    const float* p = first + c;
    auto m0 = hn::LoadU(d, p), m1 = hn::LoadU(d, p + N);
    auto m2 = hn::LoadU(d, p + 2 * N), m3 = hn::LoadU(d, p + 3 * N);
    for (size_t ky = 0; ky < rows; ++ky, p += row_floats)
      for (size_t kx = 0; kx < cols; ++kx) {
        const float* q = p + kx * C;
        m0 = step(m0, hn::LoadU(d, q), sum0);
        m1 = step(m1, hn::LoadU(d, q + N), sum1);
        m2 = step(m2, hn::LoadU(d, q + 2 * N), sum2);
        m3 = step(m3, hn::LoadU(d, q + 3 * N), sum3);
      }
    hn::StoreU(m0, d, out + c);
    hn::StoreU(m1, d, out + c + N);
    hn::StoreU(m2, d, out + c + 2 * N);
    hn::StoreU(m3, d, out + c + 3 * N);
  }
  for (; c + N <= C; c += N) {
    const float* p = first + c;
    auto m = hn::LoadU(d, p);
    for (size_t ky = 0; ky < rows; ++ky, p += row_floats)
      for (size_t kx = 0; kx < cols; ++kx) m = step(m, hn::LoadU(d, p + kx * C), sum0);
    hn::StoreU(m, d, out + c);
  }
  return kExact || hn::AllFalse(d, hn::IsNaN(hn::Add(hn::Add(sum0, sum1), hn::Add(sum2, sum3))));
}

void MaxPoolF32(const bnn_pool_shape* s, const float* input, float* output) {
  assert(s && input && output && bnn_pool_shape_valid(s));
  const size_t N = hn::Lanes(hn::ScalableTag<float>()), C = s->channels;
  const uint32_t out_h = bnn_pool_out_h(s), out_w = bnn_pool_out_w(s);
  const size_t row_floats = static_cast<size_t>(s->in_w) * C;
  for (uint32_t b = 0; b < s->batch; ++b) {
    const float* image = input + static_cast<size_t>(b) * s->in_h * row_floats;
    for (uint32_t oy = 0; oy < out_h; ++oy)
      for (uint32_t ox = 0; ox < out_w; ++ox, output += C) {
        const PoolWindow w = ClippedPoolWindow(s, oy, ox);
        const float* first = image + ((w.y0 + w.ky0) * s->in_w + w.x0 + w.kx0) * C;
        const size_t wrows = w.ky1 - w.ky0, wcols = w.kx1 - w.kx0;
        if (!MaxPoolPixel<false>(first, wrows, wcols, row_floats, C, output))
          MaxPoolPixel<true>(first, wrows, wcols, row_floats, C, output);
        // The channels past the last whole vector: the reference's scalar step.
        for (size_t c = C - C % N; c < C; ++c) {
          float m = first[c];
          for (size_t ky = w.ky0; ky < w.ky1; ++ky)
            for (size_t kx = w.kx0; kx < w.kx1; ++kx) {
              const float x = image[((w.y0 + ky) * s->in_w + w.x0 + kx) * C + c];
              if (x > m || x != x) m = x;
            }
          output[c] = m;
        }
      }
  }
}

void AvgPoolF32(const bnn_pool_shape* s, const float* input, int count_include_pad,
                float* output) {
  assert(s && input && output && bnn_pool_shape_valid(s));
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d), C = s->channels;
  const uint32_t out_h = bnn_pool_out_h(s), out_w = bnn_pool_out_w(s);
  for (uint32_t b = 0; b < s->batch; ++b) {
    const float* image = input + static_cast<size_t>(b) * s->in_h * s->in_w * C;
    for (uint32_t oy = 0; oy < out_h; ++oy)
      for (uint32_t ox = 0; ox < out_w; ++ox, output += C) {
        const PoolWindow w = ClippedPoolWindow(s, oy, ox);
        const uint32_t count = count_include_pad
                                   ? s->pool_h * s->pool_w
                                   : static_cast<uint32_t>((w.ky1 - w.ky0) * (w.kx1 - w.kx0));
        const float divisor = static_cast<float>(count);
        const auto vdivisor = hn::Set(d, divisor);
        size_t c = 0;
        for (; c + N <= C; c += N) {
          auto acc = hn::Zero(d);
          for (size_t ky = w.ky0; ky < w.ky1; ++ky)
            for (size_t kx = w.kx0; kx < w.kx1; ++kx)
              acc = hn::Add(acc, hn::LoadU(d, image + ((w.y0 + ky) * s->in_w + w.x0 + kx) * C + c));
          hn::StoreU(hn::Div(acc, vdivisor), d, output + c);
        }
        for (; c < C; ++c) {
          float acc = 0.0f;
          for (size_t ky = w.ky0; ky < w.ky1; ++ky)
            for (size_t kx = w.kx0; kx < w.kx1; ++kx)
              acc = acc + image[((w.y0 + ky) * s->in_w + w.x0 + kx) * C + c];
          output[c] = acc / divisor;
        }
      }
  }
}

#else  // !BNN_F32_EXACT

void MaxPoolF32(const bnn_pool_shape* s, const float* input, float* output) {
  bnn_maxpool_f32_ref(s, input, output);
}
void AvgPoolF32(const bnn_pool_shape* s, const float* input, int count_include_pad,
                float* output) {
  bnn_avgpool_f32_ref(s, input, count_include_pad, output);
}

#endif  // BNN_F32_EXACT

}  // namespace HWY_NAMESPACE
}  // namespace bnn
HWY_AFTER_NAMESPACE();

#endif  // BNN_FPOOL_INL_H_
