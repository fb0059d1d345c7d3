/* kernels_check.c - the C reference kernels against naive float oracles.
 *
 * Runs on a Cortex-M4 under qemu-system-arm (with startup.c and
 * mps2-an386.ld, output over semihosting) and natively on the desktop, from
 * the same source: plain C11 and stdio, static buffers only, no malloc, no
 * libc rand. For every check it prints
 *
 *   ok   <check>  (n values)       or   FAIL <check>: <what differed>
 *   checksum <check> <FNV-1a of the kernel's output buffer>
 *
 * then a summary line, and returns non-zero from main when any check failed.
 * The checksum lines must be identical on every machine (the inputs come
 * from a fixed PRNG seeded by the check's name); compare_checksums.py
 * compares the firmware's with the desktop build's.
 *
 * The oracles compute in float on +1/-1 values (padding 0 or +1), which is
 * exact: every sum here is an integer far below 2^24.
 */
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "bnn_kernels.h"

/* ---------------------------------------------------------------------------
 * Buffers (static: the firmware's RAM budget is checked at link time).
 */
#define MAX_IN_VALUES 6144  /* floats of one input tensor (or GEMM A) */
#define MAX_IN_WORDS 2048   /* its packed words */
#define MAX_W_VALUES 4096   /* floats of one weight tensor (or GEMM B) */
#define MAX_W_WORDS 1024
#define MAX_OUT_VALUES 2048 /* int32 outputs */
#define GUARD_WORDS 16      /* poisoned words after each output, to catch over-writes */
#define POISON 0xA5A5A5A5u

static float g_in[MAX_IN_VALUES];
static bnn_word g_in_bits[MAX_IN_WORDS];
static float g_w[MAX_W_VALUES];
static bnn_word g_w_bits[MAX_W_WORDS];
static int32_t g_out[MAX_OUT_VALUES + GUARD_WORDS];
static int32_t g_expected[MAX_OUT_VALUES];

/* ---------------------------------------------------------------------------
 * Determinism: a xorshift32 PRNG seeded from the check's name, and FNV-1a.
 */
static uint32_t g_rng;

static uint32_t fnv1a(const void* data, size_t bytes, uint32_t hash) {
  const uint8_t* p = (const uint8_t*)data;
  for (size_t i = 0; i < bytes; ++i) hash = (hash ^ p[i]) * 16777619u;
  return hash;
}
#define FNV_OFFSET 2166136261u

static void rng_seed(const char* name) {
  g_rng = fnv1a(name, strlen(name), FNV_OFFSET);
  if (g_rng == 0) g_rng = 1; /* xorshift's one fixed point */
}

static uint32_t rng_next(void) {
  uint32_t x = g_rng;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return g_rng = x;
}

/* -1.0f with probability negative_eighths / 8, else +1.0f. */
static float random_sign(uint32_t negative_eighths) {
  return (rng_next() >> 29) < negative_eighths ? -1.0f : 1.0f;
}

static void fill_signs(float* v, size_t n, uint32_t negative_eighths) {
  for (size_t i = 0; i < n; ++i) v[i] = random_sign(negative_eighths);
}

/* ---------------------------------------------------------------------------
 * Reporting.
 */
static unsigned g_checks, g_failures;
static unsigned long g_values;

/* Compares n int32 values, checks the guard words after them, prints the
 * result and the checksum of `bytes` bytes of the kernel's output. */
static void finish_check(const char* name, const int32_t* got, const int32_t* want, size_t n,
                         size_t bytes) {
  const void* output = g_out;
  size_t bad = 0, first = 0;
  for (size_t i = 0; i < n; ++i)
    if (got[i] != want[i] && bad++ == 0) first = i;
  /* Every output is written to g_out after poison_output(bytes). */
  size_t guard_bad = 0;
  for (size_t i = 0; i < GUARD_WORDS; ++i) guard_bad += (uint32_t)g_out[bytes / 4 + i] != POISON;

  ++g_checks;
  g_values += (unsigned long)n;
  if (bad || guard_bad) {
    ++g_failures;
    if (bad)
      printf("FAIL %s: %lu of %lu values differ, first [%lu]: got %ld (%08" PRIx32
             "), want %ld (%08" PRIx32 ")\n",
             name, (unsigned long)bad, (unsigned long)n, (unsigned long)first, (long)got[first],
             (uint32_t)got[first], (long)want[first], (uint32_t)want[first]);
    if (guard_bad) printf("FAIL %s: wrote past the end of its output\n", name);
  } else {
    printf("ok   %s  (%lu values)\n", name, (unsigned long)n);
  }
  printf("checksum %s %08" PRIx32 "\n", name, fnv1a(output, bytes, FNV_OFFSET));
}

static void fail_setup(const char* name, const char* why) {
  ++g_checks;
  ++g_failures;
  printf("FAIL %s: %s\n", name, why);
}

static void poison_output(size_t bytes) {
  /* bytes is a multiple of 4 for every output here (int32 or packed words). */
  for (size_t i = 0; i < bytes / 4 + GUARD_WORDS; ++i) g_out[i] = (int32_t)POISON;
}

/* ---------------------------------------------------------------------------
 * Bit-packing: the bit contract itself.
 */

/* One-hot rows: row r is +1 everywhere but -1 at channel r (or the reverse
 * when inverted). Channel c must be bit c % 32 of word c / 32, 1 = negative,
 * padding bits 0. */
static void check_bitpack_one_hot(uint32_t channels, int inverted) {
  char name[96];
  snprintf(name, sizeof name, "bitpack/one-hot%s c%" PRIu32, inverted ? "-inverted" : "",
           channels);
  const size_t words = bnn_words(channels);
  if ((size_t)channels * channels > MAX_IN_VALUES || channels * words > MAX_OUT_VALUES) {
    fail_setup(name, "shape too big for the test buffers");
    return;
  }
  const float hot = inverted ? 1.0f : -1.0f, cold = -hot;
  for (uint32_t r = 0; r < channels; ++r)
    for (uint32_t c = 0; c < channels; ++c) g_in[(size_t)r * channels + c] = c == r ? hot : cold;
  for (uint32_t r = 0; r < channels; ++r)
    for (size_t w = 0; w < words; ++w) {
      uint32_t bits = 0;
      for (uint32_t b = 0; b < 32; ++b) {
        const uint32_t c = (uint32_t)w * 32 + b;
        const int negative = c < channels && (inverted ? c != r : c == r);
        bits |= (uint32_t)negative << b;
      }
      g_expected[r * words + w] = (int32_t)bits;
    }
  const size_t bytes = channels * words * sizeof(bnn_word);
  poison_output(bytes);
  bnn_bitpack_f32_ref(g_in, channels, channels, NULL, (bnn_word*)g_out);
  finish_check(name, g_out, g_expected, channels * words, bytes);
}

/* Per-channel thresholds: x < threshold is -1, x == threshold is +1. Row r
 * holds threshold[c] everywhere, except threshold[r] - 0.5 at channel r. */
static void check_bitpack_threshold(uint32_t channels) {
  char name[96];
  snprintf(name, sizeof name, "bitpack/threshold c%" PRIu32, channels);
  const size_t words = bnn_words(channels);
  if ((size_t)channels * channels + channels > MAX_IN_VALUES || channels * words > MAX_OUT_VALUES) {
    fail_setup(name, "shape too big for the test buffers");
    return;
  }
  float* threshold = g_in + (size_t)channels * channels;
  for (uint32_t c = 0; c < channels; ++c) threshold[c] = (float)c - 3.0f;
  for (uint32_t r = 0; r < channels; ++r)
    for (uint32_t c = 0; c < channels; ++c)
      g_in[(size_t)r * channels + c] = threshold[c] - (c == r ? 0.5f : 0.0f);
  memset(g_expected, 0, channels * words * sizeof(int32_t));
  for (uint32_t r = 0; r < channels; ++r)
    g_expected[r * words + r / 32] = (int32_t)(1u << (r % 32));
  const size_t bytes = channels * words * sizeof(bnn_word);
  poison_output(bytes);
  bnn_bitpack_f32_ref(g_in, channels, channels, threshold, (bnn_word*)g_out);
  finish_check(name, g_out, g_expected, channels * words, bytes);
}

/* Binarisation edge cases (threshold 0): only values below zero are -1;
 * 0, -0, NaN and +inf are +1. Includes a negative subnormal, which a
 * flush-to-zero FPU mode would turn into +1. */
static void check_bitpack_edges(void) {
  static const char name[] = "bitpack/edge-values";
  const float values[] = {0.0f, -0.0f, NAN, INFINITY, -INFINITY, -1.0e-40f, 1.0e-40f, -1.0e-30f, 2.0f};
  const uint32_t negative_mask = (1u << 4) | (1u << 5) | (1u << 7);
  const size_t n = sizeof values / sizeof values[0];
  memcpy(g_in, values, sizeof values);
  g_expected[0] = (int32_t)negative_mask;
  poison_output(sizeof(bnn_word));
  bnn_bitpack_f32_ref(g_in, 1, n, NULL, (bnn_word*)g_out);
  finish_check(name, g_out, g_expected, 1, sizeof(bnn_word));
}

/* int8 input: q < zero_point is -1, q == zero_point is +1. Row r holds
 * zero_point everywhere except zero_point - 1 at channel r. With zero_point
 * -128 no value can be below it: channel r holds -127 and no bit is set. */
static void check_bitpack_s8(uint32_t channels, int8_t zero_point) {
  char name[96];
  snprintf(name, sizeof name, "bitpack/s8 c%" PRIu32 " zp%d", channels, (int)zero_point);
  const size_t words = bnn_words(channels);
  static int8_t in[64 * 64];
  if ((size_t)channels * channels > sizeof in || channels * words > MAX_OUT_VALUES) {
    fail_setup(name, "shape too big for the test buffers");
    return;
  }
  const int can_go_below = zero_point > -128;
  for (uint32_t r = 0; r < channels; ++r)
    for (uint32_t c = 0; c < channels; ++c)
      in[(size_t)r * channels + c] =
          (int8_t)(c == r ? (can_go_below ? zero_point - 1 : zero_point + 1) : zero_point);
  memset(g_expected, 0, channels * words * sizeof(int32_t));
  if (can_go_below)
    for (uint32_t r = 0; r < channels; ++r)
      g_expected[r * words + r / 32] = (int32_t)(1u << (r % 32));
  const size_t bytes = channels * words * sizeof(bnn_word);
  poison_output(bytes);
  bnn_bitpack_s8_ref(in, channels, channels, zero_point, (bnn_word*)g_out);
  finish_check(name, g_out, g_expected, channels * words, bytes);
}

/* ---------------------------------------------------------------------------
 * Binary convolution against a naive float convolution of the same +/-1 tensors.
 */
enum { PAD_VALID, PAD_SAME, PAD_EXPLICIT };

typedef struct conv_case {
  uint32_t batch, in_h, in_w, in_c, out_c;
  uint32_t kernel_h, kernel_w, stride_h, stride_w, dilation_h, dilation_w, groups;
  int padding;   /* PAD_VALID / PAD_SAME (bnn_conv_same_padding) / PAD_EXPLICIT */
  uint32_t pad;  /* PAD_EXPLICIT: the same padding on every side */
  bnn_pad_value pad_value;
} conv_case;

static void naive_conv(const bnn_conv_shape* s, const float* in, const float* w, int32_t* out) {
  const uint32_t out_h = bnn_conv_out_h(s), out_w = bnn_conv_out_w(s);
  const uint32_t cg = s->in_c / s->groups, ocg = s->out_c / s->groups;
  const float pad = s->pad_value == BNN_PAD_ONE ? 1.0f : 0.0f;
  for (uint32_t b = 0; b < s->batch; ++b)
    for (uint32_t oy = 0; oy < out_h; ++oy)
      for (uint32_t ox = 0; ox < out_w; ++ox)
        for (uint32_t oc = 0; oc < s->out_c; ++oc) {
          const uint32_t g = oc / ocg;
          float acc = 0.0f;
          for (uint32_t ky = 0; ky < s->kernel_h; ++ky)
            for (uint32_t kx = 0; kx < s->kernel_w; ++kx) {
              const long iy = (long)(oy * s->stride_h + ky * s->dilation_h) - (long)s->pad_top;
              const long ix = (long)(ox * s->stride_w + kx * s->dilation_w) - (long)s->pad_left;
              const int inside = iy >= 0 && iy < (long)s->in_h && ix >= 0 && ix < (long)s->in_w;
              for (uint32_t ci = 0; ci < cg; ++ci) {
                const float x =
                    inside ? in[(((size_t)b * s->in_h + (size_t)iy) * s->in_w + (size_t)ix) * s->in_c +
                                (size_t)g * cg + ci]
                           : pad;
                acc += x * w[(((size_t)oc * s->kernel_h + ky) * s->kernel_w + kx) * cg + ci];
              }
            }
          out[(((size_t)b * out_h + oy) * out_w + ox) * s->out_c + oc] = (int32_t)acc;
        }
}

static void check_conv(const conv_case* k) {
  bnn_conv_shape s;
  memset(&s, 0, sizeof s);
  s.batch = k->batch;
  s.in_h = k->in_h;
  s.in_w = k->in_w;
  s.in_c = k->in_c;
  s.out_c = k->out_c;
  s.kernel_h = k->kernel_h;
  s.kernel_w = k->kernel_w;
  s.stride_h = k->stride_h;
  s.stride_w = k->stride_w;
  s.dilation_h = k->dilation_h;
  s.dilation_w = k->dilation_w;
  s.groups = k->groups;
  s.pad_value = k->pad_value;
  if (k->padding == PAD_EXPLICIT)
    s.pad_top = s.pad_left = s.pad_bottom = s.pad_right = k->pad;
  else
    bnn_conv_same_padding(&s, k->padding == PAD_SAME);

  char name[160];
  snprintf(name, sizeof name,
           "bconv/b%" PRIu32 " %" PRIu32 "x%" PRIu32 "x%" PRIu32 " oc%" PRIu32 " k%" PRIu32 "x%" PRIu32
           " s%" PRIu32 "x%" PRIu32 " d%" PRIu32 "x%" PRIu32 " g%" PRIu32 " %s pad%" PRIu32 ",%" PRIu32
           ",%" PRIu32 ",%" PRIu32 " %s",
           s.batch, s.in_h, s.in_w, s.in_c, s.out_c, s.kernel_h, s.kernel_w, s.stride_h, s.stride_w,
           s.dilation_h, s.dilation_w, s.groups,
           k->padding == PAD_SAME ? "same" : k->padding == PAD_VALID ? "valid" : "explicit",
           s.pad_top, s.pad_left, s.pad_bottom, s.pad_right,
           s.pad_value == BNN_PAD_ONE ? "one" : "zero");
  if (!bnn_conv_shape_valid(&s)) {
    fail_setup(name, "invalid shape (test table error)");
    return;
  }
  const size_t pixels = (size_t)s.batch * s.in_h * s.in_w;
  const size_t in_values = pixels * s.in_c, in_words = pixels * bnn_words(s.in_c);
  const uint32_t cg = s.in_c / s.groups;
  const size_t taps = (size_t)s.out_c * s.kernel_h * s.kernel_w;
  const size_t w_values = taps * cg, w_words = (size_t)s.out_c * bnn_conv_weight_row_words(&s);
  const size_t outputs = (size_t)s.batch * bnn_conv_out_h(&s) * bnn_conv_out_w(&s) * s.out_c;
  if (in_values > MAX_IN_VALUES || in_words > MAX_IN_WORDS || w_values > MAX_W_VALUES ||
      w_words > MAX_W_WORDS || outputs > MAX_OUT_VALUES) {
    fail_setup(name, "shape too big for the test buffers");
    return;
  }

  rng_seed(name);
  fill_signs(g_in, in_values, 4);
  fill_signs(g_w, w_values, 4);
  bnn_bitpack_f32_ref(g_in, pixels, s.in_c, NULL, g_in_bits);
  /* OHWI weights, one row of cg channels per (oc, ky, kx) tap: exactly the
   * canonical packed layout [out_c][kernel_h][kernel_w][bnn_words(cg)]. */
  bnn_bitpack_f32_ref(g_w, taps, cg, NULL, g_w_bits);

  naive_conv(&s, g_in, g_w, g_expected);
  bnn_output_transform t;
  memset(&t, 0, sizeof t);
  t.type = BNN_OUTPUT_S32;
  poison_output(outputs * sizeof(int32_t));
  bnn_bconv2d_ref(&s, g_in_bits, g_w_bits, &t, g_out);
  finish_check(name, g_out, g_expected, outputs, outputs * sizeof(int32_t));
}

static const conv_case kConvCases[] = {
    /* batch, h, w, in_c, out_c, kh, kw, sh, sw, dh, dw, groups, padding, pad, pad value */
    /* 1x1 kernels: one word, several words, odd counts. */
    {1, 5, 5, 33, 17, 1, 1, 1, 1, 1, 1, 1, PAD_VALID, 0, BNN_PAD_ZERO},
    {1, 4, 3, 70, 9, 1, 1, 2, 2, 1, 1, 1, PAD_VALID, 0, BNN_PAD_ZERO},
    {1, 3, 3, 1, 3, 1, 1, 1, 1, 1, 1, 1, PAD_SAME, 0, BNN_PAD_ZERO},
    /* 3x3, stride 1 and 2, SAME with zero and one padding, VALID. */
    {1, 7, 6, 40, 9, 3, 3, 1, 1, 1, 1, 1, PAD_SAME, 0, BNN_PAD_ZERO},
    {1, 7, 6, 40, 9, 3, 3, 1, 1, 1, 1, 1, PAD_SAME, 0, BNN_PAD_ONE},
    {1, 9, 9, 35, 8, 3, 3, 2, 2, 1, 1, 1, PAD_SAME, 0, BNN_PAD_ZERO},
    {1, 9, 9, 35, 8, 3, 3, 2, 2, 1, 1, 1, PAD_SAME, 0, BNN_PAD_ONE},
    {1, 8, 8, 64, 5, 3, 3, 2, 2, 1, 1, 1, PAD_SAME, 0, BNN_PAD_ZERO}, /* even size: odd pad bottom/right */
    {1, 9, 8, 35, 7, 3, 3, 2, 2, 1, 1, 1, PAD_VALID, 0, BNN_PAD_ZERO},
    {1, 6, 6, 32, 4, 3, 3, 1, 1, 1, 1, 1, PAD_VALID, 0, BNN_PAD_ONE},
    /* 5x5 and 7x7. */
    {1, 8, 8, 16, 5, 5, 5, 1, 1, 1, 1, 1, PAD_SAME, 0, BNN_PAD_ZERO},
    {1, 9, 7, 21, 6, 5, 5, 2, 2, 1, 1, 1, PAD_SAME, 0, BNN_PAD_ONE},
    {1, 11, 11, 3, 8, 7, 7, 2, 2, 1, 1, 1, PAD_SAME, 0, BNN_PAD_ZERO}, /* stem-like, 3 channels */
    {1, 10, 9, 5, 4, 7, 7, 1, 1, 1, 1, 1, PAD_EXPLICIT, 3, BNN_PAD_ONE},
    {1, 9, 9, 33, 2, 7, 7, 1, 1, 1, 1, 1, PAD_VALID, 0, BNN_PAD_ZERO},
    /* Dilation, square and not. */
    {1, 9, 9, 20, 12, 3, 3, 1, 1, 2, 2, 1, PAD_SAME, 0, BNN_PAD_ZERO},
    {1, 10, 11, 20, 6, 3, 3, 1, 1, 2, 3, 1, PAD_EXPLICIT, 2, BNN_PAD_ONE},
    {1, 11, 11, 9, 4, 3, 3, 2, 2, 3, 3, 1, PAD_SAME, 0, BNN_PAD_ONE},
    /* Groups: channels per group not a multiple of 32 (groups start mid-word
     * and cross words), aligned groups, depthwise. */
    {1, 6, 5, 40, 6, 3, 3, 1, 1, 1, 1, 2, PAD_SAME, 0, BNN_PAD_ZERO},   /* cg 20 */
    {1, 5, 5, 105, 9, 3, 3, 1, 1, 1, 1, 3, PAD_SAME, 0, BNN_PAD_ONE},   /* cg 35 */
    {1, 5, 4, 105, 6, 3, 3, 2, 1, 1, 1, 3, PAD_VALID, 0, BNN_PAD_ZERO}, /* cg 35 */
    {1, 6, 6, 128, 8, 3, 3, 1, 1, 1, 1, 4, PAD_SAME, 0, BNN_PAD_ZERO},  /* cg 32 */
    {1, 7, 7, 13, 13, 3, 3, 1, 1, 1, 1, 13, PAD_SAME, 0, BNN_PAD_ZERO}, /* depthwise */
    {1, 7, 7, 13, 26, 5, 5, 2, 2, 1, 1, 13, PAD_SAME, 0, BNN_PAD_ONE},  /* depthwise x2 */
    {1, 6, 6, 45, 15, 3, 3, 1, 1, 2, 2, 5, PAD_SAME, 0, BNN_PAD_ZERO},  /* cg 9, dilated */
    /* Batch, non-square kernels and strides, windows made only of padding. */
    {2, 5, 4, 33, 5, 3, 3, 1, 1, 1, 1, 1, PAD_SAME, 0, BNN_PAD_ZERO},
    {1, 9, 6, 19, 7, 3, 1, 2, 1, 1, 1, 1, PAD_SAME, 0, BNN_PAD_ONE},
    {1, 6, 9, 19, 7, 1, 5, 1, 2, 1, 1, 1, PAD_SAME, 0, BNN_PAD_ZERO},
    {1, 2, 2, 7, 3, 3, 3, 1, 1, 1, 1, 1, PAD_EXPLICIT, 3, BNN_PAD_ZERO},
    {1, 2, 2, 7, 3, 3, 3, 1, 1, 1, 1, 1, PAD_EXPLICIT, 3, BNN_PAD_ONE},
};

/* ---------------------------------------------------------------------------
 * Binary GEMM against naive dot products.
 */
static void check_gemm(uint32_t m, uint32_t n, uint32_t k) {
  char name[96];
  snprintf(name, sizeof name, "bgemm/m%" PRIu32 " n%" PRIu32 " k%" PRIu32, m, n, k);
  const size_t words = bnn_words(k);
  if ((size_t)m * k > MAX_IN_VALUES || m * words > MAX_IN_WORDS || (size_t)n * k > MAX_W_VALUES ||
      n * words > MAX_W_WORDS || (size_t)m * n > MAX_OUT_VALUES) {
    fail_setup(name, "shape too big for the test buffers");
    return;
  }
  rng_seed(name);
  fill_signs(g_in, (size_t)m * k, 4);
  fill_signs(g_w, (size_t)n * k, 4);
  bnn_bitpack_f32_ref(g_in, m, k, NULL, g_in_bits);
  bnn_bitpack_f32_ref(g_w, n, k, NULL, g_w_bits);
  for (uint32_t i = 0; i < m; ++i)
    for (uint32_t j = 0; j < n; ++j) {
      float acc = 0.0f;
      for (uint32_t c = 0; c < k; ++c) acc += g_in[(size_t)i * k + c] * g_w[(size_t)j * k + c];
      g_expected[(size_t)i * n + j] = (int32_t)acc;
    }
  const bnn_gemm_shape s = {m, n, k};
  bnn_output_transform t;
  memset(&t, 0, sizeof t);
  t.type = BNN_OUTPUT_S32;
  poison_output((size_t)m * n * sizeof(int32_t));
  bnn_bgemm_ref(&s, g_in_bits, g_w_bits, &t, g_out);
  finish_check(name, g_out, g_expected, (size_t)m * n, (size_t)m * n * sizeof(int32_t));
}

/* ---------------------------------------------------------------------------
 * Binary max-pool against a naive float max-pool (padding ignored).
 */
typedef struct pool_case {
  uint32_t batch, in_h, in_w, channels, pool_h, pool_w, stride_h, stride_w;
  uint32_t pad_top, pad_left, pad_bottom, pad_right;
} pool_case;

static void check_maxpool(const pool_case* k) {
  const bnn_pool_shape s = {k->batch,   k->in_h,     k->in_w,     k->channels,
                            k->pool_h,  k->pool_w,   k->stride_h, k->stride_w,
                            k->pad_top, k->pad_left, k->pad_bottom, k->pad_right};
  char name[128];
  snprintf(name, sizeof name,
           "bmaxpool/b%" PRIu32 " %" PRIu32 "x%" PRIu32 "x%" PRIu32 " p%" PRIu32 "x%" PRIu32
           " s%" PRIu32 "x%" PRIu32 " pad%" PRIu32 ",%" PRIu32 ",%" PRIu32 ",%" PRIu32,
           s.batch, s.in_h, s.in_w, s.channels, s.pool_h, s.pool_w, s.stride_h, s.stride_w,
           s.pad_top, s.pad_left, s.pad_bottom, s.pad_right);
  if (!bnn_pool_shape_valid(&s)) {
    fail_setup(name, "invalid shape (test table error)");
    return;
  }
  const uint32_t out_h = bnn_pool_out_h(&s), out_w = bnn_pool_out_w(&s);
  const size_t words = bnn_words(s.channels);
  const size_t pixels = (size_t)s.batch * s.in_h * s.in_w;
  const size_t out_words = (size_t)s.batch * out_h * out_w * words;
  if (pixels * s.channels > MAX_IN_VALUES || pixels * words > MAX_IN_WORDS ||
      out_words > MAX_OUT_VALUES) {
    fail_setup(name, "shape too big for the test buffers");
    return;
  }
  rng_seed(name);
  /* Mostly -1 (7 in 8), so that a good share of windows are all -1. */
  fill_signs(g_in, pixels * s.channels, 7);
  bnn_bitpack_f32_ref(g_in, pixels, s.channels, NULL, g_in_bits);

  memset(g_expected, 0, out_words * sizeof(int32_t));
  for (uint32_t b = 0; b < s.batch; ++b)
    for (uint32_t oy = 0; oy < out_h; ++oy)
      for (uint32_t ox = 0; ox < out_w; ++ox)
        for (uint32_t c = 0; c < s.channels; ++c) {
          float max = -INFINITY;
          for (uint32_t ky = 0; ky < s.pool_h; ++ky)
            for (uint32_t kx = 0; kx < s.pool_w; ++kx) {
              const long iy = (long)(oy * s.stride_h + ky) - (long)s.pad_top;
              const long ix = (long)(ox * s.stride_w + kx) - (long)s.pad_left;
              if (iy < 0 || iy >= (long)s.in_h || ix < 0 || ix >= (long)s.in_w) continue;
              const float x = g_in[(((size_t)b * s.in_h + (size_t)iy) * s.in_w + (size_t)ix) * s.channels + c];
              if (x > max) max = x;
            }
          /* Written straight from the bit contract, not with bitpack. */
          if (max < 0.0f)
            g_expected[(((size_t)b * out_h + oy) * out_w + ox) * words + c / 32] |=
                (int32_t)(1u << (c % 32));
        }
  poison_output(out_words * sizeof(bnn_word));
  bnn_bmaxpool_ref(&s, g_in_bits, (bnn_word*)g_out);
  finish_check(name, g_out, g_expected, out_words, out_words * sizeof(bnn_word));
}

static const pool_case kPoolCases[] = {
    /* batch, h, w, c, pool h/w, stride h/w, pad top/left/bottom/right */
    {1, 8, 8, 33, 2, 2, 2, 2, 0, 0, 0, 0},
    {1, 7, 7, 70, 3, 3, 2, 2, 1, 1, 1, 1},
    {2, 5, 6, 1, 3, 3, 1, 1, 1, 1, 1, 1},
    {1, 9, 5, 64, 3, 2, 2, 1, 1, 0, 1, 1},
    {1, 6, 6, 32, 2, 2, 1, 1, 0, 0, 1, 1},
    {1, 4, 4, 100, 4, 4, 4, 4, 0, 0, 0, 0},
    {1, 7, 5, 17, 3, 3, 3, 2, 2, 2, 2, 2},
};

/* ---------------------------------------------------------------------------
 * Dispatch: with -Dsimd=none the reference is the only table, and the table's
 * entry points are the reference kernels.
 */
static void check_dispatch(void) {
  static const char name[] = "dispatch/reference-only";
  const bnn_kernel_table* tables[4] = {NULL, NULL, NULL, NULL};
  const size_t count = bnn_kernels_all(tables, 4);
  const bnn_kernel_table* best = bnn_kernels_best();
  const bnn_kernel_table* ref = bnn_kernels_reference();
  if (count != 1 || tables[0] != ref || best != ref || strcmp(ref->name, "reference") != 0) {
    fail_setup(name, "bnn_kernels_all/bnn_kernels_best do not give the reference alone");
    return;
  }
  bnn_conv_shape s;
  memset(&s, 0, sizeof s);
  s.batch = 1;
  s.in_h = s.in_w = 4;
  s.in_c = 40;
  s.out_c = 3;
  s.kernel_h = s.kernel_w = 3;
  s.stride_h = s.stride_w = s.dilation_h = s.dilation_w = s.groups = 1;
  s.pad_value = BNN_PAD_ZERO;
  bnn_conv_same_padding(&s, 1);
  if (ref->bconv2d_weights_size(&s) != 0 || ref->bconv2d_scratch_size(&s) != 0) {
    fail_setup(name, "the reference table asks for packed weights or scratch");
    return;
  }
  /* The table's conv (canonical weights in place, no scratch) must give what
   * the direct call gives: 4x4 pixels x 3 channels. */
  rng_seed(name);
  fill_signs(g_in, 16 * 40, 4);
  fill_signs(g_w, 3 * 9 * 40, 4);
  bnn_bitpack_f32_ref(g_in, 16, 40, NULL, g_in_bits);
  bnn_bitpack_f32_ref(g_w, 3 * 9, 40, NULL, g_w_bits);
  bnn_output_transform t;
  memset(&t, 0, sizeof t);
  t.type = BNN_OUTPUT_S32;
  bnn_bconv2d_ref(&s, g_in_bits, g_w_bits, &t, g_expected);
  poison_output(48 * sizeof(int32_t));
  best->bconv2d(&s, g_in_bits, g_w_bits, &t, g_out, NULL);
  finish_check(name, g_out, g_expected, 48, 48 * sizeof(int32_t));
}

int main(int argc, char** argv) {
  (void)argc; /* no arguments: every check runs */
  (void)argv;
  printf("kernels_check: C reference kernels (%s table)\n", bnn_kernels_reference()->name);

  static const uint32_t pack_channels[] = {1, 5, 31, 32, 33, 64, 65, 70};
  for (size_t i = 0; i < sizeof pack_channels / sizeof pack_channels[0]; ++i) {
    check_bitpack_one_hot(pack_channels[i], 0);
    check_bitpack_one_hot(pack_channels[i], 1);
  }
  check_bitpack_threshold(37);
  check_bitpack_edges();
  check_bitpack_s8(33, 0);
  check_bitpack_s8(40, -5);
  check_bitpack_s8(9, -128);

  for (size_t i = 0; i < sizeof kConvCases / sizeof kConvCases[0]; ++i) check_conv(&kConvCases[i]);

  static const uint32_t gemm_cases[][3] = {
      {1, 1, 1}, {3, 5, 31}, {4, 7, 32}, {5, 3, 33}, {2, 9, 100}, {6, 4, 257}, {1, 4, 1000},
  };
  for (size_t i = 0; i < sizeof gemm_cases / sizeof gemm_cases[0]; ++i)
    check_gemm(gemm_cases[i][0], gemm_cases[i][1], gemm_cases[i][2]);

  for (size_t i = 0; i < sizeof kPoolCases / sizeof kPoolCases[0]; ++i) check_maxpool(&kPoolCases[i]);

  check_dispatch();

  printf("summary: %u checks, %u failed, %lu values compared: %s\n", g_checks, g_failures,
         g_values, g_failures ? "FAIL" : "PASS");
  return g_failures ? 1 : 0;
}
