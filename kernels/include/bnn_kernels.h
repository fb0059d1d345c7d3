/* bnn_kernels.h - the kernels: contracts, parameters, preconditions.
 *
 * Binary kernels first (the bit contract below); the real-valued (float32)
 * kernels have their own section and THE FLOAT CONTRACT.
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
 *   BNN_OUTPUT_F32:  out = clamp(float(acc) * multiplier[c] + bias[c]), a rounded
 *                    multiply then a rounded add (never fused), and the float
 *                    contract's clamp (below: compare and select), so every target
 *                    gives the same bits. With a residual (binary convolution and
 *                    GEMM only): out = clamp((float(acc) * multiplier[c] + bias[c])
 *                    + residual[c]), a third rounded operation before the clamp,
 *                    so it equals the unclamped output followed by bnn_add_f32_ref
 *                    with the clamp: the residual shortcut fused into the layer.
 *   BNN_OUTPUT_S8:   out = int8(round_half_even(clamp(float(acc) * multiplier[c] + bias[c])))
 *                    with the bounds narrowed to lo = max(clamp_min, -128),
 *                    hi = min(clamp_max, 127).
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
  const float* residual;    /* F32, optional (NULL: none): added before the clamp, in the
                               output's layout ([batch][out_h][out_w][out_c], [m][n]); it
                               must not overlap the output */
} bnn_output_transform;

/* Bytes of one output pixel (row) of `channels` channels in `type`. */
size_t bnn_output_row_bytes(bnn_output_type type, size_t channels);

/* The residual's row for output row (pixel) `row` of `channels` channels,
 * or NULL when the transform has none. */
static inline const float* bnn_output_residual_row(const bnn_output_transform* t, size_t row,
                                                   size_t channels) {
  return t->residual ? t->residual + row * channels : (const float*)0;
}

/* Applies the transform to one output row: acc[c] for c in [0, channels),
 * indexing the transform's per-channel arrays by c, writing the row `out`
 * (bnn_output_row_bytes(type, channels) bytes; a packed row is written whole,
 * its padding bits 0). `residual_row` is the row's residual
 * (bnn_output_residual_row), NULL when the transform has none. */
void bnn_output_row_ref(const bnn_output_transform* t, const int32_t* acc,
                        size_t channels, const float* residual_row, void* out);

/* One element: writes channel c of `row`. For BITS it only sets the bit when
 * it is 1, so the caller zeroes the row first (as bnn_output_row_ref does). */
void bnn_output_element_ref(const bnn_output_transform* t, int32_t acc, size_t c,
                            const float* residual_row, void* row);

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
 * Real-valued (float32) kernels: the layers around the binary ones (the first
 * convolution, real-valued shortcuts and downsampling, pooling, the classifier).
 *
 * THE FLOAT CONTRACT: every implementation gives the same output bits on every
 * target, because each output element is computed in one fixed order of
 * correctly rounded IEEE-754 binary32 operations:
 *   - Convolution / fully-connected, per output element (oc its channel):
 *       acc = +0.0f;
 *       for each k in canonical order (ky, kx, ic within the group; for FC
 *       k = 0 .. K-1):  acc = fmaf(x_k, w_k, acc)   (fused: one rounding);
 *       y = bias ? acc + bias[oc] : acc             (NULL bias: no add at all);
 *       y = clamp(y).
 *     Taps in the padding are part of the chain with x_k = +0.0f (float
 *     convolutions always pad with 0; bnn_conv_shape.pad_value is ignored).
 *   - clamp(y):  y = (y < clamp_min) ? clamp_min : y;
 *                then y = (y > clamp_max) ? clamp_max : y.
 *     NaN passes through, -0.0f is kept (ReLU of -0.0f is -0.0f). Not
 *     fminf/fmaxf, whose NaN and signed-zero cases differ between targets.
 *     Preconditions: clamp_min <= clamp_max, neither NaN (-INFINITY/+INFINITY
 *     for no clamp, 0 for ReLU, 0 and 6 for ReLU6).
 *   - Max-pool, per output element over the window's positions inside the
 *     image in (ky, kx) order: m = first; then m = (x > m || x != x) ? x : m
 *     (NaN propagates: the result is the window's last NaN if it has any).
 *   - Average pool: acc = +0.0f; acc = acc + x for the positions inside the
 *     image in (ky, kx) order (plain adds); y = acc / (float)count, a
 *     correctly rounded division (not a multiply by 1/count).
 *   - Add: y = clamp(a + b).
 *   - NaN: where the contract's arithmetic gives NaN, every target gives a
 *     NaN, but its sign and payload are not part of the contract (hardware
 *     propagates either operand's). Max-pool only selects, so it keeps them.
 * SIMD targets follow the same order with output channels in lanes. A target
 * whose vector arithmetic cannot give these bits uses the C reference for the
 * kernel instead: conv and FC need a fused multiply-add (x86 SSSE3/SSE4 and
 * Highway's SCALAR/EMU128 have none), and armv7 NEON flushes subnormals to
 * zero in every vector operation, so armv7 uses the reference for all float
 * kernels. Callers must not enable flush-to-zero / denormals-are-zero modes.
 *
 * Layouts are NHWC like the binary kernels, in plain floats.
 */

/* bnn_conv_shape_valid for a float convolution: the same checks, with
 * pad_value ignored. */
int bnn_fconv_shape_valid(const bnn_conv_shape* s);

/* Float 2-D convolution.
 * Input:   [batch][in_h][in_w][in_c].
 * Weights: canonical OHWI [out_c][kernel_h][kernel_w][in_c / groups]; optimised
 *          kernels take the buffer their own fconv2d_pack_weights filled.
 * Bias:    [out_c], or NULL for none (see the contract: no add).
 * Output:  [batch][out_h][out_w][out_c].
 * Groups:  input channels [g*in_c/groups, (g+1)*in_c/groups) feed output channels
 *          [g*out_c/groups, ...). Depthwise is groups == in_c (out_c = in_c * multiplier).
 * Preconditions: bnn_fconv_shape_valid(s), non-NULL buffers (bias excepted),
 * clamp_min <= clamp_max. Input and output must not overlap. */
void bnn_fconv2d_ref(const bnn_conv_shape* s, const float* input, const float* weights,
                     const float* bias, float clamp_min, float clamp_max, float* output);

/* Float fully-connected: out[m][n] = clamp(dot(a[m], w[n]) (+ bias[n])) with the
 * contract's order over k. a: [m][k], weights: canonical [n][k], bias: [n] or
 * NULL, out: [m][n]. Preconditions: m, n, k >= 1, non-NULL buffers (bias
 * excepted), clamp_min <= clamp_max. */
void bnn_ffc_ref(const bnn_gemm_shape* s, const float* a, const float* weights, const float* bias,
                 float clamp_min, float clamp_max, float* output);

/* Float max-pool, NHWC [batch][in_h][in_w][channels] -> [batch][out_h][out_w][channels].
 * Padded positions are ignored (as ONNX's -inf padding); bnn_pool_shape_valid
 * keeps pads smaller than the window, so no window is empty. */
void bnn_maxpool_f32_ref(const bnn_pool_shape* s, const float* input, float* output);

/* Float average pool, same layout. Padded positions add nothing to the sum;
 * count_include_pad != 0 divides by pool_h * pool_w (PyTorch's default,
 * ONNX count_include_pad=1), 0 by the number of positions inside the image
 * (ONNX's default). */
void bnn_avgpool_f32_ref(const bnn_pool_shape* s, const float* input, int count_include_pad,
                         float* output);

/* The pool shape of a global average (or max) pool: one window covering the
 * whole h x w image, output [batch][1][1][channels]. */
static inline bnn_pool_shape bnn_global_pool_shape(uint32_t batch, uint32_t h, uint32_t w,
                                                   uint32_t channels) {
  bnn_pool_shape s = {batch, h, w, channels, h, w, 1, 1, 0, 0, 0, 0};
  return s;
}

/* Int8 2-D convolution (the first layer on 8-bit pixels, or quantised
 * activations): acc = sum over the window's taps inside the image of
 * (x - input_zero_point) * w, exact in int32 (padding is the real value 0),
 * then the output transform `t` (F32, S8, S32 or packed BITS), with the
 * input, weight and output scales folded into its multiplier by the caller
 * (no residual).
 * Input [batch][in_h][in_w][in_c] int8, weights canonical OHWI int8
 * (symmetric: zero point 0), output as for bnn_bconv2d_ref.
 * Preconditions: bnn_fconv_shape_valid(s), kernel_h * kernel_w * in_c / groups
 * <= 2^16 (so |acc| < 2^31), input_zero_point in [-128, 127].
 * SIMD: AVX-512 VNNI (the kernel table's iconv2d); other targets run this. */
void bnn_iconv2d_ref(const bnn_conv_shape* s, const int8_t* input, int32_t input_zero_point,
                     const int8_t* weights, const bnn_output_transform* t, void* output);

/* out[i] = clamp(a[i] + b[i]) for i < n (the residual shortcut). out may be a
 * or b (in place); otherwise no overlap. Preconditions: non-NULL buffers
 * (unless n == 0), clamp_min <= clamp_max. */
void bnn_add_f32_ref(const float* a, const float* b, size_t n, float clamp_min, float clamp_max,
                     float* out);

/* PReLU: out[i] = x[i] < 0 ? x[i] * slope[i % channels] : x[i] for i < n,
 * n a multiple of channels (whole pixels of an NHWC tensor); one shared slope
 * (leaky ReLU) is channels == 1. NaN and -0.0f pass through unchanged. out
 * may be x (in place); otherwise no overlap. Preconditions: channels >= 1,
 * n % channels == 0, non-NULL buffers unless n == 0. */
void bnn_prelu_f32_ref(const float* x, size_t n, const float* slope, size_t channels, float* out);

/* Quantisation to 8 bits (the runtime's QUANTIZE): out[i] = clamp(nearbyint(
 * x[i] / scale) + zero_point) to [-128, 127] (int8) or [0, 255] (u8 != 0),
 * with a correctly rounded division, round-half-even (the default rounding
 * mode), a float add, and NaN mapped to the low end. Preconditions: scale > 0,
 * non-NULL buffers unless n == 0. */
void bnn_quantize_f32_ref(const float* x, size_t n, float scale, int32_t zero_point, int u8, void* out);

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

  /* Real-valued kernels (the float contract above). fconv2d's weights are the
   * canonical floats when fconv2d_weights_size(s) is 0, else the buffer
   * fconv2d_pack_weights filled; scratch is fconv2d_scratch_size(s) bytes
   * (NULL allowed when 0), aligned to BNN_WEIGHT_ALIGN. Same for ffc. */
  size_t (*fconv2d_weights_size)(const bnn_conv_shape* s);
  void (*fconv2d_pack_weights)(const bnn_conv_shape* s, const float* canonical, void* packed);
  size_t (*fconv2d_scratch_size)(const bnn_conv_shape* s);
  void (*fconv2d)(const bnn_conv_shape* s, const float* input, const void* weights,
                  const float* bias, float clamp_min, float clamp_max, float* output,
                  void* scratch);

  size_t (*ffc_weights_size)(const bnn_gemm_shape* s);
  void (*ffc_pack_weights)(const bnn_gemm_shape* s, const float* canonical, void* packed);
  void (*ffc)(const bnn_gemm_shape* s, const float* a, const void* weights, const float* bias,
              float clamp_min, float clamp_max, float* output);

  void (*maxpool_f32)(const bnn_pool_shape* s, const float* input, float* output);
  void (*avgpool_f32)(const bnn_pool_shape* s, const float* input, int count_include_pad,
                      float* output);
  void (*add_f32)(const float* a, const float* b, size_t n, float clamp_min, float clamp_max,
                  float* out);

  /* Int8 convolution (bnn_iconv2d_ref's contract): weights are the canonical
   * int8 ones when iconv2d_weights_size(s) is 0, else the buffer
   * iconv2d_pack_weights filled; scratch is iconv2d_scratch_size(s) bytes. */
  size_t (*iconv2d_weights_size)(const bnn_conv_shape* s);
  void (*iconv2d_pack_weights)(const bnn_conv_shape* s, const int8_t* canonical, void* packed);
  size_t (*iconv2d_scratch_size)(const bnn_conv_shape* s);
  void (*iconv2d)(const bnn_conv_shape* s, const int8_t* input, int32_t input_zero_point,
                  const void* weights, const bnn_output_transform* t, void* output, void* scratch);
  void (*quantize_f32)(const float* x, size_t n, float scale, int32_t zero_point, int u8, void* out);
  void (*prelu_f32)(const float* x, size_t n, const float* slope, size_t channels, float* out);
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
