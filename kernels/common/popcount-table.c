/* The 256-entry table of BNN_POPCOUNT_TABLE (bits.h), in flash as const. */
#include "bits.h"

#if defined(BNN_POPCOUNT_TABLE)
#define B2(n) n, n + 1, n + 1, n + 2
#define B4(n) B2(n), B2(n + 1), B2(n + 1), B2(n + 2)
#define B6(n) B4(n), B4(n + 1), B4(n + 1), B4(n + 2)
const uint8_t bnn_popcount_table[256] = {B6(0), B6(1), B6(1), B6(2)};
#else
/* ISO C wants at least one declaration in a translation unit. */
typedef int bnn_popcount_table_unused;
#endif
