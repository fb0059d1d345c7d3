// Real-valued layers around the binary ones: float convolution (first layer,
// shortcuts, depthwise), fully-connected, max/average/global-average pooling.
// The arithmetic follows the float contract of bnn_kernels.h, so every SIMD
// target gives the same bits.
//
// CONV2D / DEPTHWISE_CONV2D inputs: 0 x F32 [N, H, W, C], 1 weights F32 constant
// [O, KH, KW, C / groups], 2 bias F32 constant [O] (optional). DEPTHWISE_CONV2D
// is CONV2D with groups = C. On S8 input and weights (the int8 first layer),
// inputs 2 and 3 are the output transform's constants as for BCONV2D and the
// output may be F32, S8, S32 or packed bits.
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
  // Int8 input and weights (CONV2D on S8 tensors): the output transform's
  // inputs 2, 3 as for BCONV2D.
  bool int8;
  const int8_t* weights_s8;
  int32_t zero_point;
  bnn_output_transform transform;
};

bnn_status Int8ConvPrepare(PrepareContext& ctx, bool depthwise, FConvParams* p) {
  const fb::Conv2DOptions* o = nullptr;
  if (bnn_status s = PrepareConvShape(ctx, BNN_DTYPE_S8, depthwise, &p->shape, &o)) return s;
  if (static_cast<uint64_t>(p->shape.kernel_h) * p->shape.kernel_w * (p->shape.in_c / p->shape.groups) > (1u << 16))
    return ctx.Fail("an int8 convolution sums at most 65536 products per output");
  if (bnn_status s = PrepareTransform(ctx, ctx.output(0), p->shape.out_c, o->activation(), o->clip_min(),
                                      o->clip_max(), &p->transform))
    return s;
  p->int8 = true;
  p->weights_s8 = static_cast<const int8_t*>(ctx.input(1)->constant);
  p->zero_point = ctx.input(0)->zero_point;
  return BNN_OK;
}

bnn_status FConvPrepareCommon(PrepareContext& ctx, bool depthwise) {
  FConvParams* p = ctx.params<FConvParams>();
  memset(p, 0, sizeof *p);
  if (ctx.input(0) && ctx.input(0)->dtype == BNN_DTYPE_S8) return Int8ConvPrepare(ctx, depthwise, p);
  const fb::Conv2DOptions* o = nullptr;
  if (bnn_status s = PrepareConvShape(ctx, BNN_DTYPE_F32, depthwise, &p->shape, &o)) return s;
  if (bnn_status s = RequireTensor(ctx, ctx.output(0), "output", BNN_DTYPE_F32, 4)) return s;
  if (bnn_status s = OptionalBias(ctx, p->shape.out_c, &p->bias)) return s;
  if (bnn_status s = ActivationRange(ctx, o->activation(), o->clip_min(), o->clip_max(), &p->lo, &p->hi)) return s;
  p->weights = static_cast<const float*>(ctx.input(1)->constant);
  return BNN_OK;
}

bnn_status FConvPrepare(PrepareContext& ctx) { return FConvPrepareCommon(ctx, false); }
bnn_status DepthwisePrepare(PrepareContext& ctx) { return FConvPrepareCommon(ctx, true); }

MemoryRequest FConvMemory(const OpDesc& op, const bnn_kernel_table* k) {
  const FConvParams& p = Params<FConvParams>(op);
  MemoryRequest r;
  r.persistent_bytes = p.int8 ? k->iconv2d_weights_size(&p.shape) : k->fconv2d_weights_size(&p.shape);
  r.scratch_bytes = p.int8 ? k->iconv2d_scratch_size(&p.shape) : k->fconv2d_scratch_size(&p.shape);
  return r;
}

void FConvInit(const OpDesc& op, const bnn_kernel_table* k, void* persistent) {
  const FConvParams& p = Params<FConvParams>(op);
  if (!persistent) return;
  if (p.int8)
    k->iconv2d_pack_weights(&p.shape, p.weights_s8, persistent);
  else
    k->fconv2d_pack_weights(&p.shape, p.weights, persistent);
}

void RunFConv(const EvalContext& ctx, const FConvParams& p, const bnn_conv_shape& shape, const void* in, void* out) {
  if (p.int8) {
    ctx.kernels->iconv2d(&shape, static_cast<const int8_t*>(in), p.zero_point,
                         ctx.persistent ? ctx.persistent : p.weights_s8, &p.transform, out, ctx.scratch);
    return;
  }
  ctx.kernels->fconv2d(&shape, static_cast<const float*>(in), ctx.persistent ? ctx.persistent : p.weights, p.bias,
                       p.lo, p.hi, static_cast<float*>(out), ctx.scratch);
}

void FConvEval(const EvalContext& ctx) {
  const FConvParams& p = Params<FConvParams>(*ctx.op);
  RunFConv(ctx, p, p.shape, ctx.in<const void>(0), ctx.out<void>(0));
}

bool FConvBandRows(const OpDesc& op, int out0, int out1, int* in0, int* in1) {
  return ConvBandRows(Params<FConvParams>(op).shape, out0, out1, in0, in1);
}

void FConvEvalBand(const EvalContext& ctx, const RowBand& band) {
  const FConvParams& p = Params<FConvParams>(*ctx.op);
  RunFConv(ctx, p, ConvBandShape(p.shape, band), band.in, band.out);
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
  if (bnn_status s = PrepareFcShape(ctx, BNN_DTYPE_F32, &p->shape)) return s;
  if (bnn_status s = RequireTensor(ctx, ctx.output(0), "output", BNN_DTYPE_F32, -1)) return s;
  if (bnn_status s = OptionalBias(ctx, p->shape.n, &p->bias)) return s;
  const fb::FullyConnectedOptions* o = ctx.op()->fb->options_as_FullyConnectedOptions();
  if (bnn_status s = ActivationRange(ctx, o ? o->activation() : fb::Activation::NONE, o ? o->clip_min() : 0,
                                     o ? o->clip_max() : 0, &p->lo, &p->hi))
    return s;
  p->weights = static_cast<const float*>(ctx.input(1)->constant);
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

bool PoolBandRowsOf(const OpDesc& op, int out0, int out1, int* in0, int* in1) {
  return PoolBandRows(Params<PoolParams>(op).shape, out0, out1, in0, in1);
}

void MaxPoolEvalBand(const EvalContext& ctx, const RowBand& band) {
  const bnn_pool_shape s = PoolBandShape(Params<PoolParams>(*ctx.op).shape, band);
  ctx.kernels->maxpool_f32(&s, static_cast<const float*>(band.in), static_cast<float*>(band.out));
}

void AvgPoolEvalBand(const EvalContext& ctx, const RowBand& band) {
  const PoolParams& p = Params<PoolParams>(*ctx.op);
  const bnn_pool_shape s = PoolBandShape(p.shape, band);
  ctx.kernels->avgpool_f32(&s, static_cast<const float*>(band.in), p.count_include_pad, static_cast<float*>(band.out));
}

}  // namespace

extern const OpKernel kConv2D = {"CONV2D", FConvPrepare, FConvMemory, FConvInit, FConvEval, FConvBandRows,
                                  FConvEvalBand};
extern const OpKernel kDepthwiseConv2D = {"DEPTHWISE_CONV2D", DepthwisePrepare, FConvMemory, FConvInit, FConvEval,
                                          FConvBandRows, FConvEvalBand};
extern const OpKernel kFullyConnected = {"FULLY_CONNECTED", FcPrepare, FcMemory, FcInit, FcEval, nullptr, nullptr};
extern const OpKernel kMaxPool2D = {"MAXPOOL2D", MaxPoolPrepare, nullptr, nullptr, MaxPoolEval, PoolBandRowsOf,
                                     MaxPoolEvalBand};
extern const OpKernel kAvgPool2D = {"AVGPOOL2D", AvgPoolPrepare, nullptr, nullptr, AvgPoolEval, PoolBandRowsOf,
                                    AvgPoolEvalBand};
extern const OpKernel kGlobalAvgPool = {"GLOBAL_AVGPOOL", GlobalAvgPoolPrepare, nullptr, nullptr, AvgPoolEval, nullptr, nullptr};

}  // namespace bnn
