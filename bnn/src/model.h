// The verified, resolved view of a .bnn file that the interpreter runs.
// Everything here was checked by LoadModel: indices are in range, shapes are
// sane, constants lie inside the data section, every operator validated its
// parameters. Nothing in this struct changes after loading.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "bnn/bnn.h"
#include "bnn/bnn_generated.h"
#include "error.h"
#include "memory.h"
#include "ops/op.h"

struct bnn_model;

namespace bnn {

struct TensorDesc {
  const char* name;  // "" when unnamed
  bnn_dtype dtype;
  int rank;
  int32_t dims[BNN_MAX_DIMS];
  size_t bytes;
  const void* constant;  // in the data section, or nullptr for activations
  float scale;
  int32_t zero_point;
  // Lifetime in operator indices, for the planner: written by the first
  // operator that produces it (-1: a graph input) and last read by last_use
  // (op count: a graph output).
  int first_def, last_use;
  bool is_input, is_output;
};

struct OpDesc {
  const OpKernel* kernel;
  const char* name;
  int index;
  int num_inputs, num_outputs;
  const int32_t* inputs;   // flatbuffer vectors (little-endian int32, verified)
  const int32_t* outputs;
  const fb::Operator* fb;
  double macs;             // multiply-accumulates per invoke (binary ones for binary ops)
  alignas(16) uint8_t params[kMaxOpParams];  // the kernel's own parameters, filled at load
};

}  // namespace bnn

struct bnn_model {
  // The file's bytes: owned (mapped or allocated) or the caller's.
  const uint8_t* bytes;
  size_t size;
  void* owned;
  size_t owned_size;
  bool mapped;
  bool caller_memory;  // this struct and its tables live in the caller's memory (bnn_model_load_static)
  size_t memory_bytes; // of that memory, the bytes in use

  const uint8_t* data;  // data section
  size_t data_size;
  const bnn::fb::Model* fb;

  int num_tensors;
  bnn::TensorDesc* tensors;
  int num_ops;
  bnn::OpDesc* ops;
  int num_inputs, num_outputs;
  const int32_t* inputs;
  const int32_t* outputs;
  size_t weights_bytes;
};

namespace bnn {

// Verifies `bytes` completely and builds `model` (whose byte fields the
// caller set), its tables from `alloc`. On failure writes the reason to
// `error` and returns the status.
bnn_status LoadModel(bnn_model* model, Allocator* alloc, ErrorBuffer* error);
void FreeModelTables(bnn_model* model);

}  // namespace bnn

namespace bnn {

inline int PrepareContext::num_inputs() const { return op_->num_inputs; }
inline int PrepareContext::num_outputs() const { return op_->num_outputs; }
inline const TensorDesc* PrepareContext::input(int i) const {
  if (i < 0 || i >= op_->num_inputs || op_->inputs[i] < 0) return nullptr;
  return &model_->tensors[op_->inputs[i]];
}
inline const TensorDesc* PrepareContext::output(int i) const {
  if (i < 0 || i >= op_->num_outputs || op_->outputs[i] < 0) return nullptr;
  return &model_->tensors[op_->outputs[i]];
}
template <class P>
P* PrepareContext::params() const {
  static_assert(sizeof(P) <= kMaxOpParams, "operator parameters too large");
  static_assert(alignof(P) <= 16, "operator parameters over-aligned");
  return reinterpret_cast<P*>(op_->params);
}

template <class T>
T* EvalContext::in(int i) const {
  return static_cast<T*>(op->inputs[i] < 0 ? nullptr : data[op->inputs[i]]);
}
template <class T>
T* EvalContext::out(int i) const {
  return static_cast<T*>(data[op->outputs[i]]);
}

template <class P>
const P& Params(const OpDesc& op) {
  return *reinterpret_cast<const P*>(op.params);
}

// Elements of a tensor (product of its dims).
inline size_t Elements(const TensorDesc& t) {
  size_t n = 1;
  for (int i = 0; i < t.rank; ++i) n *= static_cast<size_t>(t.dims[i]);
  return n;
}

}  // namespace bnn
