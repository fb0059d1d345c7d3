// Int8 convolution, Highway: the int8 first layer (bnn-convert --int8, the
// Bi-Real-shaped benchmark network's int8 stem).
//
// The arithmetic is exact integers, so any order gives the reference's bits.
// On AVX3_DL (AVX-512 with VNNI) one vpdpbusd multiplies 64 unsigned by
// signed bytes and adds them in groups of four into 16 int32 lanes: lanes
// are output channels, and each step broadcasts four consecutive taps of one
// output pixel's window. The input is made unsigned by u = x + 128, so
//   sum (x - zp) * w = sum u * w - (128 + zp) * sum w,
// where the padded taps, whose real value is 0 (x = zp), are given u = zp +
// 128 and so cancel exactly, and sum w is kept per channel with the packed
// weights. With the kernel's precondition (at most 2^16 products) neither
// sum overflows int32.
//
// No im2col: for each output row, the kh input rows its windows read are
// copied once as u bytes, the padding columns included, into row buffers.
// A window's kernel row ky is then kw * in_c contiguous bytes of buffer ky,
// read as quads; its last quad runs up to 3 bytes into the next pixel, where
// the packed weights are 0.
//
// Packed weights: blocks of 16 output channels, [block][ky][quad][16][4]
// int8, kw * in_c taps per kernel row padded with zero weights to whole
// quads, channels past out_c zero; then int32 sum w per channel. Scratch: the
// kh row buffers and two pixels' 16 x blocks sums.
//
// Other targets, CPUs without AVX-512 VNNI, groups > 1 or a horizontal
// dilation (not a first layer's shape) run the C reference on the canonical
// weights.

#if defined(BNN_ICONV_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef BNN_ICONV_INL_H_
#undef BNN_ICONV_INL_H_
#else
#define BNN_ICONV_INL_H_
#endif

#include <string.h>

#include "bnn_kernels.h"
#include "hwy/highway.h"
#include "kernels/output/output-inl.h"

HWY_BEFORE_NAMESPACE();
namespace bnn {
namespace HWY_NAMESPACE {

#if HWY_TARGET == HWY_AVX3_DL

constexpr size_t kIBlock = 16;  // output channels per vector (int32 lanes)
static_assert(kIBlock == kChunk, "accumulators are transformed in the output kernel's chunks");

// Highway 1.0's AVX3_DL target string names "avxvnni", not "avx512vnni": the
// instruction is enabled here, and checked once at run time (the reference
// runs where it is missing).
inline bool HaveAvx512Vnni() {
  static const bool have = __builtin_cpu_supports("avx512vnni");
  return have;
}

// The packed path: AVX-512 VNNI present, one group, contiguous kernel rows.
inline bool IConvPacked(const bnn_conv_shape* s) {
  return s->groups == 1 && s->dilation_w == 1 && HaveAvx512Vnni();
}

inline size_t IRowQuads(const bnn_conv_shape* s) { return (static_cast<size_t>(s->kernel_w) * s->in_c + 3) / 4; }
inline size_t IConvBlocks(const bnn_conv_shape* s) { return (s->out_c + kIBlock - 1) / kIBlock; }
inline size_t IAlignUp(size_t n) { return (n + BNN_WEIGHT_ALIGN - 1) / BNN_WEIGHT_ALIGN * BNN_WEIGHT_ALIGN; }
inline size_t IBlockBytes(const bnn_conv_shape* s) { return s->kernel_h * IRowQuads(s) * kIBlock * 4; }
// Row buffer columns: every column a window of the output row touches.
inline size_t IRowColumns(const bnn_conv_shape* s) {
  return static_cast<size_t>(bnn_conv_out_w(s) - 1) * s->stride_w + s->kernel_w;
}
inline size_t IRowBytes(const bnn_conv_shape* s) { return IAlignUp(IRowColumns(s) * s->in_c + 4); }

size_t IConvWeightsSize(const bnn_conv_shape* s) {
  if (!IConvPacked(s)) return 0;
  return IAlignUp(IConvBlocks(s) * IBlockBytes(s)) + IConvBlocks(s) * kIBlock * sizeof(int32_t);
}

void IConvPackWeights(const bnn_conv_shape* s, const int8_t* canonical, void* packed) {
  if (!IConvPacked(s)) return;
  const size_t rq = IRowQuads(s), blocks = IConvBlocks(s), row = static_cast<size_t>(s->kernel_w) * s->in_c;
  int8_t* w = static_cast<int8_t*>(packed);
  int32_t* sums = reinterpret_cast<int32_t*>(w + IAlignUp(blocks * IBlockBytes(s)));
  memset(w, 0, blocks * IBlockBytes(s));
  for (size_t oc = 0; oc < blocks * kIBlock; ++oc) {
    int32_t sum = 0;
    for (size_t ky = 0; oc < s->out_c && ky < s->kernel_h; ++ky)
      for (size_t j = 0; j < row; ++j) {
        // Canonical OHWI: tap (ky, kx, ic) of channel oc is (oc * kh + ky) * kw * in_c + j.
        const int8_t v = canonical[(oc * s->kernel_h + ky) * row + j];
        w[(((oc / kIBlock) * s->kernel_h + ky) * rq + j / 4) * kIBlock * 4 + (oc % kIBlock) * 4 + j % 4] = v;
        sum += v;
      }
    sums[oc] = sum;
  }
}

size_t IConvScratchSize(const bnn_conv_shape* s) {
  if (!IConvPacked(s)) return 0;
  return s->kernel_h * IRowBytes(s) + 2 * IConvBlocks(s) * kIBlock * sizeof(int32_t);  // two pixels' sums
}

__attribute__((target(HWY_TARGET_STR ",avx512vnni,bmi2"))) void IConv2D(const bnn_conv_shape* s, const int8_t* input,
                                                   int32_t input_zero_point, const void* weights,
                                                   const bnn_output_transform* t, void* output, void* scratch) {
  if (!IConvPacked(s)) {  // canonical weights, as IConvWeightsSize said
    bnn_iconv2d_ref(s, input, input_zero_point, static_cast<const int8_t*>(weights), t, output);
    return;
  }
  const uint32_t out_h = bnn_conv_out_h(s), out_w = bnn_conv_out_w(s);
  const size_t rq = IRowQuads(s), blocks = IConvBlocks(s), cin = s->in_c;
  const size_t block_bytes = IBlockBytes(s), row_bytes = IRowBytes(s), columns = IRowColumns(s);
  const int8_t* w = static_cast<const int8_t*>(weights);
  const int32_t* sums = reinterpret_cast<const int32_t*>(w + IAlignUp(blocks * block_bytes));
  uint8_t* rows = static_cast<uint8_t*>(scratch);
  int32_t* acc = reinterpret_cast<int32_t*>(rows + s->kernel_h * row_bytes);
  const uint8_t pad = static_cast<uint8_t>(input_zero_point + 128);  // the real value 0
  const __m512i shift = _mm512_set1_epi32(128 + input_zero_point);
  const size_t out_row_bytes = bnn_output_row_bytes(t->type, s->out_c);
  uint8_t* out = static_cast<uint8_t*>(output);

  for (uint32_t b = 0; b < s->batch; ++b)
    for (uint32_t oy = 0; oy < out_h; ++oy) {
      // The kh input rows of this output row, as u bytes with their padding.
      for (uint32_t ky = 0; ky < s->kernel_h; ++ky) {
        uint8_t* r = rows + ky * row_bytes;
        memset(r, pad, row_bytes);
        const int64_t iy = static_cast<int64_t>(oy) * s->stride_h + static_cast<int64_t>(ky) * s->dilation_h -
                           s->pad_top;
        if (iy < 0 || iy >= s->in_h) continue;
        const int8_t* line = input + (static_cast<size_t>(b) * s->in_h + static_cast<size_t>(iy)) * s->in_w * cin;
        const size_t first = s->pad_left;  // buffer column of input column 0
        const size_t count = s->in_w < columns - first ? s->in_w : columns - first;
        // u = x + 128, 64 bytes at a time; the tail with a masked load, which
        // reads nothing past the row.
        const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
        uint8_t* dst = r + first * cin;
        const size_t n = count * cin;
        size_t i = 0;
        for (; i + 64 <= n; i += 64)
          _mm512_storeu_si512(dst + i, _mm512_xor_si512(_mm512_loadu_si512(line + i), flip));
        if (i < n) {
          const __mmask64 m = _bzhi_u64(~0ull, static_cast<unsigned>(n - i));
          _mm512_mask_storeu_epi8(dst + i, m, _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, line + i), flip));
        }
      }
      const size_t step = static_cast<size_t>(s->stride_w) * cin;  // bytes between neighbouring windows
      for (uint32_t ox = 0; ox < out_w; ox += 2) {
        const size_t start = static_cast<size_t>(ox) * step;
        // Two pixels at a time (one at the row's end) share each weight load;
        // four blocks (64 channels) at a time share each broadcast.
        const bool pair = ox + 1 < out_w;
        int32_t* acc1 = acc + blocks * kIBlock;
        for (size_t b0 = 0; b0 < blocks; b0 += 4) {
          const size_t nb = blocks - b0 < 4 ? blocks - b0 : 4;
          __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
          __m512i c0 = a0, c1 = a0, c2 = a0, c3 = a0;
          const int8_t* wq = w + b0 * block_bytes;
          for (uint32_t ky = 0; ky < s->kernel_h; ++ky) {
            const uint8_t* u = rows + ky * row_bytes + start;
            const uint8_t* v = pair ? u + step : u;  // the second pixel, or the first again
            for (size_t q = 0; q < rq; ++q, wq += kIBlock * 4) {
              int32_t four, four1;
              memcpy(&four, u + 4 * q, 4);
              memcpy(&four1, v + 4 * q, 4);
              const __m512i x = _mm512_set1_epi32(four), y = _mm512_set1_epi32(four1);
              const __m512i w0 = _mm512_load_si512(wq);
              a0 = _mm512_dpbusd_epi32(a0, x, w0);
              c0 = _mm512_dpbusd_epi32(c0, y, w0);
              if (nb > 1) {
                const __m512i w1 = _mm512_load_si512(wq + block_bytes);
                a1 = _mm512_dpbusd_epi32(a1, x, w1);
                c1 = _mm512_dpbusd_epi32(c1, y, w1);
              }
              if (nb > 2) {
                const __m512i w2 = _mm512_load_si512(wq + 2 * block_bytes);
                a2 = _mm512_dpbusd_epi32(a2, x, w2);
                c2 = _mm512_dpbusd_epi32(c2, y, w2);
              }
              if (nb > 3) {
                const __m512i w3 = _mm512_load_si512(wq + 3 * block_bytes);
                a3 = _mm512_dpbusd_epi32(a3, x, w3);
                c3 = _mm512_dpbusd_epi32(c3, y, w3);
              }
            }
          }
          const __m512i* sv = reinterpret_cast<const __m512i*>(sums + b0 * kIBlock);
          int32_t* d0 = acc + b0 * kIBlock;
          int32_t* d1 = acc1 + b0 * kIBlock;
          const __m512i k0 = _mm512_mullo_epi32(shift, _mm512_loadu_si512(sv));
          _mm512_store_si512(d0, _mm512_sub_epi32(a0, k0));
          _mm512_store_si512(d1, _mm512_sub_epi32(c0, k0));
          if (nb > 1) {
            const __m512i k1 = _mm512_mullo_epi32(shift, _mm512_loadu_si512(sv + 1));
            _mm512_store_si512(d0 + 16, _mm512_sub_epi32(a1, k1));
            _mm512_store_si512(d1 + 16, _mm512_sub_epi32(c1, k1));
          }
          if (nb > 2) {
            const __m512i k2 = _mm512_mullo_epi32(shift, _mm512_loadu_si512(sv + 2));
            _mm512_store_si512(d0 + 32, _mm512_sub_epi32(a2, k2));
            _mm512_store_si512(d1 + 32, _mm512_sub_epi32(c2, k2));
          }
          if (nb > 3) {
            const __m512i k3 = _mm512_mullo_epi32(shift, _mm512_loadu_si512(sv + 3));
            _mm512_store_si512(d0 + 48, _mm512_sub_epi32(a3, k3));
            _mm512_store_si512(d1 + 48, _mm512_sub_epi32(c3, k3));
          }
        }
        // The transform in chunks of 16 channels, as the binary kernels do.
        for (int p = 0; p < (pair ? 2 : 1); ++p, out += out_row_bytes) {
          const int32_t* a = p ? acc1 : acc;
          if (t->type == BNN_OUTPUT_BITS) memset(out, 0, out_row_bytes);
          for (size_t c = 0; c < s->out_c; c += kChunk)
            TransformChunk(t, a + c, c, s->out_c - c < kChunk ? s->out_c - c : kChunk, nullptr, out);
        }
      }
    }
}

#else  // the C reference, canonical weights in place

inline size_t IConvWeightsSize(const bnn_conv_shape*) { return 0; }
inline void IConvPackWeights(const bnn_conv_shape*, const int8_t*, void*) {}
inline size_t IConvScratchSize(const bnn_conv_shape*) { return 0; }
inline void IConv2D(const bnn_conv_shape* s, const int8_t* input, int32_t input_zero_point, const void* weights,
                    const bnn_output_transform* t, void* output, void*) {
  bnn_iconv2d_ref(s, input, input_zero_point, static_cast<const int8_t*>(weights), t, output);
}

#endif

}  // namespace HWY_NAMESPACE
}  // namespace bnn
HWY_AFTER_NAMESPACE();

#endif  // BNN_ICONV_INL_H_ toggle
