/* bnn-firmware: the runtime on a microcontroller. The model is linked in as
 * a const array in flash (bnn-to-c); its tables, the interpreter and the
 * arena are static buffers in SRAM sized at compile time from the model's
 * generated header, so nothing is allocated. Inputs are read from files on
 * the host over semihosting, results printed over semihosting.
 *
 *   bnn-firmware [--layer-by-layer] [--invokes N] INPUT.raw...
 *
 * Each INPUT is the model's input tensor as raw bytes (for the person model
 * 96x96 grey pixels, 9216 bytes). For each it prints the outputs (values,
 * then a "checksum" line of the output bytes that tests compare with the
 * desktop runtime) and, for a classifier, the best class. --invokes N runs
 * each input N times (for instruction counts per inference). The same
 * source builds for the host (bnn-firmware-host), printing the same lines.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bnn/bnn.h"
#include "firmware_model.h"

/* Patch-based inference is the default and the arena is sized for it;
 * -DFIRMWARE_ARENA_FOR_LAYERS sizes it for layer-by-layer execution too. */
#if defined(FIRMWARE_ARENA_FOR_LAYERS) && FIRMWARE_MODEL_ARENA_BYTES > FIRMWARE_MODEL_PATCH_ARENA_BYTES
#define FIRMWARE_ARENA_BYTES FIRMWARE_MODEL_ARENA_BYTES
#else
#define FIRMWARE_ARENA_BYTES FIRMWARE_MODEL_PATCH_ARENA_BYTES
#endif
static uint8_t model_memory[FIRMWARE_MODEL_MODEL_MEMORY_BYTES] __attribute__((aligned(16)));
static uint8_t interpreter_memory[FIRMWARE_MODEL_INTERPRETER_MEMORY_BYTES] __attribute__((aligned(16)));
static uint8_t arena[FIRMWARE_ARENA_BYTES] __attribute__((aligned(64)));

#if defined(__arm__) && !defined(__linux__)
/* board/startup.c: SysTick on the processor clock (cycles on a real part). */
uint64_t board_ticks(void);
#define HAVE_BOARD_TICKS 1
#endif

/* FNV-1a over bytes: the output's fingerprint. */
static uint32_t fnv1a(const void* data, size_t n) {
  const uint8_t* p = (const uint8_t*)data;
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 16777619u;
  return h;
}

static int read_input(const char* path, void* buffer, size_t bytes) {
  FILE* f = fopen(path, "rb");
  if (!f) {
    printf("bnn-firmware: cannot open '%s'\n", path);
    return 0;
  }
  const size_t got = fread(buffer, 1, bytes, f);
  const int extra = fgetc(f) != EOF;
  fclose(f);
  if (got != bytes || extra) {
    printf("bnn-firmware: '%s' is not %u bytes (the model's input)\n", path, (unsigned)bytes);
    return 0;
  }
  return 1;
}

static void print_outputs(const bnn_model* model, const bnn_interpreter* it, const char* name) {
  uint32_t all = 2166136261u;
  for (int o = 0; o < bnn_model_output_count(model); ++o) {
    bnn_tensor_info info;
    bnn_model_output_info(model, o, &info);
    const void* data = bnn_interpreter_output(it, o);
    printf("output %s %d:", name, o);
    if (info.dtype == BNN_DTYPE_F32) {
      const float* v = (const float*)data;
      const size_t n = info.bytes / sizeof(float);
      for (size_t i = 0; i < n && i < 16; ++i) {
        uint32_t bits;
        memcpy(&bits, &v[i], sizeof bits);
        printf(" %08lx", (unsigned long)bits);
      }
      if (n > 16) printf(" ... (%u values)", (unsigned)n);
      if (bnn_model_task(model) == BNN_TASK_CLASSIFIER && o == 0) {
        size_t best = 0;
        for (size_t i = 1; i < n; ++i)
          if (v[i] > v[best]) best = i;
        printf(" -> class %u (%s)", (unsigned)best, bnn_model_label(model, (int)best));
      }
    }
    printf("\n");
    all ^= fnv1a(data, info.bytes) + (uint32_t)o;
  }
  printf("checksum %s %08lx\n", name, (unsigned long)all);
}

int main(int argc, char** argv) {
  int patch = 1, invokes = 1, first_input = 1;
  for (; first_input < argc && argv[first_input][0] == '-'; ++first_input) {
    if (strcmp(argv[first_input], "--layer-by-layer") == 0) {
      patch = 0;
    } else if (strcmp(argv[first_input], "--invokes") == 0 && first_input + 1 < argc) {
      invokes = atoi(argv[++first_input]);
      if (invokes < 1) invokes = 1;
    } else {
      printf("usage: bnn-firmware [--layer-by-layer] [--invokes N] INPUT.raw...\n");
      return 2;
    }
  }

  bnn_model* model = NULL;
  if (bnn_model_load_static(firmware_model, sizeof firmware_model, model_memory, sizeof model_memory, &model) !=
      BNN_OK) {
    printf("bnn-firmware: %s\n", bnn_last_load_error());
    return 1;
  }
  bnn_interpreter_options o = bnn_interpreter_default_options();
  o.memory = interpreter_memory;
  o.memory_bytes = sizeof interpreter_memory;
  o.arena = arena;
  o.arena_bytes = sizeof arena;
  o.patch_based = patch ? 1 : -1;
  bnn_interpreter* it = NULL;
  if (bnn_interpreter_create(model, &o, &it) != BNN_OK) {
    printf("bnn-firmware: %s\n", bnn_last_load_error());
    return 1;
  }
  bnn_patch_info info;
  const int patched = bnn_interpreter_patch_info(it, &info);
  printf("bnn-firmware: model '%s', %d operators, %u bytes in flash, kernels %s\n", bnn_model_name(model),
         bnn_model_op_count(model), (unsigned)sizeof firmware_model, bnn_interpreter_kernels(it));
  printf("memory: arena %u bytes %s, model tables %u of %u, interpreter %u of %u\n",
         (unsigned)bnn_interpreter_arena_bytes(it), patched ? "patch-based" : "layer by layer",
         (unsigned)bnn_model_memory_bytes(model), (unsigned)sizeof model_memory,
         (unsigned)bnn_interpreter_memory_bytes(it), (unsigned)sizeof interpreter_memory);
  if (patched)
    printf("patch: operators %d-%d in %d bands of %d rows (%.1f%% of their MACs recomputed); layer by layer "
           "would need a %u-byte arena\n",
           info.first_op, info.last_op, info.bands, info.band_rows, (info.recompute - 1.0) * 100.0,
           (unsigned)info.layer_arena_bytes);

  bnn_tensor_info in;
  bnn_model_input_info(model, 0, &in);
  printf("input: %s", in.dtype == BNN_DTYPE_U8 ? "U8" : in.dtype == BNN_DTYPE_F32 ? "F32" : "other");
  for (int d = 0; d < in.rank; ++d) printf("%c%ld", d ? 'x' : ' ', (long)in.dims[d]);
  printf(", %u bytes (tools take it as %s)\n", (unsigned)in.bytes,
         bnn_model_input_is_nchw(model) && in.dtype == BNN_DTYPE_F32 ? "NCHW" : "NHWC");
  int failed = 0;
  for (int a = first_input; a < argc; ++a) {
    if (!read_input(argv[a], bnn_interpreter_input(it, 0), in.bytes)) {
      failed = 1;
      continue;
    }
    const char* name = strrchr(argv[a], '/') ? strrchr(argv[a], '/') + 1 : argv[a];
#ifdef HAVE_BOARD_TICKS
    const uint64_t t0 = board_ticks();
#endif
    for (int r = 0; r < invokes; ++r) bnn_interpreter_invoke(it);
#ifdef HAVE_BOARD_TICKS
    const uint64_t ticks = board_ticks() - t0;
    printf("time %s: %lu ticks per invoke (%d invokes)\n", name, (unsigned long)(ticks / (uint64_t)invokes), invokes);
#endif
    print_outputs(model, it, name);
  }
  bnn_interpreter_free(it);
  bnn_model_free(model);
  return failed;
}
