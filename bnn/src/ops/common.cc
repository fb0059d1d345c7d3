#include "common.h"

#include <string.h>

namespace bnn {

const char* DtypeName(int dtype) {
  switch (dtype) {
    case BNN_DTYPE_F32: return "F32";
    case BNN_DTYPE_S8: return "S8";
    case BNN_DTYPE_S32: return "S32";
    case BNN_DTYPE_BITS: return "BITS";
    case BNN_DTYPE_U8: return "U8";
  }
  return "?";
}

bnn_status RequireTensor(PrepareContext& ctx, const TensorDesc* t, const char* what, int dtype, int rank) {
  if (!t) return ctx.Fail("%s is missing", what);
  if (dtype >= 0 && t->dtype != dtype)
    return ctx.Fail("%s ('%s') is %s, expected %s", what, t->name, DtypeName(t->dtype), DtypeName(dtype));
  if (rank >= 0 && t->rank != rank) return ctx.Fail("%s ('%s') has rank %d, expected %d", what, t->name, t->rank, rank);
  return BNN_OK;
}

bnn_status RequireConstant(PrepareContext& ctx, const TensorDesc* t, const char* what, bnn_dtype dtype,
                           size_t elements) {
  if (bnn_status s = RequireTensor(ctx, t, what, dtype, -1)) return s;
  if (!t->constant) return ctx.Fail("%s ('%s') must be a constant", what, t->name);
  if (Elements(*t) != elements)
    return ctx.Fail("%s ('%s') has %zu elements, expected %zu", what, t->name, Elements(*t), elements);
  return BNN_OK;
}

bool SameShape(const TensorDesc& a, const TensorDesc& b) {
  if (a.rank != b.rank) return false;
  for (int i = 0; i < a.rank; ++i)
    if (a.dims[i] != b.dims[i]) return false;
  return true;
}

bnn_status RequireShape(PrepareContext& ctx, const TensorDesc* t, const char* what, int rank, const int32_t* dims) {
  bool same = t->rank == rank;
  for (int i = 0; same && i < rank; ++i) same = t->dims[i] == dims[i];
  if (same) return BNN_OK;
  char want[96] = "", have[96] = "";
  for (int i = 0, n = 0; i < rank; ++i) n += snprintf(want + n, sizeof want - n, i ? "x%d" : "%d", dims[i]);
  for (int i = 0, n = 0; i < t->rank; ++i) n += snprintf(have + n, sizeof have - n, i ? "x%d" : "%d", t->dims[i]);
  return ctx.Fail("%s ('%s') has shape %s, the operator produces %s", what, t->name, have, want);
}

static bool InRange(int v, int lo, int hi) { return v >= lo && v <= hi; }

bnn_status ConvGeometry(PrepareContext& ctx, const fb::Conv2DOptions* o, bnn_conv_shape* s) {
  if (!o) return ctx.Fail("convolution options are missing");
  if (!InRange(o->stride_h(), 1, 64) || !InRange(o->stride_w(), 1, 64))
    return ctx.Fail("stride %dx%d out of range 1..64", o->stride_h(), o->stride_w());
  if (!InRange(o->dilation_h(), 1, 64) || !InRange(o->dilation_w(), 1, 64))
    return ctx.Fail("dilation %dx%d out of range 1..64", o->dilation_h(), o->dilation_w());
  s->stride_h = static_cast<uint32_t>(o->stride_h());
  s->stride_w = static_cast<uint32_t>(o->stride_w());
  s->dilation_h = static_cast<uint32_t>(o->dilation_h());
  s->dilation_w = static_cast<uint32_t>(o->dilation_w());
  switch (o->padding()) {
    case fb::Padding::VALID: bnn_conv_same_padding(s, 0); break;
    case fb::Padding::SAME: bnn_conv_same_padding(s, 1); break;
    case fb::Padding::EXPLICIT:
      if (!InRange(o->pad_top(), 0, 1024) || !InRange(o->pad_left(), 0, 1024) || !InRange(o->pad_bottom(), 0, 1024) ||
          !InRange(o->pad_right(), 0, 1024))
        return ctx.Fail("explicit padding out of range 0..1024");
      s->pad_top = static_cast<uint32_t>(o->pad_top());
      s->pad_left = static_cast<uint32_t>(o->pad_left());
      s->pad_bottom = static_cast<uint32_t>(o->pad_bottom());
      s->pad_right = static_cast<uint32_t>(o->pad_right());
      break;
    default: return ctx.Fail("unknown padding mode %d", static_cast<int>(o->padding()));
  }
  if (o->pad_value() != fb::PadValue::ZERO && o->pad_value() != fb::PadValue::ONE)
    return ctx.Fail("unknown pad value %d", static_cast<int>(o->pad_value()));
  s->pad_value = o->pad_value() == fb::PadValue::ONE ? BNN_PAD_ONE : BNN_PAD_ZERO;
  return BNN_OK;
}

bnn_status PoolGeometry(PrepareContext& ctx, const fb::PoolOptions* o, bnn_pool_shape* s) {
  if (!o) return ctx.Fail("pooling options are missing");
  if (!InRange(o->kernel_h(), 1, 1024) || !InRange(o->kernel_w(), 1, 1024))
    return ctx.Fail("pool window %dx%d out of range 1..1024", o->kernel_h(), o->kernel_w());
  if (!InRange(o->stride_h(), 1, 1024) || !InRange(o->stride_w(), 1, 1024))
    return ctx.Fail("stride %dx%d out of range 1..1024", o->stride_h(), o->stride_w());
  s->pool_h = static_cast<uint32_t>(o->kernel_h());
  s->pool_w = static_cast<uint32_t>(o->kernel_w());
  s->stride_h = static_cast<uint32_t>(o->stride_h());
  s->stride_w = static_cast<uint32_t>(o->stride_w());
  // SAME via the convolution rule (dilation 1).
  bnn_conv_shape c{};
  c.in_h = s->in_h;
  c.in_w = s->in_w;
  c.kernel_h = s->pool_h;
  c.kernel_w = s->pool_w;
  c.stride_h = s->stride_h;
  c.stride_w = s->stride_w;
  c.dilation_h = c.dilation_w = 1;
  switch (o->padding()) {
    case fb::Padding::VALID: bnn_conv_same_padding(&c, 0); break;
    case fb::Padding::SAME: bnn_conv_same_padding(&c, 1); break;
    case fb::Padding::EXPLICIT:
      if (!InRange(o->pad_top(), 0, 1024) || !InRange(o->pad_left(), 0, 1024) || !InRange(o->pad_bottom(), 0, 1024) ||
          !InRange(o->pad_right(), 0, 1024))
        return ctx.Fail("explicit padding out of range 0..1024");
      c.pad_top = static_cast<uint32_t>(o->pad_top());
      c.pad_left = static_cast<uint32_t>(o->pad_left());
      c.pad_bottom = static_cast<uint32_t>(o->pad_bottom());
      c.pad_right = static_cast<uint32_t>(o->pad_right());
      break;
    default: return ctx.Fail("unknown padding mode %d", static_cast<int>(o->padding()));
  }
  s->pad_top = c.pad_top;
  s->pad_left = c.pad_left;
  s->pad_bottom = c.pad_bottom;
  s->pad_right = c.pad_right;
  if (!bnn_pool_shape_valid(s))
    return ctx.Fail("pool window %ux%u, stride %ux%u, padding %u/%u/%u/%u does not fit the %ux%u input (each pad must be smaller than the window)",
                    s->pool_h, s->pool_w, s->stride_h, s->stride_w, s->pad_top, s->pad_left, s->pad_bottom,
                    s->pad_right, s->in_h, s->in_w);
  return BNN_OK;
}

bnn_status PrepareTransform(PrepareContext& ctx, const TensorDesc* out, uint32_t channels, fb::Activation act,
                            float clip_min, float clip_max, bnn_output_transform* t) {
  memset(t, 0, sizeof *t);
  switch (out->dtype) {
    case BNN_DTYPE_S32: t->type = BNN_OUTPUT_S32; return BNN_OK;
    case BNN_DTYPE_BITS: {
      t->type = BNN_OUTPUT_BITS;
      if (bnn_status s = RequireConstant(ctx, ctx.input(2), "threshold (input 2)", BNN_DTYPE_S32, channels)) return s;
      if (bnn_status s = RequireConstant(ctx, ctx.input(3), "direction (input 3)", BNN_DTYPE_S32, channels)) return s;
      t->threshold = static_cast<const int32_t*>(ctx.input(2)->constant);
      t->direction = static_cast<const int32_t*>(ctx.input(3)->constant);
      return BNN_OK;
    }
    case BNN_DTYPE_F32:
    case BNN_DTYPE_S8: {
      t->type = out->dtype == BNN_DTYPE_F32 ? BNN_OUTPUT_F32 : BNN_OUTPUT_S8;
      if (bnn_status s = RequireConstant(ctx, ctx.input(2), "multiplier (input 2)", BNN_DTYPE_F32, channels)) return s;
      if (bnn_status s = RequireConstant(ctx, ctx.input(3), "bias (input 3)", BNN_DTYPE_F32, channels)) return s;
      t->multiplier = static_cast<const float*>(ctx.input(2)->constant);
      t->bias = static_cast<const float*>(ctx.input(3)->constant);
      for (uint32_t c = 0; c < channels; ++c)
        if (!isfinite(t->multiplier[c]) || !isfinite(t->bias[c]))
          return ctx.Fail("multiplier or bias of channel %u is not finite", c);
      return ActivationRange(ctx, act, clip_min, clip_max, &t->clamp_min, &t->clamp_max);
    }
    default: return ctx.Fail("output ('%s') type %s is not F32, S8, S32 or BITS", out->name, DtypeName(out->dtype));
  }
}

bnn_status PrepareConvShape(PrepareContext& ctx, bnn_dtype dtype, bool depthwise, bnn_conv_shape* s,
                            const fb::Conv2DOptions** options) {
  const TensorDesc* x = ctx.input(0);
  const TensorDesc* w = ctx.input(1);
  const TensorDesc* y = ctx.output(0);
  if (bnn_status st = RequireTensor(ctx, x, "input 0", dtype, 4)) return st;
  if (bnn_status st = RequireTensor(ctx, w, "weights (input 1)", dtype, 4)) return st;
  if (!w->constant) return ctx.Fail("weights ('%s') must be a constant", w->name);
  if (!y) return ctx.Fail("output is missing");
  const fb::Conv2DOptions* o = ctx.op()->fb->options_as_Conv2DOptions();
  memset(s, 0, sizeof *s);
  s->batch = static_cast<uint32_t>(x->dims[0]);
  s->in_h = static_cast<uint32_t>(x->dims[1]);
  s->in_w = static_cast<uint32_t>(x->dims[2]);
  s->in_c = static_cast<uint32_t>(x->dims[3]);
  s->out_c = static_cast<uint32_t>(w->dims[0]);
  s->kernel_h = static_cast<uint32_t>(w->dims[1]);
  s->kernel_w = static_cast<uint32_t>(w->dims[2]);
  if (bnn_status st = ConvGeometry(ctx, o, s)) return st;  // fails when o is null
  if (o->groups() < 1) return ctx.Fail("groups %d must be at least 1", o->groups());
  if (depthwise && o->groups() != 1 && static_cast<uint32_t>(o->groups()) != s->in_c)
    return ctx.Fail("a depthwise convolution has one group per input channel (%u), not %d", s->in_c, o->groups());
  s->groups = depthwise ? s->in_c : static_cast<uint32_t>(o->groups());
  if ((o->kernel_h() && o->kernel_h() != w->dims[1]) || (o->kernel_w() && o->kernel_w() != w->dims[2]))
    return ctx.Fail("options say a %dx%d kernel, the weights are %dx%d", o->kernel_h(), o->kernel_w(), w->dims[1],
                    w->dims[2]);
  if (s->in_c % s->groups || s->out_c % s->groups)
    return ctx.Fail("%u groups do not divide %u input and %u output channels", s->groups, s->in_c, s->out_c);
  if (static_cast<uint32_t>(w->dims[3]) != s->in_c / s->groups)
    return ctx.Fail("weights have %d input channels per group, the input gives %u", w->dims[3], s->in_c / s->groups);
  if (!(dtype == BNN_DTYPE_BITS ? bnn_conv_shape_valid(s) : bnn_fconv_shape_valid(s)))
    return ctx.Fail("the convolution has no output or too large a kernel");
  const int32_t dims[4] = {x->dims[0], static_cast<int32_t>(bnn_conv_out_h(s)), static_cast<int32_t>(bnn_conv_out_w(s)),
                           static_cast<int32_t>(s->out_c)};
  if (bnn_status st = RequireShape(ctx, y, "output", 4, dims)) return st;
  ctx.op()->macs = static_cast<double>(dims[0]) * dims[1] * dims[2] * s->out_c * s->kernel_h * s->kernel_w *
                   (s->in_c / s->groups);
  *options = o;
  return BNN_OK;
}

bnn_status PrepareFcShape(PrepareContext& ctx, bnn_dtype dtype, bnn_gemm_shape* s) {
  const TensorDesc* x = ctx.input(0);
  const TensorDesc* w = ctx.input(1);
  const TensorDesc* y = ctx.output(0);
  if (bnn_status st = RequireTensor(ctx, x, "input 0", dtype, -1)) return st;
  if (x->rank == 0) return ctx.Fail("input ('%s') needs a feature dimension", x->name);
  if (bnn_status st = RequireTensor(ctx, w, "weights (input 1)", dtype, 2)) return st;
  if (!w->constant) return ctx.Fail("weights ('%s') must be a constant", w->name);
  if (!y) return ctx.Fail("output is missing");
  const int32_t k = x->dims[x->rank - 1];
  if (w->dims[1] != k) return ctx.Fail("weights take %d inputs, the input has %d", w->dims[1], k);
  const size_t rows = Elements(*x) / static_cast<size_t>(k);
  if (rows > (1u << 24)) return ctx.Fail("%zu rows is too many", rows);
  *s = {static_cast<uint32_t>(rows), static_cast<uint32_t>(w->dims[0]), static_cast<uint32_t>(k)};
  int32_t dims[BNN_MAX_DIMS];
  for (int i = 0; i < x->rank - 1; ++i) dims[i] = x->dims[i];
  dims[x->rank - 1] = w->dims[0];
  if (bnn_status st = RequireShape(ctx, y, "output", x->rank, dims)) return st;
  ctx.op()->macs = static_cast<double>(rows) * s->n * s->k;
  return BNN_OK;
}

bnn_status ActivationRange(PrepareContext& ctx, fb::Activation a, float clip_min, float clip_max, float* lo,
                           float* hi) {
  switch (a) {
    case fb::Activation::NONE: *lo = -INFINITY; *hi = INFINITY; return BNN_OK;
    case fb::Activation::RELU: *lo = 0.0f; *hi = INFINITY; return BNN_OK;
    case fb::Activation::RELU6: *lo = 0.0f; *hi = 6.0f; return BNN_OK;
    case fb::Activation::CLIP:
      if (!(clip_min <= clip_max)) return ctx.Fail("clip range [%g, %g] is empty or NaN", clip_min, clip_max);
      *lo = clip_min;
      *hi = clip_max;
      return BNN_OK;
  }
  return ctx.Fail("unknown activation %d", static_cast<int>(a));
}

bool WindowBandRows(uint32_t in_h, uint32_t pad_top, uint32_t extent, uint32_t stride, int out0, int out1, int* in0,
                    int* in1) {
  const int64_t first = int64_t{out0} * stride - pad_top;
  const int64_t end = int64_t{out1 - 1} * stride - pad_top + extent;
  *in0 = static_cast<int>(first < 0 ? 0 : first);
  *in1 = static_cast<int>(end > in_h ? in_h : end);
  return out1 > out0 && *in1 > *in0;
}

namespace {

// Padding above and below the band's input rows for output rows [out0, out1).
void BandPadding(uint32_t pad_top, uint32_t extent, uint32_t stride, const RowBand& b, uint32_t* top,
                 uint32_t* bottom) {
  const int64_t first = int64_t{b.out0} * stride - pad_top;
  const int64_t end = int64_t{b.out1 - 1} * stride - pad_top + extent;
  *top = static_cast<uint32_t>(b.in0 - first);
  *bottom = static_cast<uint32_t>(end - b.in1);
}

}  // namespace

bool ConvBandRows(const bnn_conv_shape& s, int out0, int out1, int* in0, int* in1) {
  const uint32_t extent = (s.kernel_h - 1) * s.dilation_h + 1;
  return s.batch == 1 && WindowBandRows(s.in_h, s.pad_top, extent, s.stride_h, out0, out1, in0, in1);
}

bnn_conv_shape ConvBandShape(const bnn_conv_shape& s, const RowBand& band) {
  bnn_conv_shape b = s;
  b.in_h = static_cast<uint32_t>(band.in1 - band.in0);
  BandPadding(s.pad_top, (s.kernel_h - 1) * s.dilation_h + 1, s.stride_h, band, &b.pad_top, &b.pad_bottom);
  return b;
}

bool PoolBandRows(const bnn_pool_shape& s, int out0, int out1, int* in0, int* in1) {
  return s.batch == 1 && WindowBandRows(s.in_h, s.pad_top, s.pool_h, s.stride_h, out0, out1, in0, in1);
}

bnn_pool_shape PoolBandShape(const bnn_pool_shape& s, const RowBand& band) {
  bnn_pool_shape b = s;
  b.in_h = static_cast<uint32_t>(band.in1 - band.in0);
  BandPadding(s.pad_top, s.pool_h, s.stride_h, band, &b.pad_top, &b.pad_bottom);
  return b;
}

}  // namespace bnn
