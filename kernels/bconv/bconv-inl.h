// Binary convolution and GEMM, Highway.
//
// Both are one loop: rows of K bits (an im2col row per output pixel, or a
// GEMM row) against blocks of kChunk = 16 output channels whose weights are
// pre-packed transposed, [k word][16 channels]. For each K word the kernel
// broadcasts one activation word per row and XORs it with the block's weight
// vector, so every lane is one output channel: popcounts accumulate per lane
// and no horizontal reduction is needed. kRows rows share each weight load.
// Where a lane popcount is not one instruction, the counts are kept per byte
// for up to 31 words and widened once (kernels/common/popcount-inl.h).
//
// Pre-packed weight buffer (bytes from WeightsSize, aligned to BNN_WEIGHT_ALIGN):
//   words[group][block][k][16]      the weights, channels past the group's end 0
//   taps [group][block][tap][16]    int32 popcount of each tap's weight bits,
//                                   for the zero-padding border correction
// Scratch: kRows im2col rows of RowWords(s) words.
//
// Zero padding: padded taps are gathered as 0 bits (+1), which adds the tap's
// weight popcount to the mismatch count; the border correction subtracts it
// again and the dot product runs over the valid taps only:
//   dot = Cg * valid_taps - 2 * (mismatches - sum over padded taps of popcount(w_tap)).
// One padding is the gathered +1 itself: dot = K - 2 * mismatches.

#if defined(BNN_BCONV_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef BNN_BCONV_INL_H_
#undef BNN_BCONV_INL_H_
#else
#define BNN_BCONV_INL_H_
#endif

#include <assert.h>
#include <string.h>

#include "bnn_kernels.h"
#include "hwy/highway.h"
#include "kernels/common/bits.h"
#include "kernels/common/popcount-inl.h"
#include "kernels/output/output-inl.h"

HWY_BEFORE_NAMESPACE();
namespace bnn {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

constexpr size_t kRows = 4;

// The epilogue lambda must be inlined into the tile loop (GCC otherwise
// keeps it as a call per accumulator).
#ifndef BNN_INLINE_LAMBDA
#define BNN_INLINE_LAMBDA __attribute__((always_inline))
#endif

// A tile's rows: row r is `segments` runs of `segment_words` words, run i
// starting at base[r] + i * stride[r]. An im2col row copied into scratch is
// one run (or kernel_h runs back to back); an interior window of an
// ungrouped convolution is read in place from the input, one run per
// kernel row, so it needs no copy.
struct TileRows {
  const bnn_word* base[kRows];
  size_t stride[kRows];
  size_t segments, segment_words;
};

// For each of the block's kChunk channels j and each row r, the mismatch
// count popcount over the row's K words k of (row[k] XOR w[k][j]), handed to
// epilogue(r, v, counts) one vector of lanes [v, v + Lanes) at a time, still
// in registers.
template <size_t kActive, class Epilogue>
HWY_INLINE void MismatchTile(const TileRows& rows, const bnn_word* HWY_RESTRICT w, const Epilogue& epilogue) {
  // kActive rows are computed (4, or 1 for a lone last row such as a GEMM
  // with m = 1, which would otherwise repeat its row four times).
  static_assert(kActive == 1 || kActive == kRows, "a tile computes 1 or 4 rows");
  const hn::CappedTag<uint32_t, kChunk> d;
  const CountTag<decltype(d)> dc;
  const size_t N = hn::Lanes(d);
  for (size_t v = 0; v < kChunk; v += N) {
    auto acc0 = hn::Zero(d), acc1 = hn::Zero(d), acc2 = hn::Zero(d), acc3 = hn::Zero(d);
    // Byte counts of up to kMaxPendingWords words (popcount-inl.h), folded
    // into the lane accumulators by flush() (lane counts: once, at the end).
    auto part0 = hn::Zero(dc), part1 = hn::Zero(dc), part2 = hn::Zero(dc), part3 = hn::Zero(dc);
    size_t pending = 0;
    const auto flush = [&]() HWY_ATTR BNN_INLINE_LAMBDA {
      acc0 = hn::Add(acc0, FinishCounts(d, part0));
      part0 = hn::Zero(dc);
      if (kActive == kRows) {
        acc1 = hn::Add(acc1, FinishCounts(d, part1));
        acc2 = hn::Add(acc2, FinishCounts(d, part2));
        acc3 = hn::Add(acc3, FinishCounts(d, part3));
        part1 = part2 = part3 = hn::Zero(dc);
      }
      pending = 0;
    };
    const bnn_word* HWY_RESTRICT wk = w + v;
    for (size_t seg = 0; seg < rows.segments; ++seg) {
      const bnn_word* HWY_RESTRICT r0 = rows.base[0] + seg * rows.stride[0];
      const bnn_word* HWY_RESTRICT r1 = rows.base[1] + seg * rows.stride[1];
      const bnn_word* HWY_RESTRICT r2 = rows.base[2] + seg * rows.stride[2];
      const bnn_word* HWY_RESTRICT r3 = rows.base[3] + seg * rows.stride[3];
      // One word of every row against the block's weights.
      const auto count_word = [&](size_t k) HWY_ATTR BNN_INLINE_LAMBDA {
        const auto wv = hn::Load(d, wk);
        part0 = hn::Add(part0, CountBits(d, hn::Xor(hn::Set(d, r0[k]), wv)));
        if (kActive == kRows) {
          part1 = hn::Add(part1, CountBits(d, hn::Xor(hn::Set(d, r1[k]), wv)));
          part2 = hn::Add(part2, CountBits(d, hn::Xor(hn::Set(d, r2[k]), wv)));
          part3 = hn::Add(part3, CountBits(d, hn::Xor(hn::Set(d, r3[k]), wv)));
        }
      };
      if constexpr (kBytePopcount) {
        // Runs of words that fit the byte counts, each followed by a flush if full.
        for (size_t k = 0; k < rows.segment_words;) {
          const size_t room = kMaxPendingWords - pending;
          const size_t end = rows.segment_words - k > room ? k + room : rows.segment_words;
          pending += end - k;
          for (; k < end; ++k, wk += kChunk) count_word(k);
          if (pending == kMaxPendingWords) flush();
        }
      } else {
        for (size_t k = 0; k < rows.segment_words; ++k, wk += kChunk) count_word(k);
      }
    }
    flush();
    epilogue(0, v, acc0);
    if (kActive == kRows) {
      epilogue(1, v, acc1);
      epilogue(2, v, acc2);
      epilogue(3, v, acc3);
    }
  }
}

struct ConvGeometry {
  uint32_t out_h, out_w, cg, ocg, taps;
  size_t in_words, group_words;  // words per input pixel, per group's tap
  size_t row_words;              // K words per output pixel and group
  size_t blocks;                 // weight blocks per group
  size_t block_words;            // row_words * kChunk
};

HWY_INLINE ConvGeometry Geometry(const bnn_conv_shape* s) {
  ConvGeometry g;
  g.out_h = bnn_conv_out_h(s);
  g.out_w = bnn_conv_out_w(s);
  g.cg = s->in_c / s->groups;
  g.ocg = s->out_c / s->groups;
  g.taps = s->kernel_h * s->kernel_w;
  g.in_words = bnn_words(s->in_c);
  g.group_words = bnn_words(g.cg);
  g.row_words = bnn_conv_weight_row_words(s);
  g.blocks = (g.ocg + kChunk - 1) / kChunk;
  g.block_words = g.row_words * kChunk;
  return g;
}

HWY_INLINE size_t AlignUp(size_t bytes) {
  return (bytes + BNN_WEIGHT_ALIGN - 1) / BNN_WEIGHT_ALIGN * BNN_WEIGHT_ALIGN;
}

size_t ConvWeightsSize(const bnn_conv_shape* s) {
  const ConvGeometry g = Geometry(s);
  const size_t blocks = static_cast<size_t>(s->groups) * g.blocks;
  return AlignUp(blocks * g.block_words * sizeof(bnn_word)) +
         AlignUp(blocks * g.taps * kChunk * sizeof(int32_t));
}

void ConvPackWeights(const bnn_conv_shape* s, const bnn_word* canonical, void* packed) {
  assert(s && canonical && packed && bnn_conv_shape_valid(s));
  assert(reinterpret_cast<uintptr_t>(packed) % BNN_WEIGHT_ALIGN == 0);
  const ConvGeometry g = Geometry(s);
  const size_t blocks = static_cast<size_t>(s->groups) * g.blocks;
  bnn_word* words = static_cast<bnn_word*>(packed);
  int32_t* taps = reinterpret_cast<int32_t*>(static_cast<uint8_t*>(packed) +
                                             AlignUp(blocks * g.block_words * sizeof(bnn_word)));
  for (size_t gb = 0; gb < blocks; ++gb) {
    const size_t group = gb / g.blocks, block = gb % g.blocks;
    for (size_t j = 0; j < kChunk; ++j) {
      const size_t in_group = block * kChunk + j;
      const bool real = in_group < g.ocg;
      const bnn_word* src = canonical + (group * g.ocg + in_group) * g.row_words;
      for (size_t k = 0; k < g.row_words; ++k)
        words[(gb * g.row_words + k) * kChunk + j] = real ? src[k] : 0;
      for (size_t tap = 0; tap < g.taps; ++tap) {
        int32_t count = 0;
        for (size_t x = 0; real && x < g.group_words; ++x)
          count += static_cast<int32_t>(bnn_popcount32(src[tap * g.group_words + x]));
        taps[(gb * g.taps + tap) * kChunk + j] = count;
      }
    }
  }
}

size_t ConvScratchSize(const bnn_conv_shape* s) {
  return AlignUp(kRows * Geometry(s).row_words * sizeof(bnn_word));
}

// Input coordinate of a tap; false when it falls in the padding.
HWY_INLINE bool TapInside(const bnn_conv_shape* s, uint32_t oy, uint32_t ox, uint32_t ky,
                          uint32_t kx, size_t* iy, size_t* ix) {
  const int64_t y = static_cast<int64_t>(oy) * s->stride_h +
                    static_cast<int64_t>(ky) * s->dilation_h - s->pad_top;
  const int64_t x = static_cast<int64_t>(ox) * s->stride_w +
                    static_cast<int64_t>(kx) * s->dilation_w - s->pad_left;
  *iy = static_cast<size_t>(y);
  *ix = static_cast<size_t>(x);
  return y >= 0 && y < s->in_h && x >= 0 && x < s->in_w;
}

// One output pixel's im2col row for group `group` into `row` (row_words words);
// returns the number of valid taps.
HWY_INLINE uint32_t GatherRow(const bnn_conv_shape* s, const ConvGeometry& g,
                              const bnn_word* image, uint32_t oy, uint32_t ox, size_t group,
                              bnn_word* HWY_RESTRICT row) {
  const size_t first_bit = group * g.cg;
  const bool aligned = first_bit % BNN_WORD_BITS == 0;
  uint32_t valid = 0;
  for (uint32_t ky = 0; ky < s->kernel_h; ++ky) {
    for (uint32_t kx = 0; kx < s->kernel_w; ++kx, row += g.group_words) {
      size_t iy, ix;
      if (!TapInside(s, oy, ox, ky, kx, &iy, &ix)) {
        memset(row, 0, g.group_words * sizeof(bnn_word));
        continue;
      }
      ++valid;
      const bnn_word* pixel = image + (iy * s->in_w + ix) * g.in_words;
      if (aligned) {
        // Whole words; the group's last word has 0 padding bits only when the
        // group ends the tensor or ends on a word boundary, else mask it.
        memcpy(row, pixel + first_bit / BNN_WORD_BITS, g.group_words * sizeof(bnn_word));
        if (g.cg % BNN_WORD_BITS) row[g.group_words - 1] &= (1u << (g.cg % BNN_WORD_BITS)) - 1;
      } else {
        bnn_copy_bits(pixel, first_bit, g.cg, row);
      }
    }
  }
  return valid;
}

// Sum of the weight popcounts of the taps of (oy, ox) that fall in the
// padding, lanes [v, v + Lanes(d)) of a block (zero-padding correction).
template <class D>
HWY_INLINE hn::Vec<D> PaddedTapsPopcount(D d, const bnn_conv_shape* s,
                                         const int32_t* HWY_RESTRICT taps_popcount, uint32_t oy,
                                         uint32_t ox, size_t v) {
  auto sum = hn::Zero(d);
  for (uint32_t ky = 0; ky < s->kernel_h; ++ky)
    for (uint32_t kx = 0; kx < s->kernel_w; ++kx) {
      size_t iy, ix;
      if (TapInside(s, oy, ox, ky, kx, &iy, &ix)) continue;
      sum = hn::Add(sum, hn::Load(d, taps_popcount + (ky * s->kernel_w + kx) * kChunk + v));
    }
  return sum;
}

// The kernel for one output type (kType == t->type): with the type a
// constant, the epilogue has no switch and keeps its values in registers,
// which matters most when K is short (layer1's 18 words).
template <int kType>
HWY_NOINLINE void BConv2DTyped(const bnn_conv_shape* s, const bnn_word* input, const void* weights,
                               const bnn_output_transform* t, void* output, void* scratch) {
  assert(reinterpret_cast<uintptr_t>(weights) % BNN_WEIGHT_ALIGN == 0);
  const ConvGeometry g = Geometry(s);
  const size_t blocks = static_cast<size_t>(s->groups) * g.blocks;
  const bnn_word* packed = static_cast<const bnn_word*>(weights);
  const int32_t* taps_popcount = reinterpret_cast<const int32_t*>(
      static_cast<const uint8_t*>(weights) + AlignUp(blocks * g.block_words * sizeof(bnn_word)));
  const size_t out_row_bytes = bnn_output_row_bytes(t->type, s->out_c);
  const size_t pixels = static_cast<size_t>(g.out_h) * g.out_w;

  // A 1x1, stride-1, unpadded, ungrouped convolution reads the input pixels
  // as its rows: no gather.
  const bool direct = g.taps == 1 && s->stride_h == 1 && s->stride_w == 1 && s->groups == 1 &&
                      s->pad_top == 0 && s->pad_left == 0 && s->pad_bottom == 0 &&
                      s->pad_right == 0;
  assert(direct || (scratch && reinterpret_cast<uintptr_t>(scratch) % BNN_WEIGHT_ALIGN == 0));
  bnn_word* rows_buf = static_cast<bnn_word*>(scratch);
  // Ungrouped, undilated-in-width convolutions read interior windows in
  // place, one run of kernel_w pixels per kernel row; rows copied to scratch
  // then use the same runs back to back.
  const bool in_place = !direct && s->groups == 1 && s->dilation_w == 1;
  TileRows rows;
  rows.segments = in_place ? s->kernel_h : 1;
  rows.segment_words = in_place ? s->kernel_w * g.in_words : g.row_words;
  const size_t in_place_stride = static_cast<size_t>(s->dilation_h) * s->in_w * g.in_words;
  const hn::CappedTag<int32_t, kChunk> di;

  for (uint32_t b = 0; b < s->batch; ++b) {
    const bnn_word* image = input + static_cast<size_t>(b) * s->in_h * s->in_w * g.in_words;
    uint8_t* out_image = static_cast<uint8_t*>(output) + static_cast<size_t>(b) * pixels * out_row_bytes;
    for (size_t p0 = 0; p0 < pixels; p0 += kRows) {
      const size_t rows_here = pixels - p0 < kRows ? pixels - p0 : kRows;
      uint32_t oy[kRows], ox[kRows];
      void* out_row[kRows];
      const float* residual_row[kRows];
      for (size_t r = 0; r < kRows; ++r) {
        // Rows past the end repeat the last real row; their results are dropped.
        const size_t p = p0 + (r < rows_here ? r : rows_here - 1);
        oy[r] = static_cast<uint32_t>(p / g.out_w);
        ox[r] = static_cast<uint32_t>(p % g.out_w);
        out_row[r] = out_image + p * out_row_bytes;
        residual_row[r] = bnn_output_residual_row(t, static_cast<size_t>(b) * pixels + p, s->out_c);
        // Chunks write only real channels: clear the padding bits once.
        if (kType == BNN_OUTPUT_BITS && r < rows_here)
          static_cast<bnn_word*>(out_row[r])[bnn_words(s->out_c) - 1] = 0;
      }
      for (size_t group = 0; group < s->groups; ++group) {
        int32_t k_eff[kRows];
        bool border[kRows];  // needs the zero-padding correction
        for (size_t r = 0; r < kRows; ++r) {
          uint32_t valid = g.taps;
          const int64_t iy0 = static_cast<int64_t>(oy[r]) * s->stride_h - s->pad_top;
          const int64_t ix0 = static_cast<int64_t>(ox[r]) * s->stride_w - s->pad_left;
          if (direct) {
            rows.base[r] = image + (static_cast<size_t>(oy[r]) * g.out_w + ox[r]) * g.in_words;
            rows.stride[r] = 0;
          } else if (in_place && iy0 >= 0 && ix0 >= 0 &&
                     iy0 + static_cast<int64_t>(s->dilation_h) * (s->kernel_h - 1) < s->in_h &&
                     ix0 + static_cast<int64_t>(s->kernel_w) - 1 < s->in_w) {
            rows.base[r] = image + (static_cast<size_t>(iy0) * s->in_w + static_cast<size_t>(ix0)) * g.in_words;
            rows.stride[r] = in_place_stride;
          } else {
            bnn_word* row = rows_buf + r * g.row_words;
            valid = GatherRow(s, g, image, oy[r], ox[r], group, row);
            rows.base[r] = row;
            rows.stride[r] = rows.segment_words;
          }
          const bool zero_pad = s->pad_value == BNN_PAD_ZERO;
          border[r] = zero_pad && valid != g.taps;
          k_eff[r] = static_cast<int32_t>(g.cg * (zero_pad ? valid : g.taps));
        }
        for (size_t block = 0; block < g.blocks; ++block) {
          const size_t gb = group * g.blocks + block;
          const int32_t* block_taps = taps_popcount + gb * g.taps * kChunk;
          const size_t first = group * g.ocg + block * kChunk;
          const size_t count = g.ocg - block * kChunk < kChunk ? g.ocg - block * kChunk : kChunk;
          uint32_t bits[kRows] = {0, 0, 0, 0};
          HWY_ALIGN int32_t tile[kRows * kChunk];
          // dot = K_eff - 2 * (mismatches - padded taps' weight popcounts).
          const auto epilogue = [&](size_t r, size_t v, auto counts) HWY_ATTR BNN_INLINE_LAMBDA {
            if (r >= rows_here) return;
            auto mismatches = hn::BitCast(di, counts);
            if (border[r])
              mismatches = hn::Sub(mismatches, PaddedTapsPopcount(di, s, block_taps, oy[r], ox[r], v));
            const auto dot = hn::Sub(hn::Set(di, k_eff[r]), hn::Add(mismatches, mismatches));
            if (count == kChunk) {
              bits[r] |= TransformLanes<kType>(di, t, first, v, dot, residual_row[r], out_row[r]);
            } else {
              hn::Store(dot, di, tile + r * kChunk + v);
            }
          };
          if (rows_here == 1) {
            MismatchTile<1>(rows, packed + gb * g.block_words, epilogue);
          } else {
            MismatchTile<kRows>(rows, packed + gb * g.block_words, epilogue);
          }
          for (size_t r = 0; r < rows_here; ++r) {
            if (count != kChunk) {
              TransformChunk(t, tile + r * kChunk, first, count, residual_row[r], out_row[r]);
            } else if (kType == BNN_OUTPUT_BITS) {
              InsertBits(static_cast<bnn_word*>(out_row[r]), first, bits[r], kChunk);
            }
          }
        }
      }
    }
  }
}

void BConv2D(const bnn_conv_shape* s, const bnn_word* input, const void* weights,
             const bnn_output_transform* t, void* output, void* scratch) {
  assert(s && input && weights && t && output && bnn_conv_shape_valid(s));
  switch (t->type) {
    case BNN_OUTPUT_S32: return BConv2DTyped<BNN_OUTPUT_S32>(s, input, weights, t, output, scratch);
    case BNN_OUTPUT_F32: return BConv2DTyped<BNN_OUTPUT_F32>(s, input, weights, t, output, scratch);
    case BNN_OUTPUT_S8: return BConv2DTyped<BNN_OUTPUT_S8>(s, input, weights, t, output, scratch);
    case BNN_OUTPUT_BITS: return BConv2DTyped<BNN_OUTPUT_BITS>(s, input, weights, t, output, scratch);
  }
  assert(0 && "unknown output type");
}

// GEMM is the direct 1x1 convolution over m pixels.
HWY_INLINE bnn_conv_shape GemmAsConv(const bnn_gemm_shape* s) {
  bnn_conv_shape c;
  memset(&c, 0, sizeof(c));
  c.batch = 1;
  c.in_h = s->m;
  c.in_w = 1;
  c.in_c = s->k;
  c.out_c = s->n;
  c.kernel_h = c.kernel_w = c.stride_h = c.stride_w = c.dilation_h = c.dilation_w = c.groups = 1;
  c.pad_value = BNN_PAD_ZERO;
  return c;
}

size_t GemmWeightsSize(const bnn_gemm_shape* s) {
  const bnn_conv_shape c = GemmAsConv(s);
  return ConvWeightsSize(&c);
}

void GemmPackWeights(const bnn_gemm_shape* s, const bnn_word* canonical, void* packed) {
  const bnn_conv_shape c = GemmAsConv(s);
  ConvPackWeights(&c, canonical, packed);
}

void BGemm(const bnn_gemm_shape* s, const bnn_word* a, const void* weights,
           const bnn_output_transform* t, void* output) {
  assert(s && s->m && s->n && s->k && s->k <= BNN_MAX_K);
  const bnn_conv_shape c = GemmAsConv(s);
  BConv2D(&c, a, weights, t, output, nullptr);
}

}  // namespace HWY_NAMESPACE
}  // namespace bnn
HWY_AFTER_NAMESPACE();

#endif  // BNN_BCONV_INL_H_
