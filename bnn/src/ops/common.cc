#include "common.h"

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

}  // namespace bnn
