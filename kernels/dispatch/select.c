/* bnn_kernels_best(): Highway's choice for this CPU, unless the reference is forced. */
#include <stdlib.h>
#include <string.h>

#include "bnn_kernels.h"

#if BNN_HAVE_HWY
const bnn_kernel_table* bnn_kernels_hwy_current(void); /* kernels-hwy.cc */
#endif

/* -1: not decided yet; then 0 or 1. Written before any inference starts. */
static int g_force_reference = -1;

void bnn_kernels_force_reference(int force) { g_force_reference = force != 0; }

const bnn_kernel_table* bnn_kernels_best(void) {
  if (g_force_reference < 0) {
    const char* env = getenv("BNN_FORCE_REFERENCE");
    g_force_reference = env && env[0] && strcmp(env, "0") != 0;
  }
#if BNN_HAVE_HWY
  if (!g_force_reference) return bnn_kernels_hwy_current();
#endif
  return bnn_kernels_reference();
}

#if !BNN_HAVE_HWY
size_t bnn_kernels_all(const bnn_kernel_table** tables, size_t max) {
  if (max > 0) tables[0] = bnn_kernels_reference();
  return 1;
}
#endif
