// Real-valued element-wise operators on F32 tensors: activations, softmax,
// add/multiply with broadcasting of a per-channel or scalar operand, and
// int8 quantise/dequantise.
#include <string.h>

#include "common.h"

namespace bnn {
namespace {

// ---- unary activations: y = f(x), same shape -------------------------------

struct UnaryParams {
  size_t count, channels;
  float a, b;            // CLIP: [a, b]; LEAKY_RELU: alpha = a
  const float* slope;    // PRELU: [channels] (or 1 shared)
  size_t slope_count;
  size_t line;           // elements in one row (dims[2] x dims[3]) of a batch-1 4-D tensor, else 0: bands
};

// Elements in one row (dims[2] x dims[3]) of a batch-1 4-D tensor, else 0.
size_t RowElements(const TensorDesc& x) {
  return x.rank == 4 && x.dims[0] == 1 ? static_cast<size_t>(x.dims[2]) * static_cast<size_t>(x.dims[3]) : 0;
}

bnn_status UnaryShape(PrepareContext& ctx, UnaryParams* p) {
  const TensorDesc* x = ctx.input(0);
  const TensorDesc* y = ctx.output(0);
  if (bnn_status s = RequireTensor(ctx, x, "input 0", BNN_DTYPE_F32, -1)) return s;
  if (bnn_status s = RequireTensor(ctx, y, "output", BNN_DTYPE_F32, -1)) return s;
  if (bnn_status s = RequireShape(ctx, y, "output", x->rank, x->dims)) return s;
  p->count = Elements(*x);
  p->channels = x->rank ? static_cast<size_t>(x->dims[x->rank - 1]) : 1;
  p->line = RowElements(*x);
  return BNN_OK;
}

// Element-wise operators map each row to itself; bands need the row size
// their parameters record (0: not a batch-1 4-D tensor).
template <class P, size_t P::*kLine>
bool SameRows(const OpDesc& op, int out0, int out1, int* in0, int* in1) {
  *in0 = out0;
  *in1 = out1;
  return Params<P>(op).*kLine != 0 && out1 > out0;
}
constexpr auto UnaryBandRows = SameRows<UnaryParams, &UnaryParams::line>;

bnn_status ReluPrepare(PrepareContext& ctx) { return UnaryShape(ctx, ctx.params<UnaryParams>()); }
void Relu(const float* x, size_t count, float* y) {
  for (size_t i = 0; i < count; ++i) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}
void ReluEval(const EvalContext& ctx) {
  Relu(ctx.in<const float>(0), Params<UnaryParams>(*ctx.op).count, ctx.out<float>(0));
}
void ReluEvalBand(const EvalContext& ctx, const RowBand& b) {
  Relu(static_cast<const float*>(b.in), static_cast<size_t>(b.out1 - b.out0) * Params<UnaryParams>(*ctx.op).line,
       static_cast<float*>(b.out));
}

bnn_status ClipPrepare(PrepareContext& ctx) {
  UnaryParams* p = ctx.params<UnaryParams>();
  if (bnn_status s = UnaryShape(ctx, p)) return s;
  const fb::ClipOptions* o = ctx.op()->fb->options_as_ClipOptions();
  if (!o) return ctx.Fail("clip options are missing");
  if (!(o->min() <= o->max())) return ctx.Fail("clip range [%g, %g] is empty or NaN", o->min(), o->max());
  p->a = o->min();
  p->b = o->max();
  return BNN_OK;
}
void ClipEval(const EvalContext& ctx) {
  const UnaryParams& p = Params<UnaryParams>(*ctx.op);
  const float* x = ctx.in<const float>(0);
  float* y = ctx.out<float>(0);
  for (size_t i = 0; i < p.count; ++i) y[i] = fminf(fmaxf(x[i], p.a), p.b);
}

bnn_status LeakyReluPrepare(PrepareContext& ctx) {
  UnaryParams* p = ctx.params<UnaryParams>();
  if (bnn_status s = UnaryShape(ctx, p)) return s;
  const fb::LeakyReluOptions* o = ctx.op()->fb->options_as_LeakyReluOptions();
  p->a = o ? o->alpha() : 0.01f;
  if (!isfinite(p->a)) return ctx.Fail("alpha is not finite");
  return BNN_OK;
}
// Leaky ReLU is PReLU with one shared slope.
void LeakyReluEval(const EvalContext& ctx) {
  const UnaryParams& p = Params<UnaryParams>(*ctx.op);
  ctx.kernels->prelu_f32(ctx.in<const float>(0), p.count, &p.a, 1, ctx.out<float>(0));
}

// PRELU: input 1 is the slope, F32 constant with one value per channel (last
// dimension) or a single shared value.
bnn_status PReluPrepare(PrepareContext& ctx) {
  UnaryParams* p = ctx.params<UnaryParams>();
  if (bnn_status s = UnaryShape(ctx, p)) return s;
  const TensorDesc* slope = ctx.input(1);
  if (bnn_status s = RequireTensor(ctx, slope, "slope (input 1)", BNN_DTYPE_F32, -1)) return s;
  if (!slope->constant) return ctx.Fail("slope must be a constant");
  p->slope_count = Elements(*slope);
  if (p->slope_count != 1 && p->slope_count != p->channels)
    return ctx.Fail("slope has %zu values; expected 1 or one per channel (%zu)", p->slope_count, p->channels);
  p->slope = static_cast<const float*>(slope->constant);
  return BNN_OK;
}
// `count` is a whole number of pixels.
void PRelu(const EvalContext& ctx, const UnaryParams& p, const float* x, size_t count, float* y) {
  ctx.kernels->prelu_f32(x, count, p.slope, p.slope_count == 1 ? 1 : p.channels, y);
}
void PReluEval(const EvalContext& ctx) {
  const UnaryParams& p = Params<UnaryParams>(*ctx.op);
  PRelu(ctx, p, ctx.in<const float>(0), p.count, ctx.out<float>(0));
}
void PReluEvalBand(const EvalContext& ctx, const RowBand& b) {
  const UnaryParams& p = Params<UnaryParams>(*ctx.op);
  PRelu(ctx, p, static_cast<const float*>(b.in), static_cast<size_t>(b.out1 - b.out0) * p.line,
        static_cast<float*>(b.out));
}

bnn_status SigmoidPrepare(PrepareContext& ctx) { return UnaryShape(ctx, ctx.params<UnaryParams>()); }
void SigmoidEval(const EvalContext& ctx) {
  const UnaryParams& p = Params<UnaryParams>(*ctx.op);
  const float* x = ctx.in<const float>(0);
  float* y = ctx.out<float>(0);
  for (size_t i = 0; i < p.count; ++i) y[i] = 1.0f / (1.0f + expf(-x[i]));
}

// SOFTMAX over the last dimension, numerically stable (max subtracted).
bnn_status SoftmaxPrepare(PrepareContext& ctx) {
  UnaryParams* p = ctx.params<UnaryParams>();
  if (bnn_status s = UnaryShape(ctx, p)) return s;
  const fb::SoftmaxOptions* o = ctx.op()->fb->options_as_SoftmaxOptions();
  p->a = o ? o->beta() : 1.0f;
  if (!isfinite(p->a) || p->a <= 0.0f) return ctx.Fail("beta must be positive and finite");
  return BNN_OK;
}
void SoftmaxEval(const EvalContext& ctx) {
  const UnaryParams& p = Params<UnaryParams>(*ctx.op);
  const float* x = ctx.in<const float>(0);
  float* y = ctx.out<float>(0);
  for (size_t i = 0; i < p.count; i += p.channels) {
    float m = x[i];
    for (size_t c = 1; c < p.channels; ++c) m = fmaxf(m, x[i + c]);
    float sum = 0.0f;
    for (size_t c = 0; c < p.channels; ++c) sum += (y[i + c] = expf(p.a * (x[i + c] - m)));
    const float inv = 1.0f / sum;
    for (size_t c = 0; c < p.channels; ++c) y[i + c] *= inv;
  }
}

// ---- binary element-wise: ADD, MUL ---------------------------------------------
// b is the same shape as a, one value per channel (last dimension) or one value.

struct BinaryParams {
  size_t count, b_count;
  float lo, hi;
};

bnn_status BinaryPrepare(PrepareContext& ctx) {
  BinaryParams* p = ctx.params<BinaryParams>();
  const TensorDesc* a = ctx.input(0);
  const TensorDesc* b = ctx.input(1);
  const TensorDesc* y = ctx.output(0);
  if (bnn_status s = RequireTensor(ctx, a, "input 0", BNN_DTYPE_F32, -1)) return s;
  if (bnn_status s = RequireTensor(ctx, b, "input 1", BNN_DTYPE_F32, -1)) return s;
  if (bnn_status s = RequireTensor(ctx, y, "output", BNN_DTYPE_F32, -1)) return s;
  if (bnn_status s = RequireShape(ctx, y, "output", a->rank, a->dims)) return s;
  p->count = Elements(*a);
  p->b_count = Elements(*b);
  const size_t channels = a->rank ? static_cast<size_t>(a->dims[a->rank - 1]) : 1;
  if (!(SameShape(*a, *b) || p->b_count == 1 || (p->b_count == channels && b->dims[b->rank - 1] == a->dims[a->rank - 1])))
    return ctx.Fail("input 1 ('%s') broadcasts to input 0 ('%s') neither fully, per channel nor as a scalar", b->name,
                    a->name);
  const fb::ElementwiseOptions* o = ctx.op()->fb->options_as_ElementwiseOptions();
  return ActivationRange(ctx, o ? o->activation() : fb::Activation::NONE, o ? o->clip_min() : 0,
                         o ? o->clip_max() : 0, &p->lo, &p->hi);
}

template <bool kMul>
void BinaryEval(const EvalContext& ctx) {
  const BinaryParams& p = Params<BinaryParams>(*ctx.op);
  const float* a = ctx.in<const float>(0);
  const float* b = ctx.in<const float>(1);
  float* y = ctx.out<float>(0);
  if (!kMul && p.b_count == p.count) {  // the residual shortcut: the SIMD kernel
    ctx.kernels->add_f32(a, b, p.count, p.lo, p.hi, y);
    return;
  }
  if (!kMul && p.b_count > 1) {  // a per-channel bias: the same kernel, pixel by pixel
    for (size_t i = 0; i < p.count; i += p.b_count) ctx.kernels->add_f32(a + i, b, p.b_count, p.lo, p.hi, y + i);
    return;
  }
  for (size_t i = 0; i < p.count; i += p.b_count) {
    const size_t n = p.count - i < p.b_count ? p.count - i : p.b_count;
    for (size_t j = 0; j < n; ++j) {
      float v = kMul ? a[i + j] * b[j] : a[i + j] + b[j];
      v = v < p.lo ? p.lo : v;  // the float contract's clamp (bnn_kernels.h)
      y[i + j] = v > p.hi ? p.hi : v;
    }
  }
}

}  // namespace

bool ResidualAdd(const OpDesc& op, float* clamp_min, float* clamp_max) {
  if (op.fb->type() != fb::OpType::ADD) return false;
  const BinaryParams& p = Params<BinaryParams>(op);
  if (p.b_count != p.count) return false;
  *clamp_min = p.lo;
  *clamp_max = p.hi;
  return true;
}

namespace {

// ---- QUANTIZE (F32 -> S8/U8) and DEQUANTIZE (S8/U8 -> F32) ---------------------

struct QuantParams {
  size_t count;
  size_t line;  // elements in one row of a batch-1 4-D tensor, else 0: bands
  float scale;
  int32_t zero_point;
  bool u8;
};

bnn_status QuantPrepare(PrepareContext& ctx, bool quantize) {
  QuantParams* p = ctx.params<QuantParams>();
  const TensorDesc* x = ctx.input(0);
  const TensorDesc* y = ctx.output(0);
  if (bnn_status s = RequireTensor(ctx, x, "input 0", quantize ? BNN_DTYPE_F32 : -1, -1)) return s;
  if (bnn_status s = RequireTensor(ctx, y, "output", quantize ? -1 : BNN_DTYPE_F32, x->rank)) return s;
  if (bnn_status s = RequireShape(ctx, y, "output", x->rank, x->dims)) return s;
  const TensorDesc* q = quantize ? y : x;
  if (q->dtype != BNN_DTYPE_S8 && q->dtype != BNN_DTYPE_U8)
    return ctx.Fail("'%s' must be S8 or U8", q->name);
  if (!(q->scale > 0.0f)) return ctx.Fail("'%s' has no quantisation scale", q->name);
  p->count = Elements(*x);
  p->line = RowElements(*x);
  p->scale = q->scale;
  p->zero_point = q->zero_point;
  p->u8 = q->dtype == BNN_DTYPE_U8;
  return BNN_OK;
}
bnn_status QuantizePrepare(PrepareContext& ctx) { return QuantPrepare(ctx, true); }
bnn_status DequantizePrepare(PrepareContext& ctx) { return QuantPrepare(ctx, false); }

void QuantizeEval(const EvalContext& ctx) {
  const QuantParams& p = Params<QuantParams>(*ctx.op);
  ctx.kernels->quantize_f32(ctx.in<const float>(0), p.count, p.scale, p.zero_point, p.u8, ctx.out<void>(0));
}
// Row to row, like the other element-wise operators: an int8 stem (QUANTIZE
// before the first convolution) can run in bands.
constexpr auto QuantizeBandRows = SameRows<QuantParams, &QuantParams::line>;
void QuantizeEvalBand(const EvalContext& ctx, const RowBand& b) {
  const QuantParams& p = Params<QuantParams>(*ctx.op);
  ctx.kernels->quantize_f32(static_cast<const float*>(b.in), static_cast<size_t>(b.out1 - b.out0) * p.line, p.scale,
                            p.zero_point, p.u8, b.out);
}

void DequantizeEval(const EvalContext& ctx) {
  const QuantParams& p = Params<QuantParams>(*ctx.op);
  float* y = ctx.out<float>(0);
  for (size_t i = 0; i < p.count; ++i) {
    const int32_t q = p.u8 ? ctx.in<const uint8_t>(0)[i] : ctx.in<const int8_t>(0)[i];
    y[i] = static_cast<float>(q - p.zero_point) * p.scale;
  }
}

// ---- NORMALIZE (U8 pixels -> F32) ---------------------------------------------
// A camera frame straight into the model: per output channel, a gather from
// the frame's channels (BGR or BGRA frames feed an RGB model), then the
// model's normalisation (pixel / 255 - mean) / std folded into scale and bias.

constexpr int kMaxNormalizeChannels = 4;

struct NormalizeParams {
  size_t pixels;
  size_t line_pixels;  // pixels in one row of a batch-1 input, else 0: bands
  int in_channels, out_channels;
  int channel_map[kMaxNormalizeChannels];
  float scale[kMaxNormalizeChannels], bias[kMaxNormalizeChannels];
};

bnn_status NormalizePrepare(PrepareContext& ctx) {
  NormalizeParams* p = ctx.params<NormalizeParams>();
  const TensorDesc* x = ctx.input(0);
  const TensorDesc* y = ctx.output(0);
  if (bnn_status s = RequireTensor(ctx, x, "input 0", BNN_DTYPE_U8, 4)) return s;
  if (bnn_status s = RequireTensor(ctx, y, "output", BNN_DTYPE_F32, 4)) return s;
  const fb::NormalizeOptions* o = ctx.op()->fb->options_as_NormalizeOptions();
  if (!o || !o->channel_map() || !o->scale() || !o->bias()) return ctx.Fail("NORMALIZE needs its options");
  const int out_c = static_cast<int>(o->channel_map()->size());
  if (out_c < 1 || out_c > kMaxNormalizeChannels || o->scale()->size() != o->channel_map()->size() ||
      o->bias()->size() != o->channel_map()->size())
    return ctx.Fail("NORMALIZE takes 1 to %d channels with one scale and bias each", kMaxNormalizeChannels);
  const int32_t want[4] = {x->dims[0], x->dims[1], x->dims[2], out_c};
  if (bnn_status s = RequireShape(ctx, y, "output", 4, want)) return s;
  if (x->dims[3] < 1 || x->dims[3] > kMaxNormalizeChannels)
    return ctx.Fail("'%s' has %d channels (NORMALIZE reads 1 to %d)", x->name, x->dims[3], kMaxNormalizeChannels);
  p->pixels = Elements(*x) / static_cast<size_t>(x->dims[3]);
  p->line_pixels = x->dims[0] == 1 ? static_cast<size_t>(x->dims[2]) : 0;
  p->in_channels = x->dims[3];
  p->out_channels = out_c;
  for (int c = 0; c < out_c; ++c) {
    const int32_t src = o->channel_map()->Get(static_cast<flatbuffers::uoffset_t>(c));
    if (src < 0 || src >= x->dims[3]) return ctx.Fail("channel_map[%d] = %d is not a channel of '%s'", c, src, x->name);
    p->channel_map[c] = src;
    p->scale[c] = o->scale()->Get(static_cast<flatbuffers::uoffset_t>(c));
    p->bias[c] = o->bias()->Get(static_cast<flatbuffers::uoffset_t>(c));
    if (!isfinite(p->scale[c]) || !isfinite(p->bias[c])) return ctx.Fail("NORMALIZE's scale and bias must be finite");
  }
  return BNN_OK;
}

void Normalize(const NormalizeParams& p, const uint8_t* x, size_t pixels, float* y) {
  const size_t ic = static_cast<size_t>(p.in_channels), oc = static_cast<size_t>(p.out_channels);
  for (size_t i = 0; i < pixels; ++i, x += ic, y += oc)
    for (size_t c = 0; c < oc; ++c) y[c] = static_cast<float>(x[p.channel_map[c]]) * p.scale[c] + p.bias[c];
}
void NormalizeEval(const EvalContext& ctx) {
  const NormalizeParams& p = Params<NormalizeParams>(*ctx.op);
  Normalize(p, ctx.in<const uint8_t>(0), p.pixels, ctx.out<float>(0));
}
constexpr auto NormalizeBandRows = SameRows<NormalizeParams, &NormalizeParams::line_pixels>;
void NormalizeEvalBand(const EvalContext& ctx, const RowBand& b) {
  const NormalizeParams& p = Params<NormalizeParams>(*ctx.op);
  Normalize(p, static_cast<const uint8_t*>(b.in), static_cast<size_t>(b.out1 - b.out0) * p.line_pixels,
            static_cast<float*>(b.out));
}

}  // namespace

extern const OpKernel kRelu = {"RELU", ReluPrepare, nullptr, nullptr, ReluEval, UnaryBandRows, ReluEvalBand};
extern const OpKernel kClip = {"CLIP", ClipPrepare, nullptr, nullptr, ClipEval, nullptr, nullptr};
extern const OpKernel kLeakyRelu = {"LEAKY_RELU", LeakyReluPrepare, nullptr, nullptr, LeakyReluEval, nullptr, nullptr};
extern const OpKernel kPRelu = {"PRELU", PReluPrepare, nullptr, nullptr, PReluEval, UnaryBandRows, PReluEvalBand};
extern const OpKernel kSigmoid = {"SIGMOID", SigmoidPrepare, nullptr, nullptr, SigmoidEval, nullptr, nullptr};
extern const OpKernel kSoftmax = {"SOFTMAX", SoftmaxPrepare, nullptr, nullptr, SoftmaxEval, nullptr, nullptr};
extern const OpKernel kAdd = {"ADD", BinaryPrepare, nullptr, nullptr, BinaryEval<false>, nullptr, nullptr};
extern const OpKernel kMul = {"MUL", BinaryPrepare, nullptr, nullptr, BinaryEval<true>, nullptr, nullptr};
extern const OpKernel kQuantize = {"QUANTIZE", QuantizePrepare, nullptr, nullptr, QuantizeEval, QuantizeBandRows,
                                   QuantizeEvalBand};
extern const OpKernel kDequantize = {"DEQUANTIZE", DequantizePrepare, nullptr, nullptr, DequantizeEval, nullptr, nullptr};
extern const OpKernel kNormalize = {"NORMALIZE", NormalizePrepare, nullptr, nullptr, NormalizeEval, NormalizeBandRows,
                                    NormalizeEvalBand};

}  // namespace bnn
