#pragma once

#include "bnn/bnn.h"
#include "error.h"
#include "memory.h"
#include "model.h"

namespace bnn {

// Patch-based inference (MCUNetV2's idea, by rows): operators [first, last],
// a chain of row-local operators from the start of the graph, run band by
// band. Each band computes `band_rows` output rows of `last`; the rows of an
// intermediate tensor that the next band needs again (overlapping windows)
// are kept, moved to the front of its band buffer, so that only a few rows
// of every intermediate tensor exist at a time and none is computed twice.
constexpr int kMaxPatchOps = 16;

struct PatchStage {
  int first = -1, last = -1;  // first = -1: no stage (layer-by-layer)
  int band_rows = 0;          // output rows of `last` per band
  int out_rows = 0;           // rows of `last`'s output
  int bands = 0;
  size_t in_row_bytes = 0;                 // of `first`'s input
  size_t out_row_bytes[kMaxPatchOps] = {}; // of each stage operator's output
  double recompute = 1.0;                  // MACs run / MACs of one layer-by-layer pass (bnn.h)
};

}  // namespace bnn

struct bnn_interpreter {
  const bnn_model* model;
  const bnn_kernel_table* kernels;
  uint8_t* arena;
  size_t arena_bytes;
  size_t layer_arena_bytes;  // what the layer-by-layer plan needs (equal without a patch stage)
  bool owns_arena;
  bool caller_memory;   // this struct and its tables are in options.memory
  size_t memory_bytes;  // of options.memory, the bytes in use
  uint8_t* persistent;  // re-packed weights of every operator
  size_t persistent_bytes;
  void** data;          // [num_tensors]; a patch stage's intermediates point at their band buffers
  void** input_home;    // [num_inputs]: the arena buffer of each graph input (bnn_interpreter_set_input)
  void** op_persistent; // [num_ops]
  void** op_scratch;    // [num_ops]
  double* op_seconds;   // [num_ops], when profiling
  int* fused;           // [num_ops]: -1, or the other operator of a residual fusion (op.h): for a
                        // binary convolution the ADD it runs with (later), for that ADD the convolution
  bool profile;
  bnn::PatchStage patch;
  bnn::ErrorBuffer error;
};

namespace bnn {

// Plans, takes its tables (and the arena and packed weights when the caller
// gives none) from `alloc`, and packs the weights. `it` is zeroed by the caller.
bnn_status CreateInterpreter(const bnn_model* m, const bnn_interpreter_options* o, Allocator* alloc,
                             bnn_interpreter* it);
// Gives back what CreateInterpreter took from the heap (nothing for caller memory).
void DestroyInterpreter(bnn_interpreter* it);
void Invoke(bnn_interpreter* it);

}  // namespace bnn
