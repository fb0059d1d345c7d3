// Data-movement operators.
#include <string.h>

#include "common.h"

namespace bnn {
namespace {

// RESHAPE (and flatten): the output tensor's own shape is the new shape; the
// element count and type must match. Bytes are copied (packed-bit tensors
// only when the channel dimension is unchanged, so the words stay valid).
struct ReshapeParams {
  size_t bytes;
};

bnn_status ReshapePrepare(PrepareContext& ctx) {
  const TensorDesc* x = ctx.input(0);
  const TensorDesc* y = ctx.output(0);
  if (bnn_status s = RequireTensor(ctx, x, "input 0", -1, -1)) return s;
  if (bnn_status s = RequireTensor(ctx, y, "output", x->dtype, -1)) return s;
  if (Elements(*x) != Elements(*y))
    return ctx.Fail("input has %zu elements, output %zu", Elements(*x), Elements(*y));
  if (x->dtype == BNN_DTYPE_BITS && x->dims[x->rank - 1] != y->dims[y->rank - 1])
    return ctx.Fail("a packed-bit reshape must keep the channel dimension (%d -> %d)", x->dims[x->rank - 1],
                    y->dims[y->rank - 1]);
  ctx.params<ReshapeParams>()->bytes = x->bytes;
  return BNN_OK;
}

void ReshapeEval(const EvalContext& ctx) {
  memcpy(ctx.out<void>(0), ctx.in<const void>(0), Params<ReshapeParams>(*ctx.op).bytes);
}

size_t ElementBytes(bnn_dtype t) { return t == BNN_DTYPE_S8 || t == BNN_DTYPE_U8 ? 1 : 4; }

// Element-wise data movement works on F32, S32, S8 and U8 (not packed bits,
// whose elements are not addressable).
bnn_status RequireElements(PrepareContext& ctx, const TensorDesc* t, const char* what) {
  if (bnn_status s = RequireTensor(ctx, t, what, -1, -1)) return s;
  if (t->dtype == BNN_DTYPE_BITS) return ctx.Fail("%s ('%s') is packed bits; this operator needs elements", what, t->name);
  return BNN_OK;
}

// ---- CONCAT along one axis ---------------------------------------------------

struct ConcatParams {
  size_t outer, elem;  // product of dims before the axis; element bytes
  int count;
  size_t inner[16];    // bytes per outer step of each input
};

bnn_status ConcatPrepare(PrepareContext& ctx) {
  ConcatParams* p = ctx.params<ConcatParams>();
  const TensorDesc* y = ctx.output(0);
  const TensorDesc* a = ctx.input(0);
  if (bnn_status s = RequireElements(ctx, a, "input 0")) return s;
  if (bnn_status s = RequireTensor(ctx, y, "output", a->dtype, a->rank)) return s;
  const fb::ConcatOptions* o = ctx.op()->fb->options_as_ConcatOptions();
  int axis = o ? o->axis() : a->rank - 1;
  if (axis < 0) axis += a->rank;
  if (axis < 0 || axis >= a->rank) return ctx.Fail("axis %d out of range for rank %d", o ? o->axis() : 0, a->rank);
  int32_t dims[BNN_MAX_DIMS];
  memcpy(dims, a->dims, sizeof dims);
  dims[axis] = 0;
  p->count = ctx.num_inputs();
  if (p->count > 16) return ctx.Fail("%d inputs: at most 16 can be concatenated at once", p->count);
  p->elem = ElementBytes(a->dtype);
  p->outer = 1;
  for (int d = 0; d < axis; ++d) p->outer *= static_cast<size_t>(a->dims[d]);
  for (int i = 0; i < p->count; ++i) {
    const TensorDesc* t = ctx.input(i);
    if (bnn_status s = RequireTensor(ctx, t, "an input", a->dtype, a->rank)) return s;
    for (int d = 0; d < a->rank; ++d)
      if (d != axis && t->dims[d] != a->dims[d]) return ctx.Fail("input %d differs from input 0 in dimension %d", i, d);
    dims[axis] += t->dims[axis];
    p->inner[i] = t->bytes / p->outer;
  }
  return RequireShape(ctx, y, "output", a->rank, dims);
}

void ConcatEval(const EvalContext& ctx) {
  const ConcatParams& p = Params<ConcatParams>(*ctx.op);
  uint8_t* y = ctx.out<uint8_t>(0);
  for (size_t o = 0; o < p.outer; ++o)
    for (int i = 0; i < p.count; ++i) {
      memcpy(y, ctx.in<const uint8_t>(i) + o * p.inner[i], p.inner[i]);
      y += p.inner[i];
    }
}

// ---- TRANSPOSE -----------------------------------------------------------------

struct TransposeParams {
  int rank;
  size_t elem, count;
  int32_t out_dims[BNN_MAX_DIMS];
  size_t in_stride[BNN_MAX_DIMS];  // input stride (elements) of each output dimension
};

bnn_status TransposePrepare(PrepareContext& ctx) {
  TransposeParams* p = ctx.params<TransposeParams>();
  const TensorDesc* x = ctx.input(0);
  const TensorDesc* y = ctx.output(0);
  if (bnn_status s = RequireElements(ctx, x, "input 0")) return s;
  if (bnn_status s = RequireTensor(ctx, y, "output", x->dtype, x->rank)) return s;
  if (x->rank == 0) return ctx.Fail("a scalar has nothing to transpose");  // found by the fuzzer
  const fb::TransposeOptions* o = ctx.op()->fb->options_as_TransposeOptions();
  if (!o || !o->perm() || static_cast<int>(o->perm()->size()) != x->rank)
    return ctx.Fail("the permutation must list all %d dimensions", x->rank);
  size_t stride[BNN_MAX_DIMS];
  stride[x->rank - 1] = 1;
  for (int d = x->rank - 2; d >= 0; --d) stride[d] = stride[d + 1] * static_cast<size_t>(x->dims[d + 1]);
  bool seen[BNN_MAX_DIMS] = {};
  for (int d = 0; d < x->rank; ++d) {
    const int from = o->perm()->Get(static_cast<uint32_t>(d));
    if (from < 0 || from >= x->rank || seen[from]) return ctx.Fail("the permutation is not one of 0..%d", x->rank - 1);
    seen[from] = true;
    p->out_dims[d] = x->dims[from];
    p->in_stride[d] = stride[from];
  }
  p->rank = x->rank;
  p->elem = ElementBytes(x->dtype);
  p->count = Elements(*x);
  return RequireShape(ctx, y, "output", x->rank, p->out_dims);
}

void TransposeEval(const EvalContext& ctx) {
  const TransposeParams& p = Params<TransposeParams>(*ctx.op);
  const uint8_t* x = ctx.in<const uint8_t>(0);
  uint8_t* y = ctx.out<uint8_t>(0);
  int32_t index[BNN_MAX_DIMS] = {};
  size_t from = 0;
  for (size_t i = 0; i < p.count; ++i) {
    memcpy(y + i * p.elem, x + from * p.elem, p.elem);
    // Advance the output index like an odometer, tracking the input offset.
    for (int d = p.rank - 1; d >= 0; --d) {
      from += p.in_stride[d];
      if (++index[d] < p.out_dims[d]) break;
      from -= p.in_stride[d] * static_cast<size_t>(p.out_dims[d]);
      index[d] = 0;
    }
  }
}

// ---- PAD (constant value, F32) --------------------------------------------------

struct PadParams {
  int rank;
  int32_t in_dims[BNN_MAX_DIMS], before[BNN_MAX_DIMS], out_dims[BNN_MAX_DIMS];
  float value;
  size_t out_count;
};

bnn_status PadPrepare(PrepareContext& ctx) {
  PadParams* p = ctx.params<PadParams>();
  const TensorDesc* x = ctx.input(0);
  const TensorDesc* y = ctx.output(0);
  if (bnn_status s = RequireTensor(ctx, x, "input 0", BNN_DTYPE_F32, -1)) return s;
  if (bnn_status s = RequireTensor(ctx, y, "output", BNN_DTYPE_F32, x->rank)) return s;
  const fb::PadOptions* o = ctx.op()->fb->options_as_PadOptions();
  if (!o || !o->pads() || static_cast<int>(o->pads()->size()) != 2 * x->rank)
    return ctx.Fail("pads must hold %d values (before, then after, per dimension)", 2 * x->rank);
  p->rank = x->rank;
  p->value = o->value();
  for (int d = 0; d < x->rank; ++d) {
    const int32_t b = o->pads()->Get(static_cast<uint32_t>(d)), a = o->pads()->Get(static_cast<uint32_t>(d + x->rank));
    if (b < 0 || a < 0 || b > (1 << 16) || a > (1 << 16)) return ctx.Fail("pad of dimension %d out of range 0..65536", d);
    p->in_dims[d] = x->dims[d];
    p->before[d] = b;
    p->out_dims[d] = x->dims[d] + b + a;
  }
  if (bnn_status s = RequireShape(ctx, y, "output", x->rank, p->out_dims)) return s;
  p->out_count = Elements(*y);
  return BNN_OK;
}

void PadEval(const EvalContext& ctx) {
  const PadParams& p = Params<PadParams>(*ctx.op);
  const float* x = ctx.in<const float>(0);
  float* y = ctx.out<float>(0);
  int32_t index[BNN_MAX_DIMS] = {};
  for (size_t i = 0; i < p.out_count; ++i) {
    size_t from = 0;
    bool inside = true;
    for (int d = 0; d < p.rank && inside; ++d) {
      const int32_t k = index[d] - p.before[d];
      inside = k >= 0 && k < p.in_dims[d];
      from = from * static_cast<size_t>(p.in_dims[d]) + static_cast<size_t>(k);
    }
    y[i] = inside ? x[from] : p.value;
    for (int d = p.rank - 1; d >= 0; --d) {
      if (++index[d] < p.out_dims[d]) break;
      index[d] = 0;
    }
  }
}

// ---- RESIZE (NHWC F32): nearest or bilinear ----------------------------------
// Source coordinate of output pixel o: align_corners: o * (in - 1) / (out - 1);
// half_pixel_centers: (o + 0.5) * in / out - 0.5; otherwise o * in / out
// (PyTorch's nearest and ONNX's asymmetric). Nearest takes the floor.

struct ResizeParams {
  uint32_t batch, in_h, in_w, out_h, out_w, channels;
  bool bilinear, align_corners, half_pixel;
};

bnn_status ResizePrepare(PrepareContext& ctx) {
  ResizeParams* p = ctx.params<ResizeParams>();
  const TensorDesc* x = ctx.input(0);
  const TensorDesc* y = ctx.output(0);
  if (bnn_status s = RequireTensor(ctx, x, "input 0", BNN_DTYPE_F32, 4)) return s;
  if (bnn_status s = RequireTensor(ctx, y, "output", BNN_DTYPE_F32, 4)) return s;
  const fb::ResizeOptions* o = ctx.op()->fb->options_as_ResizeOptions();
  if (!o) return ctx.Fail("resize options are missing");
  if (o->out_h() < 1 || o->out_w() < 1 || o->out_h() > (1 << 16) || o->out_w() > (1 << 16))
    return ctx.Fail("output size %dx%d out of range", o->out_h(), o->out_w());
  if (o->mode() != fb::ResizeMode::NEAREST && o->mode() != fb::ResizeMode::BILINEAR)
    return ctx.Fail("unknown resize mode %d", static_cast<int>(o->mode()));
  if (o->align_corners() && o->half_pixel_centers()) return ctx.Fail("align_corners and half_pixel_centers exclude each other");
  *p = {static_cast<uint32_t>(x->dims[0]), static_cast<uint32_t>(x->dims[1]), static_cast<uint32_t>(x->dims[2]),
        static_cast<uint32_t>(o->out_h()), static_cast<uint32_t>(o->out_w()), static_cast<uint32_t>(x->dims[3]),
        o->mode() == fb::ResizeMode::BILINEAR, o->align_corners(), o->half_pixel_centers()};
  const int32_t dims[4] = {x->dims[0], o->out_h(), o->out_w(), x->dims[3]};
  return RequireShape(ctx, y, "output", 4, dims);
}

float SourceCoordinate(const ResizeParams& p, uint32_t o, uint32_t in, uint32_t out) {
  if (p.align_corners) return out > 1 ? static_cast<float>(o) * static_cast<float>(in - 1) / static_cast<float>(out - 1) : 0.0f;
  if (p.half_pixel) return (static_cast<float>(o) + 0.5f) * static_cast<float>(in) / static_cast<float>(out) - 0.5f;
  return static_cast<float>(o) * static_cast<float>(in) / static_cast<float>(out);
}

void ResizeEval(const EvalContext& ctx) {
  const ResizeParams& p = Params<ResizeParams>(*ctx.op);
  const float* x = ctx.in<const float>(0);
  float* y = ctx.out<float>(0);
  const size_t c = p.channels;
  for (uint32_t b = 0; b < p.batch; ++b) {
    const float* image = x + static_cast<size_t>(b) * p.in_h * p.in_w * c;
    for (uint32_t oy = 0; oy < p.out_h; ++oy) {
      const float sy = fmaxf(SourceCoordinate(p, oy, p.in_h, p.out_h), 0.0f);
      const uint32_t y0 = static_cast<uint32_t>(fminf(floorf(sy), static_cast<float>(p.in_h - 1)));
      const uint32_t y1 = y0 + 1 < p.in_h ? y0 + 1 : y0;
      const float fy = sy - static_cast<float>(y0);
      for (uint32_t ox = 0; ox < p.out_w; ++ox, y += c) {
        const float sx = fmaxf(SourceCoordinate(p, ox, p.in_w, p.out_w), 0.0f);
        const uint32_t x0 = static_cast<uint32_t>(fminf(floorf(sx), static_cast<float>(p.in_w - 1)));
        const uint32_t x1 = x0 + 1 < p.in_w ? x0 + 1 : x0;
        const float* a = image + (static_cast<size_t>(y0) * p.in_w + x0) * c;
        if (!p.bilinear) {
          memcpy(y, a, c * sizeof(float));
          continue;
        }
        const float fx = sx - static_cast<float>(x0);
        const float* bq = image + (static_cast<size_t>(y0) * p.in_w + x1) * c;
        const float* cq = image + (static_cast<size_t>(y1) * p.in_w + x0) * c;
        const float* d = image + (static_cast<size_t>(y1) * p.in_w + x1) * c;
        for (size_t k = 0; k < c; ++k) {
          const float top = a[k] + (bq[k] - a[k]) * fx;
          const float bottom = cq[k] + (d[k] - cq[k]) * fx;
          y[k] = top + (bottom - top) * fy;
        }
      }
    }
  }
}

}  // namespace

extern const OpKernel kReshape = {"RESHAPE", ReshapePrepare, nullptr, nullptr, ReshapeEval, nullptr, nullptr};
extern const OpKernel kConcat = {"CONCAT", ConcatPrepare, nullptr, nullptr, ConcatEval, nullptr, nullptr};
extern const OpKernel kTranspose = {"TRANSPOSE", TransposePrepare, nullptr, nullptr, TransposeEval, nullptr, nullptr};
extern const OpKernel kPad = {"PAD", PadPrepare, nullptr, nullptr, PadEval, nullptr, nullptr};
extern const OpKernel kResize = {"RESIZE", ResizePrepare, nullptr, nullptr, ResizeEval, nullptr, nullptr};

}  // namespace bnn
