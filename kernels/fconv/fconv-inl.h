// Float convolution and fully-connected, Highway.
//
// The float contract (bnn_kernels.h) fixes each output element's arithmetic:
// acc = fma(x_k, w_k, acc) over k in canonical (ky, kx, ic) order, then the
// optional bias add, then the clamp. Vectors here hold OUTPUT CHANNELS in
// their lanes, so each lane runs exactly that chain: per k, the kernel
// broadcasts one activation per row (output pixel) and does one MulAdd with
// the weight vector of k. MulAdd is fused on the targets that compile this
// (BNN_F32_FMA), so every lane gives the reference's bits.
//
// Generic path (any groups, dilation, padding): rows of K = kh*kw*cg
// activations against pre-packed weight blocks of kFBlock = 16 output
// channels, [group][block][k][16] (channels past the group's end are 0). A
// tile is kFRows output pixels x kFCols column vectors (Lanes(d) channels
// each): 6 x 4 = 24 accumulators on AVX-512/NEON/SVE (32 registers), 6 x 2
// on AVX2 (16). A row whose window lies inside the image is read in place
// (an implicit im2col: per kernel row, kw*cg contiguous floats when
// groups == 1 and dilation_w == 1); a border row is gathered, zeros for the
// padded taps, into a scratch row. Rows carry their own strides, so one tile
// mixes both.
//
// Depthwise path (groups == in_c == out_c > 1): lanes are channels too, the
// input pixel vector times the [tap][channel] packed weight vector, taps in
// (ky, kx) order, padded taps multiply +0.0f as the contract says.
//
// FC is the generic path with one row per output row, K = k.
//
// Targets without a fused MulAdd (or with flush-to-zero vectors) get thin
// wrappers of the C reference under the same names, so the table is uniform.

#if defined(BNN_FCONV_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef BNN_FCONV_INL_H_
#undef BNN_FCONV_INL_H_
#else
#define BNN_FCONV_INL_H_
#endif

#include <assert.h>
#include <string.h>

#include "bnn_kernels.h"
#include "hwy/highway.h"
#include "kernels/common/f32-inl.h"

#ifndef BNN_INLINE_LAMBDA
#define BNN_INLINE_LAMBDA __attribute__((always_inline))
#endif

HWY_BEFORE_NAMESPACE();
namespace bnn {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

#if BNN_F32_FMA

constexpr size_t kFBlock = 16;  // output channels per packed weight block
constexpr size_t kFRows = 6;    // output pixels (rows) per tile
// Column vectors per tile: 24 accumulators with 32 vector registers, 12 with 16.
constexpr size_t kFCols = HWY_TARGET == HWY_AVX2 ? 2 : 4;

using DF = hn::CappedTag<float, kFBlock>;

HWY_INLINE size_t FAlignUp(size_t bytes) {
  return (bytes + BNN_WEIGHT_ALIGN - 1) / BNN_WEIGHT_ALIGN * BNN_WEIGHT_ALIGN;
}

// How a tile's rows walk their K activations: kh * nx segments of `span`
// contiguous floats (the same for every row of a tile); weights advance 16
// floats per activation, in the same order.
struct FWalk {
  size_t kh, nx, span;
};

// One row: segment (y, x) starts at p + y * sy + x * sx. A row read in place
// from the image and a row gathered into scratch differ only in strides.
struct FRow {
  const float* p;
  size_t sy, sx;
};

// Accumulates kR rows x kC column vectors over the walk and hands each sum to
// epilogue(r, c, acc) while it is still in a register. rows[r] gives row r's
// activations, cols[c] column c's first weight (stride kFBlock per k).
// Named accumulators, not arrays: SVE vectors cannot be array elements.
#define BNN_FDECL(r)                                                   \
  auto a##r##0 = hn::Zero(d), a##r##1 = hn::Zero(d), a##r##2 = hn::Zero(d), \
       a##r##3 = hn::Zero(d);                                          \
  const FRow row##r = rows[kR > r ? r : 0];
#define BNN_FROW(r)                                        \
  if (kR > r) {                                            \
    const auto x = hn::Set(d, x##r[j]);                    \
    a##r##0 = hn::MulAdd(x, w0, a##r##0);                  \
    if (kC > 1) a##r##1 = hn::MulAdd(x, w1, a##r##1);      \
    if (kC > 2) a##r##2 = hn::MulAdd(x, w2, a##r##2);      \
    if (kC > 3) a##r##3 = hn::MulAdd(x, w3, a##r##3);      \
  }
#define BNN_FEPI(r)                        \
  if (kR > r) {                            \
    epilogue(r, 0, a##r##0);               \
    if (kC > 1) epilogue(r, 1, a##r##1);   \
    if (kC > 2) epilogue(r, 2, a##r##2);   \
    if (kC > 3) epilogue(r, 3, a##r##3);   \
  }

#define BNN_FSEG(r) const float* HWY_RESTRICT x##r = row##r.p + y * row##r.sy + sx * row##r.sx;

template <size_t kR, size_t kC, class Epilogue>
HWY_INLINE void FmaTile(const FRow* rows, const FWalk& walk, const float* const* cols,
                        const Epilogue& epilogue) {
  static_assert(kR >= 1 && kR <= 8 && kC >= 1 && kC <= 4, "tile size");
  const DF d;
  BNN_FDECL(0) BNN_FDECL(1) BNN_FDECL(2) BNN_FDECL(3)
  BNN_FDECL(4) BNN_FDECL(5) BNN_FDECL(6) BNN_FDECL(7)
  const float* HWY_RESTRICT w0p = cols[0];
  const float* HWY_RESTRICT w1p = cols[kC > 1 ? 1 : 0];
  const float* HWY_RESTRICT w2p = cols[kC > 2 ? 2 : 0];
  const float* HWY_RESTRICT w3p = cols[kC > 3 ? 3 : 0];
  for (size_t y = 0; y < walk.kh; ++y) {
    for (size_t sx = 0; sx < walk.nx; ++sx) {
      BNN_FSEG(0) BNN_FSEG(1) BNN_FSEG(2) BNN_FSEG(3)
      BNN_FSEG(4) BNN_FSEG(5) BNN_FSEG(6) BNN_FSEG(7)
      // Short spans (the stem's 7 x 3 = 21 floats per kernel row): unrolling
      // spares some loop overhead (about 3% on AVX3).
#pragma GCC unroll 3
      for (size_t j = 0; j < walk.span; ++j) {
        const auto w0 = hn::Load(d, w0p + j * kFBlock);
        const auto w1 = hn::Load(d, w1p + j * kFBlock);  // dead unless kC > 1
        const auto w2 = hn::Load(d, w2p + j * kFBlock);
        const auto w3 = hn::Load(d, w3p + j * kFBlock);
        BNN_FROW(0) BNN_FROW(1) BNN_FROW(2) BNN_FROW(3)
        BNN_FROW(4) BNN_FROW(5) BNN_FROW(6) BNN_FROW(7)
      }
      w0p += walk.span * kFBlock;
      w1p += walk.span * kFBlock;
      w2p += walk.span * kFBlock;
      w3p += walk.span * kFBlock;
    }
  }
  BNN_FEPI(0) BNN_FEPI(1) BNN_FEPI(2) BNN_FEPI(3)
  BNN_FEPI(4) BNN_FEPI(5) BNN_FEPI(6) BNN_FEPI(7)
}
#undef BNN_FDECL
#undef BNN_FSEG
#undef BNN_FROW
#undef BNN_FEPI

// One panel tile: kR rows x column vectors [c0, c0 + kC) of a group whose
// packed blocks start at `panel` (block_floats = K * 16 floats each) and
// which has `ocg` real channels. out[r] and bias point at the group's first
// channel (bias NULL: no add).
template <size_t kR, size_t kC>
HWY_INLINE void PanelTile(const FRow* rows, const FWalk& walk, const float* panel,
                          size_t block_floats, size_t c0, size_t ocg, const float* bias,
                          float lo, float hi, float* const* out) {
  const DF d;
  const size_t N = hn::Lanes(d);
  const float* cols[kC];
  for (size_t c = 0; c < kC; ++c) {
    const size_t ch = (c0 + c) * N;
    cols[c] = panel + (ch / kFBlock) * block_floats + ch % kFBlock;
  }
  FmaTile<kR, kC>(rows, walk, cols,
                  [&](size_t r, size_t c, hn::Vec<DF> acc) HWY_ATTR BNN_INLINE_LAMBDA {
                    const size_t ch = (c0 + c) * N;
                    const size_t count = ocg - ch < N ? ocg - ch : N;
                    if (bias)
                      acc = hn::Add(acc, count == N ? hn::LoadU(d, bias + ch)
                                                    : LoadPartialF32(d, bias + ch, count));
                    acc = ClampF32(acc, lo, hi);
                    if (count == N) {
                      hn::StoreU(acc, d, out[r] + ch);
                    } else {
                      StorePartialF32(d, acc, out[r] + ch, count);
                    }
                  });
}

// kR rows against every column of a group's panel.
template <size_t kR>
HWY_INLINE void RowsTimesPanel(const FRow* rows, const FWalk& walk, const float* panel,
                               size_t block_floats, size_t ocg, const float* bias, float lo,
                               float hi, float* const* out) {
  const size_t N = hn::Lanes(DF());
  const size_t cols = (ocg + N - 1) / N;
  size_t c0 = 0;
  for (; c0 + kFCols <= cols; c0 += kFCols)
    PanelTile<kR, kFCols>(rows, walk, panel, block_floats, c0, ocg, bias, lo, hi, out);
  // The remaining columns in one tile, so every row's activations are
  // broadcast once (a stem with 32 channels is 2 columns on AVX-512).
  const size_t rest = cols - c0;  // < kFCols
  if constexpr (kFCols > 3) {
    if (rest == 3) return PanelTile<kR, 3>(rows, walk, panel, block_floats, c0, ocg, bias, lo, hi, out);
  }
  if constexpr (kFCols > 2) {
    if (rest == 2) return PanelTile<kR, 2>(rows, walk, panel, block_floats, c0, ocg, bias, lo, hi, out);
  }
  if (rest == 1) PanelTile<kR, 1>(rows, walk, panel, block_floats, c0, ocg, bias, lo, hi, out);
}

// Packs canonical [groups][ocg][K] rows into [group][block][K][16].
HWY_INLINE void PackBlocksF32(const float* canonical, size_t groups, size_t ocg, size_t k,
                              float* packed) {
  const size_t blocks = (ocg + kFBlock - 1) / kFBlock;
  for (size_t g = 0; g < groups; ++g)
    for (size_t b = 0; b < blocks; ++b, packed += k * kFBlock)
      for (size_t j = 0; j < kFBlock; ++j) {
        const size_t oc = b * kFBlock + j;
        const float* src = canonical + (g * ocg + oc) * k;
        for (size_t i = 0; i < k; ++i) packed[i * kFBlock + j] = oc < ocg ? src[i] : 0.0f;
      }
}

HWY_INLINE size_t PackedBlocksBytes(size_t groups, size_t ocg, size_t k) {
  return FAlignUp(groups * ((ocg + kFBlock - 1) / kFBlock) * k * kFBlock * sizeof(float));
}

// ---------------------------------------------------------------------------
// Convolution

HWY_INLINE bool FDepthwise(const bnn_conv_shape* s) {
  return s->groups > 1 && s->groups == s->in_c && s->out_c == s->in_c;
}

HWY_INLINE size_t FConvK(const bnn_conv_shape* s) {
  return static_cast<size_t>(s->kernel_h) * s->kernel_w * (s->in_c / s->groups);
}

HWY_INLINE size_t RoundUpBlock(size_t n) { return (n + kFBlock - 1) / kFBlock * kFBlock; }

size_t FConvWeightsSize(const bnn_conv_shape* s) {
  if (FDepthwise(s))
    return FAlignUp(static_cast<size_t>(s->kernel_h) * s->kernel_w * RoundUpBlock(s->in_c) *
                    sizeof(float));
  return PackedBlocksBytes(s->groups, s->out_c / s->groups, FConvK(s));
}

void FConvPackWeights(const bnn_conv_shape* s, const float* canonical, void* packed) {
  assert(s && canonical && packed && bnn_fconv_shape_valid(s));
  assert(reinterpret_cast<uintptr_t>(packed) % BNN_WEIGHT_ALIGN == 0);
  float* out = static_cast<float*>(packed);
  if (FDepthwise(s)) {
    // [tap][channel], channels padded with 0 to a whole block.
    const size_t taps = static_cast<size_t>(s->kernel_h) * s->kernel_w, cp = RoundUpBlock(s->in_c);
    for (size_t t = 0; t < taps; ++t)
      for (size_t c = 0; c < cp; ++c) out[t * cp + c] = c < s->in_c ? canonical[c * taps + t] : 0.0f;
    return;
  }
  PackBlocksF32(canonical, s->groups, s->out_c / s->groups, FConvK(s), out);
}

size_t FConvScratchSize(const bnn_conv_shape* s) {
  return FDepthwise(s) ? 0 : FAlignUp(kFRows * FConvK(s) * sizeof(float));
}

// Whether output pixel (oy, ox)'s window lies inside the image.
HWY_INLINE bool WindowInside(const bnn_conv_shape* s, uint32_t oy, uint32_t ox) {
  const int64_t iy = static_cast<int64_t>(oy) * s->stride_h - s->pad_top;
  const int64_t ix = static_cast<int64_t>(ox) * s->stride_w - s->pad_left;
  return iy >= 0 && ix >= 0 &&
         iy + static_cast<int64_t>(s->dilation_h) * (s->kernel_h - 1) < s->in_h &&
         ix + static_cast<int64_t>(s->dilation_w) * (s->kernel_w - 1) < s->in_w;
}

// Output pixel (oy, ox)'s K activations of group g into row, in canonical
// (ky, kx, ic) order, +0.0f for padded taps. Ungrouped, undilated kernel rows
// are one copy of their taps inside the image.
HWY_INLINE void GatherRowF32(const bnn_conv_shape* s, const float* image, uint32_t oy,
                             uint32_t ox, size_t g, float* HWY_RESTRICT row) {
  const size_t cg = s->in_c / s->groups, kw = s->kernel_w;
  const int64_t ix0 = static_cast<int64_t>(ox) * s->stride_w - s->pad_left;
  // Taps [kx0, kx1) of a kernel row are inside the image (by columns).
  size_t kx0 = 0, kx1 = 0;
  for (size_t kx = 0; kx < kw; ++kx) {
    const int64_t ix = ix0 + static_cast<int64_t>(kx) * s->dilation_w;
    if (ix < 0) kx0 = kx + 1;
    if (ix < s->in_w) kx1 = kx + 1;
  }
  if (kx1 < kx0) kx1 = kx0;
  for (uint32_t ky = 0; ky < s->kernel_h; ++ky, row += kw * cg) {
    const int64_t iy = static_cast<int64_t>(oy) * s->stride_h +
                       static_cast<int64_t>(ky) * s->dilation_h - s->pad_top;
    if (iy < 0 || iy >= s->in_h || kx0 == kx1) {
      memset(row, 0, kw * cg * sizeof(float));  // +0.0f
      continue;
    }
    memset(row, 0, kx0 * cg * sizeof(float));
    memset(row + kx1 * cg, 0, (kw - kx1) * cg * sizeof(float));
    const float* src = image + static_cast<size_t>(iy) * s->in_w * s->in_c + g * cg;
    if (s->groups == 1 && s->dilation_w == 1) {
      memcpy(row + kx0 * cg, src + static_cast<size_t>(ix0 + static_cast<int64_t>(kx0)) * s->in_c,
             (kx1 - kx0) * cg * sizeof(float));
    } else {
      for (size_t kx = kx0; kx < kx1; ++kx)
        memcpy(row + kx * cg,
               src + static_cast<size_t>(ix0 + static_cast<int64_t>(kx) * s->dilation_w) * s->in_c,
               cg * sizeof(float));
    }
  }
}

// kR output pixels [p, p + kR) of one image, every group. Rows whose window
// lies inside the image are read in place (kernel rows dilation_h image rows
// apart; taps dilation_w pixels apart, or one contiguous run of kw * in_c
// floats when undilated and ungrouped); the others are gathered into scratch.
template <size_t kR>
HWY_INLINE void ConvPixels(const bnn_conv_shape* s, const float* image, size_t p,
                           const float* packed, const float* bias, float lo, float hi,
                           float* out_image, float* scratch) {
  const uint32_t out_w = bnn_conv_out_w(s);
  const size_t cg = s->in_c / s->groups, ocg = s->out_c / s->groups, k = FConvK(s);
  const size_t block_floats = k * kFBlock;
  const size_t group_floats = (ocg + kFBlock - 1) / kFBlock * block_floats;
  const bool merged = s->dilation_w == 1 && s->groups == 1;
  FWalk walk;
  walk.kh = s->kernel_h;
  walk.nx = merged ? 1 : s->kernel_w;
  walk.span = merged ? static_cast<size_t>(s->kernel_w) * s->in_c : cg;
  uint32_t oy[kR], ox[kR];
  bool inside[kR];
  oy[0] = static_cast<uint32_t>(p / out_w);
  ox[0] = static_cast<uint32_t>(p % out_w);
  for (size_t r = 0; r < kR; ++r) {
    if (r > 0) {
      const bool wrap = ox[r - 1] + 1 == out_w;
      oy[r] = oy[r - 1] + wrap;
      ox[r] = wrap ? 0 : ox[r - 1] + 1;
    }
    inside[r] = WindowInside(s, oy[r], ox[r]);
  }
  for (size_t g = 0; g < s->groups; ++g) {
    FRow rows[kR];
    float* out[kR];
    for (size_t r = 0; r < kR; ++r) {
      out[r] = out_image + (p + r) * s->out_c + g * ocg;
      if (inside[r]) {
        const size_t iy = static_cast<size_t>(oy[r]) * s->stride_h - s->pad_top;
        const size_t ix = static_cast<size_t>(ox[r]) * s->stride_w - s->pad_left;
        rows[r].p = image + (iy * s->in_w + ix) * s->in_c + g * cg;
        rows[r].sy = static_cast<size_t>(s->dilation_h) * s->in_w * s->in_c;
        rows[r].sx = static_cast<size_t>(s->dilation_w) * s->in_c;
      } else {
        float* row = scratch + r * k;
        GatherRowF32(s, image, oy[r], ox[r], g, row);
        rows[r].p = row;
        rows[r].sy = static_cast<size_t>(s->kernel_w) * cg;
        rows[r].sx = cg;
      }
    }
    RowsTimesPanel<kR>(rows, walk, packed + g * group_floats, block_floats, ocg,
                       bias ? bias + g * ocg : nullptr, lo, hi, out);
  }
}

// Depthwise, multiplier 1: channels in lanes, taps in (ky, kx) order.

// Bias, clamp and store of one vector of `count` channels.
HWY_INLINE void DwStore(hn::Vec<DF> acc, const float* bias, size_t c, size_t count, float lo,
                        float hi, float* out) {
  const DF d;
  if (bias)
    acc = hn::Add(acc, count == hn::Lanes(d) ? hn::LoadU(d, bias + c)
                                             : LoadPartialF32(d, bias + c, count));
  acc = ClampF32(acc, lo, hi);
  if (count == hn::Lanes(d)) {
    hn::StoreU(acc, d, out + c);
  } else {
    StorePartialF32(d, acc, out + c, count);
  }
}

// Channels [c_begin, C) of one output pixel, any window (padded taps are +0.0f).
HWY_INLINE void DwPixel(const bnn_conv_shape* s, const float* image, const float* packed,
                        uint32_t oy, uint32_t ox, size_t c_begin, const float* bias, float lo,
                        float hi, float* out) {
  const DF d;
  const size_t N = hn::Lanes(d), C = s->in_c, cp = RoundUpBlock(C);
  const int64_t iy0 = static_cast<int64_t>(oy) * s->stride_h - s->pad_top;
  const int64_t ix0 = static_cast<int64_t>(ox) * s->stride_w - s->pad_left;
  for (size_t c = c_begin; c < C; c += N) {
    const size_t count = C - c < N ? C - c : N;
    auto acc = hn::Zero(d);
    const float* w = packed + c;
    for (uint32_t ky = 0; ky < s->kernel_h; ++ky) {
      const int64_t iy = iy0 + static_cast<int64_t>(ky) * s->dilation_h;
      for (uint32_t kx = 0; kx < s->kernel_w; ++kx, w += cp) {
        const int64_t ix = ix0 + static_cast<int64_t>(kx) * s->dilation_w;
        auto x = hn::Zero(d);  // padded tap: +0.0f
        if (iy >= 0 && iy < s->in_h && ix >= 0 && ix < s->in_w) {
          const float* px = image + (static_cast<size_t>(iy) * s->in_w + static_cast<size_t>(ix)) * C + c;
          x = count == N ? hn::LoadU(d, px) : LoadPartialF32(d, px, count);
        }
        acc = hn::MulAdd(x, hn::Load(d, w), acc);
      }
    }
    DwStore(acc, bias, c, count, lo, hi, out);
  }
}

// Four horizontally adjacent output pixels whose windows lie inside the
// image, the whole vectors of channels: four independent chains per weight load.
HWY_INLINE void DwInterior4(const bnn_conv_shape* s, const float* image, const float* packed,
                            uint32_t oy, uint32_t ox, const float* bias, float lo, float hi,
                            float* out) {
  const DF d;
  const size_t N = hn::Lanes(d), C = s->in_c, cp = RoundUpBlock(C);
  const size_t step = static_cast<size_t>(s->stride_w) * C;  // between the four pixels
  const size_t iy0 = static_cast<size_t>(oy) * s->stride_h - s->pad_top;
  const size_t ix0 = static_cast<size_t>(ox) * s->stride_w - s->pad_left;
  for (size_t c = 0; c + N <= C; c += N) {
    auto a0 = hn::Zero(d), a1 = hn::Zero(d), a2 = hn::Zero(d), a3 = hn::Zero(d);
    const float* w = packed + c;
    for (uint32_t ky = 0; ky < s->kernel_h; ++ky) {
      const float* row = image + ((iy0 + ky * s->dilation_h) * s->in_w + ix0) * C + c;
      for (uint32_t kx = 0; kx < s->kernel_w; ++kx, w += cp) {
        const float* px = row + static_cast<size_t>(kx) * s->dilation_w * C;
        const auto wv = hn::Load(d, w);
        a0 = hn::MulAdd(hn::LoadU(d, px), wv, a0);
        a1 = hn::MulAdd(hn::LoadU(d, px + step), wv, a1);
        a2 = hn::MulAdd(hn::LoadU(d, px + 2 * step), wv, a2);
        a3 = hn::MulAdd(hn::LoadU(d, px + 3 * step), wv, a3);
      }
    }
    DwStore(a0, bias, c, N, lo, hi, out);
    DwStore(a1, bias, c, N, lo, hi, out + C);
    DwStore(a2, bias, c, N, lo, hi, out + 2 * C);
    DwStore(a3, bias, c, N, lo, hi, out + 3 * C);
  }
  if (C % N)
    for (size_t i = 0; i < 4; ++i)
      DwPixel(s, image, packed, oy, ox + static_cast<uint32_t>(i), C - C % N, bias, lo, hi,
              out + i * C);
}

HWY_INLINE void FDepthwiseConv(const bnn_conv_shape* s, const float* input, const float* packed,
                               const float* bias, float lo, float hi, float* output) {
  const uint32_t out_h = bnn_conv_out_h(s), out_w = bnn_conv_out_w(s);
  const size_t C = s->in_c;
  for (uint32_t b = 0; b < s->batch; ++b) {
    const float* image = input + static_cast<size_t>(b) * s->in_h * s->in_w * C;
    for (uint32_t oy = 0; oy < out_h; ++oy) {
      for (uint32_t ox = 0; ox < out_w;) {
        if (ox + 4 <= out_w && WindowInside(s, oy, ox) && WindowInside(s, oy, ox + 3)) {
          DwInterior4(s, image, packed, oy, ox, bias, lo, hi, output);
          ox += 4;
          output += 4 * C;
        } else {
          DwPixel(s, image, packed, oy, ox, 0, bias, lo, hi, output);
          ++ox;
          output += C;
        }
      }
    }
  }
}

void FConv2D(const bnn_conv_shape* s, const float* input, const void* weights, const float* bias,
             float clamp_min, float clamp_max, float* output, void* scratch) {
  assert(s && input && weights && output && bnn_fconv_shape_valid(s));
  assert(clamp_min <= clamp_max);
  assert(reinterpret_cast<uintptr_t>(weights) % BNN_WEIGHT_ALIGN == 0);
  const float* packed = static_cast<const float*>(weights);
  if (FDepthwise(s)) {
    FDepthwiseConv(s, input, packed, bias, clamp_min, clamp_max, output);
    return;
  }
  assert(scratch && reinterpret_cast<uintptr_t>(scratch) % BNN_WEIGHT_ALIGN == 0);
  float* rows_buf = static_cast<float*>(scratch);
  const size_t pixels = static_cast<size_t>(bnn_conv_out_h(s)) * bnn_conv_out_w(s);
  for (uint32_t b = 0; b < s->batch; ++b) {
    const float* image = input + static_cast<size_t>(b) * s->in_h * s->in_w * s->in_c;
    float* out_image = output + static_cast<size_t>(b) * pixels * s->out_c;
    size_t p = 0;
    for (; p + kFRows <= pixels; p += kFRows)
      ConvPixels<kFRows>(s, image, p, packed, bias, clamp_min, clamp_max, out_image, rows_buf);
    for (; p < pixels; ++p)
      ConvPixels<1>(s, image, p, packed, bias, clamp_min, clamp_max, out_image, rows_buf);
  }
}

// ---------------------------------------------------------------------------
// Fully-connected: rows are a's rows, read in place.

size_t FFcWeightsSize(const bnn_gemm_shape* s) { return PackedBlocksBytes(1, s->n, s->k); }

void FFcPackWeights(const bnn_gemm_shape* s, const float* canonical, void* packed) {
  assert(s && s->n && s->k && canonical && packed);
  assert(reinterpret_cast<uintptr_t>(packed) % BNN_WEIGHT_ALIGN == 0);
  PackBlocksF32(canonical, 1, s->n, s->k, static_cast<float*>(packed));
}

template <size_t kR>
HWY_INLINE void FcRows(const bnn_gemm_shape* s, const float* a, const float* packed,
                       const float* bias, float lo, float hi, float* output) {
  FRow rows[kR];
  float* out[kR];
  for (size_t r = 0; r < kR; ++r) {
    rows[r].p = a + r * s->k;
    rows[r].sy = rows[r].sx = 0;
    out[r] = output + r * s->n;
  }
  const FWalk walk = {1, 1, s->k};
  RowsTimesPanel<kR>(rows, walk, packed, s->k * kFBlock, s->n, bias, lo, hi, out);
}

void FFc(const bnn_gemm_shape* s, const float* a, const void* weights, const float* bias,
         float clamp_min, float clamp_max, float* output) {
  assert(s && s->m && s->n && s->k && a && weights && output);
  assert(clamp_min <= clamp_max);
  assert(reinterpret_cast<uintptr_t>(weights) % BNN_WEIGHT_ALIGN == 0);
  const float* packed = static_cast<const float*>(weights);
  size_t m = 0;
  for (; m + kFRows <= s->m; m += kFRows)
    FcRows<kFRows>(s, a + m * s->k, packed, bias, clamp_min, clamp_max, output + m * s->n);
  for (; m < s->m; ++m)
    FcRows<1>(s, a + m * s->k, packed, bias, clamp_min, clamp_max, output + m * s->n);
}

#else  // !BNN_F32_FMA: the C reference, canonical weights in place.

size_t FConvWeightsSize(const bnn_conv_shape*) { return 0; }
void FConvPackWeights(const bnn_conv_shape*, const float*, void*) {}
size_t FConvScratchSize(const bnn_conv_shape*) { return 0; }
void FConv2D(const bnn_conv_shape* s, const float* input, const void* weights, const float* bias,
             float clamp_min, float clamp_max, float* output, void*) {
  bnn_fconv2d_ref(s, input, static_cast<const float*>(weights), bias, clamp_min, clamp_max, output);
}
size_t FFcWeightsSize(const bnn_gemm_shape*) { return 0; }
void FFcPackWeights(const bnn_gemm_shape*, const float*, void*) {}
void FFc(const bnn_gemm_shape* s, const float* a, const void* weights, const float* bias,
         float clamp_min, float clamp_max, float* output) {
  bnn_ffc_ref(s, a, static_cast<const float*>(weights), bias, clamp_min, clamp_max, output);
}

#endif  // BNN_F32_FMA

}  // namespace HWY_NAMESPACE
}  // namespace bnn
HWY_AFTER_NAMESPACE();

#endif  // BNN_FCONV_INL_H_
