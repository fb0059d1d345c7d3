// Binary operators: bit-packing, binary convolution, binary fully-connected,
// binary max-pool. Glue around the kernels (kernels/include/bnn_kernels.h).
//
// BCONV2D / BFULLY_CONNECTED inputs:
//   0  x        BITS [N, H, W, C] (conv) or [..., K] (fully-connected)
//   1  weights  BITS constant [O, KH, KW, C / groups] (conv) or [O, K]
//   2, 3        the output transform (bnn_kernels.h), by output type:
//               F32 or S8 output: multiplier F32 [O], bias F32 [O]
//               BITS output:      threshold S32 [O], direction S32 [O]
//               S32 output:       none
// The fused activation of the options becomes the clamp.
#include <math.h>
#include <string.h>

#include "common.h"

namespace bnn {
namespace {

// ---- BCONV2D ----------------------------------------------------------------

struct BConvParams {
  bnn_conv_shape shape;
  bnn_output_transform transform;
  const bnn_word* weights;  // canonical, in the model's data section
};

bnn_status BConvPrepare(PrepareContext& ctx) {
  BConvParams* p = ctx.params<BConvParams>();
  const fb::Conv2DOptions* o = nullptr;
  if (bnn_status s = PrepareConvShape(ctx, BNN_DTYPE_BITS, false, &p->shape, &o)) return s;
  if (bnn_status s = PrepareTransform(ctx, ctx.output(0), p->shape.out_c, o->activation(), o->clip_min(),
                                      o->clip_max(), &p->transform))
    return s;
  p->weights = static_cast<const bnn_word*>(ctx.input(1)->constant);
  return BNN_OK;
}

MemoryRequest BConvMemory(const OpDesc& op, const bnn_kernel_table* k) {
  const BConvParams& p = Params<BConvParams>(op);
  MemoryRequest r;
  r.persistent_bytes = k->bconv2d_weights_size(&p.shape);
  r.scratch_bytes = k->bconv2d_scratch_size(&p.shape);
  return r;
}

void BConvInit(const OpDesc& op, const bnn_kernel_table* k, void* persistent) {
  if (persistent)
    k->bconv2d_pack_weights(&Params<BConvParams>(op).shape, Params<BConvParams>(op).weights, persistent);
}

void BConvEval(const EvalContext& ctx) {
  const BConvParams& p = Params<BConvParams>(*ctx.op);
  const void* weights = ctx.persistent ? ctx.persistent : p.weights;
  ctx.kernels->bconv2d(&p.shape, ctx.in<const bnn_word>(0), weights, &p.transform, ctx.out<void>(0), ctx.scratch);
}

bool BConvBandRows(const OpDesc& op, int out0, int out1, int* in0, int* in1) {
  return ConvBandRows(Params<BConvParams>(op).shape, out0, out1, in0, in1);
}

void BConvEvalBand(const EvalContext& ctx, const RowBand& band) {
  const BConvParams& p = Params<BConvParams>(*ctx.op);
  const bnn_conv_shape s = ConvBandShape(p.shape, band);
  ctx.kernels->bconv2d(&s, static_cast<const bnn_word*>(band.in), ctx.persistent ? ctx.persistent : p.weights,
                       &p.transform, band.out, ctx.scratch);
}

}  // namespace

bool ResidualFusable(const OpDesc& op) {
  if (op.fb->type() != fb::OpType::BCONV2D) return false;
  const bnn_output_transform& t = Params<BConvParams>(op).transform;
  return t.type == BNN_OUTPUT_F32 && t.clamp_min == -HUGE_VALF && t.clamp_max == HUGE_VALF;
}

void EvalWithResidual(const EvalContext& ctx, const float* residual, float clamp_min, float clamp_max, float* out) {
  const BConvParams& p = Params<BConvParams>(*ctx.op);
  bnn_output_transform t = p.transform;
  t.residual = residual;
  t.clamp_min = clamp_min;
  t.clamp_max = clamp_max;
  ctx.kernels->bconv2d(&p.shape, ctx.in<const bnn_word>(0), ctx.persistent ? ctx.persistent : p.weights, &t, out,
                       ctx.scratch);
}

namespace {

// ---- BFULLY_CONNECTED -------------------------------------------------------

struct BFcParams {
  bnn_gemm_shape shape;
  bnn_output_transform transform;
  const bnn_word* weights;
};

bnn_status BFcPrepare(PrepareContext& ctx) {
  BFcParams* p = ctx.params<BFcParams>();
  if (bnn_status s = PrepareFcShape(ctx, BNN_DTYPE_BITS, &p->shape)) return s;
  const fb::FullyConnectedOptions* o = ctx.op()->fb->options_as_FullyConnectedOptions();
  if (bnn_status s = PrepareTransform(ctx, ctx.output(0), p->shape.n, o ? o->activation() : fb::Activation::NONE,
                                      o ? o->clip_min() : 0, o ? o->clip_max() : 0, &p->transform))
    return s;
  p->weights = static_cast<const bnn_word*>(ctx.input(1)->constant);
  return BNN_OK;
}

MemoryRequest BFcMemory(const OpDesc& op, const bnn_kernel_table* k) {
  MemoryRequest r;
  r.persistent_bytes = k->bgemm_weights_size(&Params<BFcParams>(op).shape);
  return r;
}

void BFcInit(const OpDesc& op, const bnn_kernel_table* k, void* persistent) {
  if (persistent)
    k->bgemm_pack_weights(&Params<BFcParams>(op).shape, Params<BFcParams>(op).weights, persistent);
}

void BFcEval(const EvalContext& ctx) {
  const BFcParams& p = Params<BFcParams>(*ctx.op);
  const void* weights = ctx.persistent ? ctx.persistent : p.weights;
  ctx.kernels->bgemm(&p.shape, ctx.in<const bnn_word>(0), weights, &p.transform, ctx.out<void>(0));
}

// ---- BMAXPOOL2D ---------------------------------------------------------------

bnn_status BMaxPoolPrepare(PrepareContext& ctx) {
  bnn_pool_shape* s = ctx.params<bnn_pool_shape>();
  const TensorDesc* x = ctx.input(0);
  const TensorDesc* y = ctx.output(0);
  if (bnn_status st = RequireTensor(ctx, x, "input 0", BNN_DTYPE_BITS, 4)) return st;
  if (bnn_status st = RequireTensor(ctx, y, "output", BNN_DTYPE_BITS, 4)) return st;
  memset(s, 0, sizeof *s);
  s->batch = static_cast<uint32_t>(x->dims[0]);
  s->in_h = static_cast<uint32_t>(x->dims[1]);
  s->in_w = static_cast<uint32_t>(x->dims[2]);
  s->channels = static_cast<uint32_t>(x->dims[3]);
  if (bnn_status st = PoolGeometry(ctx, ctx.op()->fb->options_as_PoolOptions(), s)) return st;
  const int32_t dims[4] = {x->dims[0], static_cast<int32_t>(bnn_pool_out_h(s)), static_cast<int32_t>(bnn_pool_out_w(s)),
                           x->dims[3]};
  return RequireShape(ctx, y, "output", 4, dims);
}

void BMaxPoolEval(const EvalContext& ctx) {
  ctx.kernels->bmaxpool(&Params<bnn_pool_shape>(*ctx.op), ctx.in<const bnn_word>(0), ctx.out<bnn_word>(0));
}

bool BMaxPoolBandRows(const OpDesc& op, int out0, int out1, int* in0, int* in1) {
  return PoolBandRows(Params<bnn_pool_shape>(op), out0, out1, in0, in1);
}

void BMaxPoolEvalBand(const EvalContext& ctx, const RowBand& band) {
  const bnn_pool_shape s = PoolBandShape(Params<bnn_pool_shape>(*ctx.op), band);
  ctx.kernels->bmaxpool(&s, static_cast<const bnn_word*>(band.in), static_cast<bnn_word*>(band.out));
}

// ---- BITPACK ------------------------------------------------------------------
// x F32 or S8 [..., C] -> BITS [..., C]. Optional input 1 (F32 input only):
// per-channel thresholds F32 [C] (x < threshold is -1), e.g. ReActNet's RSign.

struct BitpackParams {
  size_t rows, channels;
  size_t rows_per_line;  // rows (pixels) in one line of a 4-D input (dims[2]): bands of lines
  const float* threshold;
  int8_t zero_point;
  bool s8;
};

bnn_status BitpackPrepare(PrepareContext& ctx) {
  BitpackParams* p = ctx.params<BitpackParams>();
  const TensorDesc* x = ctx.input(0);
  const TensorDesc* y = ctx.output(0);
  if (bnn_status s = RequireTensor(ctx, x, "input 0", -1, -1)) return s;
  if (x->dtype != BNN_DTYPE_F32 && x->dtype != BNN_DTYPE_S8)
    return ctx.Fail("input ('%s') is %s; bit-packing takes F32 or S8", x->name, DtypeName(x->dtype));
  if (x->rank == 0) return ctx.Fail("input ('%s') needs a channel dimension", x->name);
  if (bnn_status s = RequireTensor(ctx, y, "output", BNN_DTYPE_BITS, x->rank)) return s;
  if (bnn_status s = RequireShape(ctx, y, "output", x->rank, x->dims)) return s;
  p->channels = static_cast<size_t>(x->dims[x->rank - 1]);
  p->rows = Elements(*x) / p->channels;
  p->rows_per_line = x->rank == 4 && x->dims[0] == 1 ? static_cast<size_t>(x->dims[2]) : 0;
  p->s8 = x->dtype == BNN_DTYPE_S8;
  p->zero_point = static_cast<int8_t>(x->zero_point);
  p->threshold = nullptr;
  if (const TensorDesc* t = ctx.input(1)) {
    if (p->s8) return ctx.Fail("thresholds apply to F32 input only");
    if (bnn_status s = RequireConstant(ctx, t, "thresholds (input 1)", BNN_DTYPE_F32, p->channels)) return s;
    p->threshold = static_cast<const float*>(t->constant);
  }
  return BNN_OK;
}

void RunBitpack(const EvalContext& ctx, const BitpackParams& p, const void* in, size_t rows, void* out) {
  if (p.s8)
    ctx.kernels->bitpack_s8(static_cast<const int8_t*>(in), rows, p.channels, p.zero_point, static_cast<bnn_word*>(out));
  else
    ctx.kernels->bitpack_f32(static_cast<const float*>(in), rows, p.channels, p.threshold, static_cast<bnn_word*>(out));
}

void BitpackEval(const EvalContext& ctx) {
  const BitpackParams& p = Params<BitpackParams>(*ctx.op);
  RunBitpack(ctx, p, ctx.in<const void>(0), p.rows, ctx.out<void>(0));
}

bool BitpackBandRows(const OpDesc& op, int out0, int out1, int* in0, int* in1) {
  *in0 = out0;
  *in1 = out1;
  return Params<BitpackParams>(op).rows_per_line != 0 && out1 > out0;
}

void BitpackEvalBand(const EvalContext& ctx, const RowBand& band) {
  const BitpackParams& p = Params<BitpackParams>(*ctx.op);
  RunBitpack(ctx, p, band.in, static_cast<size_t>(band.out1 - band.out0) * p.rows_per_line, band.out);
}

}  // namespace

extern const OpKernel kBConv2D = {"BCONV2D", BConvPrepare, BConvMemory, BConvInit, BConvEval, BConvBandRows,
                                   BConvEvalBand};
extern const OpKernel kBFullyConnected = {"BFULLY_CONNECTED", BFcPrepare, BFcMemory, BFcInit, BFcEval, nullptr, nullptr};
extern const OpKernel kBMaxPool2D = {"BMAXPOOL2D", BMaxPoolPrepare, nullptr, nullptr, BMaxPoolEval, BMaxPoolBandRows,
                                      BMaxPoolEvalBand};
extern const OpKernel kBitpack = {"BITPACK", BitpackPrepare, nullptr, nullptr, BitpackEval, BitpackBandRows,
                                  BitpackEvalBand};

}  // namespace bnn
