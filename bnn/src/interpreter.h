#pragma once

#include "bnn/bnn.h"
#include "error.h"
#include "model.h"

struct bnn_interpreter {
  const bnn_model* model;
  const bnn_kernel_table* kernels;
  uint8_t* arena;
  size_t arena_bytes;
  bool owns_arena;
  uint8_t* persistent;  // re-packed weights of every operator
  size_t persistent_bytes;
  void** data;          // [num_tensors]
  void** input_home;    // [num_inputs]: the arena buffer of each graph input (bnn_interpreter_set_input)
  void** op_persistent; // [num_ops]
  void** op_scratch;    // [num_ops]
  double* op_seconds;   // [num_ops], when profiling
  bool profile;
  bnn::ErrorBuffer error;
};
