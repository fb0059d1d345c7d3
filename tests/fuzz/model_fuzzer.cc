// libFuzzer target: the loader and interpreter creation on arbitrary bytes,
// and an invoke for models that load. Must never crash, hang or allocate
// without bound: the interpreter gets a fixed caller arena, and models with
// too much work per invoke are not run (a slow model is not a bug).
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bnn/bnn.h"

namespace {
constexpr size_t kArenaBytes = 32 << 20;
alignas(64) uint8_t g_arena[kArenaBytes];
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  void* copy = nullptr;
  if (posix_memalign(&copy, 64, size ? size : 1) != 0) return 0;
  if (size) memcpy(copy, data, size);
  bnn_model* model = nullptr;
  if (bnn_model_load_buffer(copy, size, &model) == BNN_OK) {
    bnn_interpreter_options o = bnn_interpreter_default_options();
    o.arena = g_arena;
    o.arena_bytes = kArenaBytes;
    o.profile = 1;
    bnn_interpreter* it = nullptr;
    if (bnn_interpreter_create(model, &o, &it) == BNN_OK) {
      double macs = 0;
      for (int i = 0; i < bnn_interpreter_op_count(it); ++i) {
        bnn_op_profile p;
        bnn_interpreter_op_profile(it, i, &p);
        macs += p.macs;
      }
      if (macs < 5e7) bnn_interpreter_invoke(it);
      bnn_interpreter_free(it);
    }
    bnn_model_free(model);
  }
  free(copy);
  return 0;
}
