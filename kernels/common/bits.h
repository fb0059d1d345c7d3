/* Bit helpers shared by the C reference kernels (internal). */
#ifndef BNN_KERNELS_COMMON_BITS_H
#define BNN_KERNELS_COMMON_BITS_H

#include "bnn_kernels.h"

/* Popcount. Where the target has an instruction (x86, Arm A-profile) the
 * builtin is that instruction. Cortex-M has none; there the choice is made
 * by instruction counts (docs/microcontrollers.md, bench/mcu_counts.py):
 *   BNN_POPCOUNT_SWAR     the bit-parallel sum inlined (the default on M-profile),
 *   BNN_POPCOUNT_TABLE    four lookups in a 256-byte table,
 *   BNN_POPCOUNT_BUILTIN  __builtin_popcount (on Cortex-M a call to libgcc).
 * All give the same result, so outputs do not depend on the choice. */
#if !defined(BNN_POPCOUNT_SWAR) && !defined(BNN_POPCOUNT_TABLE) && !defined(BNN_POPCOUNT_BUILTIN)
#if !defined(__GNUC__) || (defined(__ARM_ARCH_PROFILE) && __ARM_ARCH_PROFILE == 'M')
#define BNN_POPCOUNT_SWAR 1
#else
#define BNN_POPCOUNT_BUILTIN 1
#endif
#endif

#if defined(BNN_POPCOUNT_TABLE)
extern const uint8_t bnn_popcount_table[256]; /* common/popcount-table.c */
#endif

static inline uint32_t bnn_popcount32(uint32_t x) {
#if defined(BNN_POPCOUNT_BUILTIN)
  return (uint32_t)__builtin_popcount(x);
#elif defined(BNN_POPCOUNT_TABLE)
  return (uint32_t)bnn_popcount_table[x & 0xFFu] + bnn_popcount_table[(x >> 8) & 0xFFu] +
         bnn_popcount_table[(x >> 16) & 0xFFu] + bnn_popcount_table[x >> 24];
#else
  x = x - ((x >> 1) & 0x55555555u);
  x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
  x = (x + (x >> 4)) & 0x0F0F0F0Fu;
  return (x * 0x01010101u) >> 24;
#endif
}

/* Up to 32 bits of a packed row starting at bit `offset`, LSB first; bits
 * past `count` are 0. Reads only the words that hold bits [offset, offset+count). */
static inline uint32_t bnn_get_bits(const bnn_word* row, size_t offset, uint32_t count) {
  const size_t w = offset / BNN_WORD_BITS;
  const uint32_t shift = (uint32_t)(offset % BNN_WORD_BITS);
  uint32_t v = row[w] >> shift;
  if (shift != 0 && shift + count > BNN_WORD_BITS) v |= row[w + 1] << (BNN_WORD_BITS - shift);
  return count >= BNN_WORD_BITS ? v : (v & ((1u << count) - 1u));
}

/* Copies `count` bits starting at bit `offset` of src into dst from bit 0,
 * zeroing the padding bits of dst's last word. Writes bnn_words(count) words. */
static inline void bnn_copy_bits(const bnn_word* src, size_t offset, size_t count, bnn_word* dst) {
  size_t i = 0;
  for (; count >= BNN_WORD_BITS; count -= BNN_WORD_BITS, offset += BNN_WORD_BITS)
    dst[i++] = bnn_get_bits(src, offset, BNN_WORD_BITS);
  if (count) dst[i] = bnn_get_bits(src, offset, (uint32_t)count);
}

#endif
