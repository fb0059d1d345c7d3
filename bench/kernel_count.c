/* kernel-count: calls one binary kernel of one implementation N times, for
 * bench/arm_counts.py, which runs it under QEMU with instruction logging
 * (no timing is possible there) and takes the difference between two call
 * counts as the instructions of one call. Plain C with static buffers, so
 * the same source runs on the desktop, under qemu-aarch64 and as Cortex-M
 * firmware (arguments over semihosting).
 *
 *   kernel-count TABLE KERNEL CALLS
 *     TABLE   "reference", "NEON", "SVE2", "AVX3_DL", ... (bnn_kernels_all's names)
 *     KERNEL  bconv3x3 (14x14x128 -> 128, SAME zero padding, packed output)
 *             bgemm    (1x1024 -> 256, packed output)
 *   prints "macs N" (binary multiply-accumulates per call) and a checksum
 *   of the output, the same for every implementation.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bnn_kernels.h"

enum { kConvHW = 14, kConvC = 128, kGemmK = 1024, kGemmN = 256 };
#define CONV_WORDS (kConvC / 32)
#define PACKED_BYTES (64 * 1024) /* the largest re-packed weights or scratch of any table */

static bnn_word g_in[kConvHW * kConvHW * CONV_WORDS];
static bnn_word g_w[kGemmN * (kGemmK / 32)]; /* 32 KiB; the conv uses 128 x 9 x 4 words of it */
static int32_t g_threshold[kGemmN], g_direction[kGemmN];
static bnn_word g_out[kConvHW * kConvHW * CONV_WORDS];
static uint8_t g_packed[PACKED_BYTES] __attribute__((aligned(BNN_WEIGHT_ALIGN)));
static uint8_t g_scratch[PACKED_BYTES] __attribute__((aligned(BNN_WEIGHT_ALIGN)));

static uint32_t g_state = 0x9E3779B9u;
static uint32_t next_random(void) { /* xorshift32 */
  g_state ^= g_state << 13;
  g_state ^= g_state >> 17;
  g_state ^= g_state << 5;
  return g_state;
}

static void fill(bnn_word* v, size_t n) {
  for (size_t i = 0; i < n; ++i) v[i] = next_random();
}

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: kernel-count TABLE bconv3x3|bgemm CALLS\n");
    return 2;
  }
  const bnn_kernel_table* tables[16];
  const size_t n = bnn_kernels_all(tables, 16);
  const bnn_kernel_table* k = NULL;
  for (size_t i = 0; i < n; ++i)
    if (strcmp(tables[i]->name, argv[1]) == 0) k = tables[i];
  if (!k) {
    fprintf(stderr, "kernel-count: no table '%s' on this CPU (have:", argv[1]);
    for (size_t i = 0; i < n; ++i) fprintf(stderr, " %s", tables[i]->name);
    fprintf(stderr, ")\n");
    return 1;
  }
  const long calls = atol(argv[3]);
  bnn_output_transform t;
  memset(&t, 0, sizeof t);
  t.type = BNN_OUTPUT_BITS;
  t.threshold = g_threshold;
  t.direction = g_direction;
  for (int c = 0; c < kGemmN; ++c) g_direction[c] = 1;
  long long macs = 0;
  size_t out_words = 0;
  if (strcmp(argv[2], "bconv3x3") == 0) {
    bnn_conv_shape s;
    memset(&s, 0, sizeof s);
    s.batch = 1;
    s.in_h = s.in_w = kConvHW;
    s.in_c = s.out_c = kConvC;
    s.kernel_h = s.kernel_w = 3;
    s.stride_h = s.stride_w = s.dilation_h = s.dilation_w = s.groups = 1;
    bnn_conv_same_padding(&s, 1);
    fill(g_in, kConvHW * kConvHW * CONV_WORDS);
    fill(g_w, kConvC * 9 * CONV_WORDS);
    if (k->bconv2d_weights_size(&s) > PACKED_BYTES || k->bconv2d_scratch_size(&s) > PACKED_BYTES) {
      fprintf(stderr, "kernel-count: %s needs more than %d bytes for packed weights or scratch\n", k->name,
              PACKED_BYTES);
      return 1;
    }
    const void* w = g_w;
    if (k->bconv2d_weights_size(&s)) {
      k->bconv2d_pack_weights(&s, g_w, g_packed);
      w = g_packed;
    }
    for (long c = 0; c < calls; ++c) k->bconv2d(&s, g_in, w, &t, g_out, g_scratch);
    macs = (long long)kConvHW * kConvHW * kConvC * kConvC * 9;
    out_words = kConvHW * kConvHW * CONV_WORDS;
  } else if (strcmp(argv[2], "bgemm") == 0) {
    bnn_gemm_shape s = {1, kGemmN, kGemmK};
    fill(g_in, kGemmK / 32);
    fill(g_w, kGemmN * (kGemmK / 32));
    if (k->bgemm_weights_size(&s) > PACKED_BYTES) {
      fprintf(stderr, "kernel-count: %s needs more than %d bytes for packed weights\n", k->name, PACKED_BYTES);
      return 1;
    }
    const void* w = g_w;
    if (k->bgemm_weights_size(&s)) {
      k->bgemm_pack_weights(&s, g_w, g_packed);
      w = g_packed;
    }
    for (long c = 0; c < calls; ++c) k->bgemm(&s, g_in, w, &t, g_out);
    macs = (long long)kGemmK * kGemmN;
    out_words = kGemmN / 32;
  } else {
    fprintf(stderr, "kernel-count: unknown kernel '%s' (bconv3x3 or bgemm)\n", argv[2]);
    return 1;
  }
  uint32_t sum = 2166136261u; /* FNV-1a of the output */
  for (size_t i = 0; i < out_words; ++i) sum = (sum ^ g_out[i]) * 16777619u;
  printf("macs %lld\nchecksum %08lx\n", macs, (unsigned long)sum);
  return 0;
}
