// Real-valued layers around the binary ones: float convolution (first layer,
// shortcuts, depthwise), fully-connected, max/average/global-average pooling.
// The arithmetic follows the float contract of bnn_kernels.h, so every SIMD
// target gives the same bits.
//
// CONV2D / DEPTHWISE_CONV2D inputs: 0 x F32 [N, H, W, C], 1 weights F32 constant
// [O, KH, KW, C / groups], 2 bias F32 constant [O] (optional). DEPTHWISE_CONV2D
// is CONV2D with groups = C.
// FULLY_CONNECTED: 0 x F32 [..., K], 1 weights F32 constant [O, K], 2 bias (optional).
#include <string.h>

#include "common.h"

namespace bnn {
namespace {

bnn_status OptionalBias(PrepareContext& ctx, uint32_t channels, const float** bias) {
  *bias = nullptr;
  const TensorDesc* b = ctx.input(2);
  if (!b) return BNN_OK;
  if (bnn_status s = RequireConstant(ctx, b, "bias (input 2)", BNN_DTYPE_F32, channels)) return s;
  *bias = static_cast<const float*>(b->constant);
  return BNN_OK;
}

// ---- CONV2D, DEPTHWISE_CONV2D --------------------------------------------------

struct FConvParams {
  bnn_conv_shape shape;
  const float* weights;
  const float* bias;
  float lo, hi;
};

bnn_status FConvPrepareCommon(PrepareContext& ctx, bool depthwise) {
  FConvParams* p = ctx.params<FConvParams>();
  const TensorDesc* x = ctx.input(0);
  const TensorDesc* w = ctx.input(1);
  const TensorDesc* y = ctx.output(0);
  if (bnn_status s = RequireTensor(ctx, x, "input 0", BNN_DTYPE_F32, 4)) return s;
  if (bnn_status s = RequireTensor(ctx, w, "weights (input 1)", BNN_DTYPE_F32, 4)) return s;
  if (!w->constant) return ctx.Fail("weights ('%s') must be a constant", w->name);
  const fb::Conv2DOptions* o = ctx.op()->fb->options_as_Conv2DOptions();
  bnn_conv_shape& s = p->shape;
  memset(&s, 0, sizeof s);
  s.batch = static_cast<uint32_t>(x->dims[0]);
  s.in_h = static_cast<uint32_t>(x->dims[1]);
  s.in_w = static_cast<uint32_t>(x->dims[2]);
  s.in_c = static_cast<uint32_t>(x->dims[3]);
  s.out_c = static_cast<uint32_t>(w->dims[0]);
  s.kernel_h = static_cast<uint32_t>(w->dims[1]);
  s.kernel_w = static_cast<uint32_t>(w->dims[2]);
  if (bnn_status st = ConvGeometry(ctx, o, &s)) return st;
  if (o->groups() < 1) return ctx.Fail("groups %d must be at least 1", o->groups());
  s.groups = depthwise ? s.in_c : static_cast<uint32_t>(o->groups());
  if (depthwise && o->groups() != 1 && static_cast<uint32_t>(o->groups()) != s.in_c)
    return ctx.Fail("a depthwise convolution has one group per input channel (%u), not %d", s.in_c, o->groups());
  if (s.in_c % s.groups || s.out_c % s.groups)
    return ctx.Fail("%u groups do not divide %u input and %u output channels", s.groups, s.in_c, s.out_c);
  if (static_cast<uint32_t>(w->dims[3]) != s.in_c / s.groups)
    return ctx.Fail("weights have %d input channels per group, the input gives %u", w->dims[3], s.in_c / s.groups);
  if (!bnn_fconv_shape_valid(&s)) return ctx.Fail("the convolution has no output or too large a kernel");
  if (!y) return ctx.Fail("output is missing");
  if (bnn_status st = RequireTensor(ctx, y, "output", BNN_DTYPE_F32, 4)) return st;
  const int32_t dims[4] = {x->dims[0], static_cast<int32_t>(bnn_conv_out_h(&s)),
                           static_cast<int32_t>(bnn_conv_out_w(&s)), static_cast<int32_t>(s.out_c)};
  if (bnn_status st = RequireShape(ctx, y, "output", 4, dims)) return st;
  if (bnn_status st = OptionalBias(ctx, s.out_c, &p->bias)) return st;
  if (bnn_status st = ActivationRange(ctx, o->activation(), o->clip_min(), o->clip_max(), &p->lo, &p->hi)) return st;
  p->weights = static_cast<const float*>(w->constant);
  ctx.op()->macs = static_cast<double>(dims[0]) * dims[1] * dims[2] * s.out_c * s.kernel_h * s.kernel_w *
                   (s.in_c / s.groups);
  return BNN_OK;
}

bnn_status FConvPrepare(PrepareContext& ctx) { return FConvPrepareCommon(ctx, false); }
bnn_status DepthwisePrepare(PrepareContext& ctx) { return FConvPrepareCommon(ctx, true); }

MemoryRequest FConvMemory(const OpDesc& op, const bnn_kernel_table* k) {
  const FConvParams& p = Params<FConvParams>(op);
  MemoryRequest r;
  r.persistent_bytes = k->fconv2d_weights_size(&p.shape);
  r.scratch_bytes = k->fconv2d_scratch_size(&p.shape);
  return r;
}

void FConvInit(const OpDesc& op, const bnn_kernel_table* k, void* persistent) {
  const FConvParams& p = Params<FConvParams>(op);
  if (persistent) k->fconv2d_pack_weights(&p.shape, p.weights, persistent);
}

void FConvEval(const EvalContext& ctx) {
  const FConvParams& p = Params<FConvParams>(*ctx.op);
  ctx.kernels->fconv2d(&p.shape, ctx.in<const float>(0), ctx.persistent ? ctx.persistent : p.weights, p.bias, p.lo,
                       p.hi, ctx.out<float>(0), ctx.scratch);
}

// ---- FULLY_CONNECTED ---------------------------------------------------------------

struct FcParams {
  bnn_gemm_shape shape;
  const float* weights;
  const float* bias;
  float lo, hi;
};

bnn_status FcPrepare(PrepareContext& ctx) {
  FcParams* p = ctx.params<FcParams>();
  const TensorDesc* x = ctx.input(0);
  const TensorDesc* w = ctx.input(1);
  const TensorDesc* y = ctx.output(0);
  if (bnn_status s = RequireTensor(ctx, x, "input 0", BNN_DTYPE_F32, -1)) return s;
  if (x->rank == 0) return ctx.Fail("input ('%s') needs a feature dimension", x->name);
  if (bnn_status s = RequireTensor(ctx, w, "weights (input 1)", BNN_DTYPE_F32, 2)) return s;
  if (!w->constant) return ctx.Fail("weights ('%s') must be a constant", w->name);
  const int32_t k = x->dims[x->rank - 1];
  if (w->dims[1] != k) return ctx.Fail("weights take %d inputs, the input has %d", w->dims[1], k);
  const size_t rows = Elements(*x) / static_cast<size_t>(k);
  if (rows > (1u << 24)) return ctx.Fail("%zu rows is too many", rows);
  p->shape = {static_cast<uint32_t>(rows), static_cast<uint32_t>(w->dims[0]), static_cast<uint32_t>(k)};
  if (bnn_status s = RequireTensor(ctx, y, "output", BNN_DTYPE_F32, x->rank)) return s;
  int32_t dims[BNN_MAX_DIMS];
  for (int i = 0; i < x->rank - 1; ++i) dims[i] = x->dims[i];
  dims[x->rank - 1] = w->dims[0];
  if (bnn_status s = RequireShape(ctx, y, "output", x->rank, dims)) return s;
  if (bnn_status s = OptionalBias(ctx, p->shape.n, &p->bias)) return s;
  const fb::FullyConnectedOptions* o = ctx.op()->fb->options_as_FullyConnectedOptions();
  if (bnn_status s = ActivationRange(ctx, o ? o->activation() : fb::Activation::NONE, o ? o->clip_min() : 0,
                                     o ? o->clip_max() : 0, &p->lo, &p->hi))
    return s;
  p->weights = static_cast<const float*>(w->constant);
  ctx.op()->macs = static_cast<double>(rows) * p->shape.n * p->shape.k;
  return BNN_OK;
}

MemoryRequest FcMemory(const OpDesc& op, const bnn_kernel_table* k) {
  MemoryRequest r;
  r.persistent_bytes = k->ffc_weights_size(&Params<FcParams>(op).shape);
  return r;
}

void FcInit(const OpDesc& op, const bnn_kernel_table* k, void* persistent) {
  const FcParams& p = Params<FcParams>(op);
  if (persistent) k->ffc_pack_weights(&p.shape, p.weights, persistent);
}

void FcEval(const EvalContext& ctx) {
  const FcParams& p = Params<FcParams>(*ctx.op);
  ctx.kernels->ffc(&p.shape, ctx.in<const float>(0), ctx.persistent ? ctx.persistent : p.weights, p.bias, p.lo, p.hi,
                   ctx.out<float>(0));
}

// ---- MAXPOOL2D, AVGPOOL2D, GLOBAL_AVGPOOL ------------------------------------------

struct PoolParams {
  bnn_pool_shape shape;
  bool count_include_pad;
};

bnn_status PoolPrepare(PrepareContext& ctx, bool global) {
  PoolParams* p = ctx.params<PoolParams>();
  const TensorDesc* x = ctx.input(0);
  const TensorDesc* y = ctx.output(0);
  if (bnn_status s = RequireTensor(ctx, x, "input 0", BNN_DTYPE_F32, 4)) return s;
  if (bnn_status s = RequireTensor(ctx, y, "output", BNN_DTYPE_F32, 4)) return s;
  memset(p, 0, sizeof *p);
  if (global) {
    p->shape = bnn_global_pool_shape(static_cast<uint32_t>(x->dims[0]), static_cast<uint32_t>(x->dims[1]),
                                     static_cast<uint32_t>(x->dims[2]), static_cast<uint32_t>(x->dims[3]));
  } else {
    p->shape.batch = static_cast<uint32_t>(x->dims[0]);
    p->shape.in_h = static_cast<uint32_t>(x->dims[1]);
    p->shape.in_w = static_cast<uint32_t>(x->dims[2]);
    p->shape.channels = static_cast<uint32_t>(x->dims[3]);
    const fb::PoolOptions* o = ctx.op()->fb->options_as_PoolOptions();
    if (bnn_status s = PoolGeometry(ctx, o, &p->shape)) return s;
    p->count_include_pad = o->count_include_pad();
  }
  const int32_t dims[4] = {x->dims[0], static_cast<int32_t>(bnn_pool_out_h(&p->shape)),
                           static_cast<int32_t>(bnn_pool_out_w(&p->shape)), x->dims[3]};
  return RequireShape(ctx, y, "output", 4, dims);
}

bnn_status MaxPoolPrepare(PrepareContext& ctx) { return PoolPrepare(ctx, false); }
bnn_status AvgPoolPrepare(PrepareContext& ctx) { return PoolPrepare(ctx, false); }
bnn_status GlobalAvgPoolPrepare(PrepareContext& ctx) { return PoolPrepare(ctx, true); }

void MaxPoolEval(const EvalContext& ctx) {
  ctx.kernels->maxpool_f32(&Params<PoolParams>(*ctx.op).shape, ctx.in<const float>(0), ctx.out<float>(0));
}

void AvgPoolEval(const EvalContext& ctx) {
  const PoolParams& p = Params<PoolParams>(*ctx.op);
  ctx.kernels->avgpool_f32(&p.shape, ctx.in<const float>(0), p.count_include_pad, ctx.out<float>(0));
}

}  // namespace

extern const OpKernel kConv2D = {"CONV2D", FConvPrepare, FConvMemory, FConvInit, FConvEval};
extern const OpKernel kDepthwiseConv2D = {"DEPTHWISE_CONV2D", DepthwisePrepare, FConvMemory, FConvInit, FConvEval};
extern const OpKernel kFullyConnected = {"FULLY_CONNECTED", FcPrepare, FcMemory, FcInit, FcEval};
extern const OpKernel kMaxPool2D = {"MAXPOOL2D", MaxPoolPrepare, nullptr, nullptr, MaxPoolEval};
extern const OpKernel kAvgPool2D = {"AVGPOOL2D", AvgPoolPrepare, nullptr, nullptr, AvgPoolEval};
extern const OpKernel kGlobalAvgPool = {"GLOBAL_AVGPOOL", GlobalAvgPoolPrepare, nullptr, nullptr, AvgPoolEval};

}  // namespace bnn
