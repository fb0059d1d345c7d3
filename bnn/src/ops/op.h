// The operator interface. Each operator is a table of four functions:
//   prepare  at model load: validate every parameter and shape, fill params;
//   memory   at interpreter creation: persistent (re-packed weights) and
//            scratch bytes for the chosen kernels;
//   init     at interpreter creation: fill the persistent memory;
//   eval     at invoke: run; never fails, never allocates.
// Row-local operators (NHWC, batch 1, one activation input whose output rows
// depend on a band of its rows) also give band_rows and eval_band, so that
// the interpreter can run a chain of them band by band (patch-based
// inference, interpreter.cc) with bit-identical results.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "bnn/bnn.h"
#include "bnn_kernels.h"
#include "error.h"

struct bnn_model;

namespace bnn {

constexpr size_t kMaxOpParams = 320;

struct TensorDesc;
struct OpDesc;

class PrepareContext {
 public:
  PrepareContext(const bnn_model* model, OpDesc* op, ErrorBuffer* error)
      : model_(model), op_(op), error_(error) {}
  // nullptr when the operator has fewer tensors or the index is -1 (absent).
  const TensorDesc* input(int i) const;
  const TensorDesc* output(int i) const;
  int num_inputs() const;
  int num_outputs() const;
  OpDesc* op() const { return op_; }
  // "operator #3 (BCONV2D 'stage1.conv2'): <message>", status INVALID_MODEL.
  bnn_status Fail(const char* format, ...) BNN_PRINTF(2, 3);
  template <class P>
  P* params() const;

 private:
  const bnn_model* model_;
  OpDesc* op_;
  ErrorBuffer* error_;
};

struct MemoryRequest {
  size_t persistent_bytes = 0;
  size_t scratch_bytes = 0;
};

struct EvalContext {
  const OpDesc* op;
  const bnn_kernel_table* kernels;
  void* const* data;  // every tensor's data, by tensor index
  void* persistent;   // this operator's, 64-byte aligned (or nullptr)
  void* scratch;      // this operator's, 64-byte aligned (or nullptr)

  template <class T>
  T* in(int i) const;
  template <class T>
  T* out(int i) const;
};

// A band of rows (dimension 1 of NHWC): `in` holds input rows [in0, in1)
// and `out` receives output rows [out0, out1), each buffer starting at its
// first row.
struct RowBand {
  const void* in;
  int in0, in1;
  void* out;
  int out0, out1;
};

struct OpKernel {
  const char* type_name;
  bnn_status (*prepare)(PrepareContext& ctx);
  MemoryRequest (*memory)(const OpDesc& op, const bnn_kernel_table* kernels);  // optional
  void (*init)(const OpDesc& op, const bnn_kernel_table* kernels, void* persistent);  // optional
  void (*eval)(const EvalContext& ctx);
  // Row-local operators only (both or neither): the input rows [*in0, *in1)
  // that output rows [out0, out1) read (clipped to the input: rows outside
  // it are padding), and eval on such a band. band_rows returns false when
  // this operator cannot run in bands (batch > 1, or the band would read no
  // input row).
  bool (*band_rows)(const OpDesc& op, int out0, int out1, int* in0, int* in1);
  void (*eval_band)(const EvalContext& ctx, const RowBand& band);
};

// The kernel for an fb::OpType value, or nullptr when this build has none.
const OpKernel* FindOpKernel(int op_type);

// ---- Residual fusion (interpreter.cc) ------------------------------------------
// A binary convolution whose F32 output y has no clamp and is read only by an
// ADD of y and a residual r of y's shape runs as one operator: the kernel's
// output transform adds r and applies the ADD's clamp (bnn_kernels.h), so
// y is never written and the ADD never runs. Bit-identical to the two.

// True for a BCONV2D with an F32 output and no clamp of its own.
bool ResidualFusable(const OpDesc& op);
// True for an ADD of two tensors of one shape (no broadcast), with its clamp.
bool ResidualAdd(const OpDesc& op, float* clamp_min, float* clamp_max);
// Runs a ResidualFusable operator (ctx: its own) writing clamp(y + residual)
// to `out` instead of y.
void EvalWithResidual(const EvalContext& ctx, const float* residual, float clamp_min, float clamp_max, float* out);

}  // namespace bnn
