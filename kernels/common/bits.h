/* Bit helpers shared by the C reference kernels (internal). */
#ifndef BNN_KERNELS_COMMON_BITS_H
#define BNN_KERNELS_COMMON_BITS_H

#include "bnn_kernels.h"

/* Portable popcount. GCC/Clang lower the builtin to one instruction where the
 * target has one and to a libgcc routine elsewhere (Cortex-M). */
static inline uint32_t bnn_popcount32(uint32_t x) {
#if defined(__GNUC__)
  return (uint32_t)__builtin_popcount(x);
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
