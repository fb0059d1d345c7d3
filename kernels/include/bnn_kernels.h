/* bnn_kernels.h - the binary kernels: contracts, parameters, preconditions.
 *
 * Kernels are pure functions over caller-owned buffers: they never allocate,
 * never fail and never report errors. Callers (the runtime) validate shapes
 * once at load time; every precondition below is checked by assert() in debug
 * builds only.
 *
 * THE BIT CONTRACT (the one place it is defined; docs/format.md repeats it)
 *   - Tensors are channels-last (NHWC). Each pixel's C channels are packed
 *     into bnn_words(C) 32-bit words; channel c lives in word c / 32 at bit
 *     c % 32 (LSB first), words stored little-endian.
 *   - Bit 1 means -1, bit 0 means +1.
 *   - Binarisation: x < threshold gives -1 (bit 1); everything else, including
 *     x == threshold, -0.0 and NaN, gives +1 (bit 0). With threshold 0 this
 *     is sign() with sign(0) = +1. A model trained with sign(0) = 0 is
 *     converted so that its meaning is kept (the converter's job).
 *   - Channels beyond C in the last word are 0 in activations and weights,
 *     so they never count: dot(a, w) over K real channels is
 *     K - 2 * popcount(a XOR w).
 *
 * ACCUMULATORS: int32. K (kernel_h * kernel_w * channels per group) must not
 * exceed BNN_MAX_K, which keeps every intermediate sum exact in int32 and in
 * the float output transform (2^24).
 *
 * OVER-READ: kernels never read outside the buffers described here.
 */
#ifndef BNN_KERNELS_H
#define BNN_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef uint32_t bnn_word;
#define BNN_WORD_BITS 32u
#define BNN_MAX_K (1u << 24)

/* Words needed for `bits` channels. */
static inline size_t bnn_words(size_t bits) { return (bits + BNN_WORD_BITS - 1) / BNN_WORD_BITS; }

/* ---------------------------------------------------------------------------
 * Bit-packing: rows x channels NHWC values -> rows x bnn_words(channels).
 */

/* bit = in[r][c] < threshold[c] (threshold NULL means 0.0f for every channel).
 * Preconditions: in has rows*channels floats, out has rows*bnn_words(channels)
 * words; channels >= 1. */
void bnn_bitpack_f32_ref(const float* in, size_t rows, size_t channels,
                         const float* threshold, bnn_word* out);

/* bit = in[r][c] < zero_point: the sign of the real value (q - zero_point) * scale
 * for a positive scale. */
void bnn_bitpack_s8_ref(const int8_t* in, size_t rows, size_t channels,
                        int8_t zero_point, bnn_word* out);

/* ---------------------------------------------------------------------------
 * Output transform, applied per output channel c to the exact integer dot
 * product acc (in [-K, K]) of a binary convolution or GEMM.
 *
 *   BNN_OUTPUT_S32:  out = acc.
 *   BNN_OUTPUT_F32:  out = min(max(float(acc) * multiplier[c] + bias[c], clamp_min), clamp_max)
 *                    computed as a rounded multiply then a rounded add (never fused),
 *                    so every target gives the same bits.
 *   BNN_OUTPUT_S8:   out = int8(round_half_even(min(max(float(acc) * multiplier[c] + bias[c],
 *                    lo), hi))) with lo = max(clamp_min, -128), hi = min(clamp_max, 127).
 *   BNN_OUTPUT_BITS: packed output (the bit contract); bit for channel c is
 *                    acc < threshold[c]  when direction[c] >= 0,
 *                    acc > threshold[c]  when direction[c] <  0 (negative scale).
 *                    This is sign(acc * m + b) with m, b folded in by the converter.
 * XNOR-Net scaling factors, BatchNorm and biases are folded into multiplier/bias
 * or threshold by the converter, never recomputed here.
 */
typedef enum bnn_output_type {
  BNN_OUTPUT_S32 = 0,
  BNN_OUTPUT_F32 = 1,
  BNN_OUTPUT_S8 = 2,
  BNN_OUTPUT_BITS = 3,
} bnn_output_type;

typedef struct bnn_output_transform {
  bnn_output_type type;
  const float* multiplier;  /* F32, S8: [out_channels] */
  const float* bias;        /* F32, S8: [out_channels] */
  float clamp_min;          /* F32, S8: -INFINITY for none, 0 for ReLU */
  float clamp_max;          /* F32, S8: +INFINITY for none */
  const int32_t* threshold; /* BITS: [out_channels] */
  const int32_t* direction; /* BITS: [out_channels], >= 0 or < 0 as above */
} bnn_output_transform;

/* Bytes of one output pixel (row) of `channels` channels in `type`. */
size_t bnn_output_row_bytes(bnn_output_type type, size_t channels);

/* Applies the transform to one output row: acc[c] for c in [0, channels),
 * indexing the transform's per-channel arrays by c, writing the row `out`
 * (bnn_output_row_bytes(type, channels) bytes; a packed row is written whole,
 * its padding bits 0). */
void bnn_output_row_ref(const bnn_output_transform* t, const int32_t* acc,
                        size_t channels, void* out);

/* One element: writes channel c of `row`. For BITS it only sets the bit when
 * it is 1, so the caller zeroes the row first (as bnn_output_row_ref does). */
void bnn_output_element_ref(const bnn_output_transform* t, int32_t acc, size_t c, void* row);

/* ---------------------------------------------------------------------------
 * Binary 2-D convolution.
 *
 * Input:   packed [batch][in_h][in_w][bnn_words(in_c)].
 * Weights: canonical packed OHWI: [out_c][kernel_h][kernel_w][bnn_words(in_c / groups)]
 *          (each output channel's kernel is one row of kernel_h*kernel_w*words bits,
 *          the row a pixel's receptive field has after im2col). Optimised kernels
 *          take weights re-laid by their own pack_weights at load time.
 * Output:  [batch][out_h][out_w][out_c] in the transform's type, or packed
 *          [batch][out_h][out_w][bnn_words(out_c)] for BNN_OUTPUT_BITS.
 * Groups:  input channels [g*in_c/groups, (g+1)*in_c/groups) feed output channels
 *          [g*out_c/groups, ...); a group may start at any bit of a word.
 * Padding: explicit per side (see bnn_conv_same_padding). BNN_PAD_ZERO gives
 *          PyTorch/ONNX semantics: padded pixels are 0, neither +1 nor -1, and
 *          contribute nothing (the border correction). BNN_PAD_ONE pads with +1
 *          (Larq's default), which needs no correction.
 */
typedef enum bnn_pad_value { BNN_PAD_ZERO = 0, BNN_PAD_ONE = 1 } bnn_pad_value;

typedef struct bnn_conv_shape {
  uint32_t batch, in_h, in_w, in_c;
  uint32_t out_c;
  uint32_t kernel_h, kernel_w;
  uint32_t stride_h, stride_w;     /* >= 1 */
  uint32_t dilation_h, dilation_w; /* >= 1 */
  uint32_t pad_top, pad_left, pad_bottom, pad_right;
  uint32_t groups;                 /* >= 1, divides in_c and out_c */
  bnn_pad_value pad_value;
} bnn_conv_shape;

uint32_t bnn_conv_out_h(const bnn_conv_shape* s);
uint32_t bnn_conv_out_w(const bnn_conv_shape* s);

/* Fills pad_* for SAME (TensorFlow/ONNX SAME_UPPER: output = ceil(in / stride),
 * the odd pixel on the bottom/right) when same != 0, else zero padding (VALID). */
void bnn_conv_same_padding(bnn_conv_shape* s, int same);

/* Returns 1 when every precondition of the convolution holds: non-zero sizes,
 * groups dividing both channel counts, a known pad value, a non-empty output,
 * K <= BNN_MAX_K. The runtime checks this at load. (A window made only of
 * padding is allowed: its dot product is 0 with zero padding.) */
int bnn_conv_shape_valid(const bnn_conv_shape* s);

/* Words per output channel in the canonical weight layout. */
size_t bnn_conv_weight_row_words(const bnn_conv_shape* s);

void bnn_bconv2d_ref(const bnn_conv_shape* s, const bnn_word* input, const bnn_word* weights,
                     const bnn_output_transform* t, void* output);

/* ---------------------------------------------------------------------------
 * Binary GEMM / fully-connected: out[m][n] = transform(dot(a[m], w[n])) over
 * k channels. a: [m][bnn_words(k)], weights: canonical [n][bnn_words(k)],
 * out: [m][n] (or packed [m][bnn_words(n)]).
 */
typedef struct bnn_gemm_shape {
  uint32_t m, n, k;
} bnn_gemm_shape;

void bnn_bgemm_ref(const bnn_gemm_shape* s, const bnn_word* a, const bnn_word* weights,
                   const bnn_output_transform* t, void* output);

/* ---------------------------------------------------------------------------
 * Binary max-pool on packed bits: the max of +1/-1 values is -1 only when all
 * are -1, so it is the AND of the bits over the window. Padded positions are
 * ignored (as ONNX's -inf padding), so pads must be smaller than the window.
 */
typedef struct bnn_pool_shape {
  uint32_t batch, in_h, in_w, channels;
  uint32_t pool_h, pool_w, stride_h, stride_w;
  uint32_t pad_top, pad_left, pad_bottom, pad_right;
} bnn_pool_shape;

uint32_t bnn_pool_out_h(const bnn_pool_shape* s);
uint32_t bnn_pool_out_w(const bnn_pool_shape* s);
int bnn_pool_shape_valid(const bnn_pool_shape* s);

void bnn_bmaxpool_ref(const bnn_pool_shape* s, const bnn_word* input, bnn_word* output);

/* ---------------------------------------------------------------------------
 * Kernel table: one implementation of every kernel, chosen once.
 *
 * Weight pre-packing: weights_size(s) gives the bytes an implementation wants
 * for its own weight layout (0: it reads the canonical weights in place, as
 * the reference does, so flash-resident weights need no RAM). pack_weights
 * fills that buffer once, at load. The buffer must be aligned to
 * BNN_WEIGHT_ALIGN. scratch_size(s) gives the per-call scratch bytes
 * (aligned to BNN_WEIGHT_ALIGN) that the kernel may use.
 */
#define BNN_WEIGHT_ALIGN 64u

typedef struct bnn_kernel_table {
  const char* name; /* "reference", or the Highway target name ("AVX3_DL", "NEON", ...) */
  void (*bitpack_f32)(const float* in, size_t rows, size_t channels, const float* threshold,
                      bnn_word* out);
  void (*bitpack_s8)(const int8_t* in, size_t rows, size_t channels, int8_t zero_point,
                     bnn_word* out);

  size_t (*bconv2d_weights_size)(const bnn_conv_shape* s);
  void (*bconv2d_pack_weights)(const bnn_conv_shape* s, const bnn_word* canonical, void* packed);
  size_t (*bconv2d_scratch_size)(const bnn_conv_shape* s);
  void (*bconv2d)(const bnn_conv_shape* s, const bnn_word* input, const void* weights,
                  const bnn_output_transform* t, void* output, void* scratch);

  size_t (*bgemm_weights_size)(const bnn_gemm_shape* s);
  void (*bgemm_pack_weights)(const bnn_gemm_shape* s, const bnn_word* canonical, void* packed);
  void (*bgemm)(const bnn_gemm_shape* s, const bnn_word* a, const void* weights,
                const bnn_output_transform* t, void* output);

  void (*bmaxpool)(const bnn_pool_shape* s, const bnn_word* input, bnn_word* output);
} bnn_kernel_table;

/* The portable C reference: the microcontroller path and the test oracle. */
const bnn_kernel_table* bnn_kernels_reference(void);

/* The best implementation for this CPU, chosen on the first call (Highway
 * dynamic dispatch where built with it). Returns the reference when the build
 * has no SIMD, when bnn_kernels_force_reference(1) was called, or when the
 * environment variable BNN_FORCE_REFERENCE is set to a non-empty value other
 * than "0" at the first call: the switch for debugging in the field. */
const bnn_kernel_table* bnn_kernels_best(void);
void bnn_kernels_force_reference(int force);

/* Every implementation this CPU can run: the reference first, then each
 * compiled Highway target from the weakest to the best. Writes at most `max`
 * pointers and returns how many there are. For tests, benchmarks and the
 * self-check; call it before inference starts (it briefly changes Highway's
 * target choice). */
size_t bnn_kernels_all(const bnn_kernel_table** tables, size_t max);

#ifdef __cplusplus
}
#endif

#endif /* BNN_KERNELS_H */
