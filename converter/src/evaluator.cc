#include "evaluator.h"

#include <math.h>

#include <algorithm>
#include <functional>
#include <limits>
#include <numeric>
#include <set>

namespace bnnc {
namespace {

using Shape = std::vector<int64_t>;

int64_t Count(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

bool TooLarge(const Shape& s) { return ExceedsElementLimit(s); }

std::vector<int64_t> Strides(const Shape& s) {
  std::vector<int64_t> st(s.size(), 1);
  for (int k = int(s.size()) - 2; k >= 0; --k) st[k] = st[k + 1] * s[k + 1];
  return st;
}

// Numpy broadcasting of two shapes; false if they do not broadcast.
bool Broadcast(const Shape& a, const Shape& b, Shape* out) {
  const size_t r = std::max(a.size(), b.size());
  out->assign(r, 1);
  for (size_t k = 0; k < r; ++k) {
    const int64_t da = k < r - a.size() ? 1 : a[k - (r - a.size())];
    const int64_t db = k < r - b.size() ? 1 : b[k - (r - b.size())];
    if (da != db && da != 1 && db != 1) return false;
    (*out)[k] = da == 1 ? db : da;
  }
  return true;
}

// Index into `s` (broadcast to `out`) of the element at flat index `i` of `out`.
int64_t BroadcastIndex(const Shape& s, const Shape& out, const std::vector<int64_t>& out_strides, int64_t i) {
  int64_t idx = 0, stride = 1;
  for (int k = int(out.size()) - 1, j = int(s.size()) - 1; k >= 0; --k, --j) {
    const int64_t coord = (i / out_strides[k]) % out[k];
    if (j >= 0) {
      if (s[j] != 1) idx += coord * stride;
      stride *= s[j];
    }
  }
  return idx;
}

int64_t NormAxis(int64_t axis, size_t rank) { return axis < 0 ? axis + int64_t(rank) : axis; }

bool Fail(std::string* error, const Node& n, const std::string& what) {
  *error = n.Describe() + ": " + what;
  return false;
}

// Integer list from an input (opset >= 10/11/13 style) or an attribute.
bool IntList(const Node& n, const std::vector<const Value*>& in, size_t input, const char* attr,
             std::vector<int64_t>* out, bool* present) {
  *present = false;
  if (in.size() > input && in[input]) {
    const Value& v = *in[input];
    out->clear();
    for (int64_t k = 0; k < v.count(); ++k) out->push_back(SaturatingInt(v.at(k)));
    *present = true;
  } else if (n.has(attr)) {
    *out = n.Ints(attr);
    *present = true;
  }
  return true;
}

Value Elementwise(const Value& a, const std::function<double(double)>& f) {
  Value r;
  r.type = DType::F32;
  r.shape = a.shape;
  r.f.resize(a.count());
  for (int64_t k = 0; k < a.count(); ++k) r.f[k] = float(f(a.at(k)));
  return r;
}

bool Binary(const Node& n, const Value& a, const Value& b, const std::function<double(double, double)>& f,
            bool int_result, Value* r, std::string* error) {
  Shape out;
  if (!Broadcast(a.shape, b.shape, &out))
    return Fail(error, n, "shapes " + ShapeString(a.shape) + " and " + ShapeString(b.shape) + " do not broadcast");
  if (TooLarge(out)) return Fail(error, n, "the output would be larger than the interpreter's limit");
  const auto st = Strides(out);
  const int64_t count = Count(out);
  r->shape = out;
  r->type = int_result ? DType::I64 : DType::F32;
  if (int_result) r->i.resize(count); else r->f.resize(count);
  for (int64_t i = 0; i < count; ++i) {
    const double v = f(a.at(BroadcastIndex(a.shape, out, st, i)), b.at(BroadcastIndex(b.shape, out, st, i)));
    if (int_result) r->i[i] = SaturatingInt(v); else r->f[i] = float(v);
  }
  return true;
}

Value ToType(const Value& v, DType t) {
  if (v.type == t) return v;
  Value r;
  r.type = t;
  r.shape = v.shape;
  for (int64_t k = 0; k < v.count(); ++k) {
    if (t == DType::F32) r.f.push_back(float(v.at(k)));
    else r.i.push_back(SaturatingInt(v.at(k)));
  }
  return r;
}

// Copies element `src_index` of `src` to the end of `dst` (same type).
void Append(const Value& src, int64_t k, Value* dst) {
  if (src.type == DType::F32) dst->f.push_back(src.f[k]); else dst->i.push_back(src.i[k]);
}

// Spatial window geometry shared by Conv and pooling (NCHW, 2-D or 1-D).
struct Window {
  int64_t spatial = 0;  // 1 or 2 dims
  int64_t k[2] = {1, 1}, s[2] = {1, 1}, d[2] = {1, 1}, pb[2] = {0, 0}, pe[2] = {0, 0}, in[2] = {1, 1}, out[2] = {1, 1};
};

bool MakeWindow(const Node& n, const Shape& x, const std::vector<int64_t>& kernel, bool ceil_mode, Window* w,
                std::string* error) {
  if (x.size() != 3 && x.size() != 4) return Fail(error, n, "input must be 3-D or 4-D (NCW / NCHW), is " + ShapeString(x));
  w->spatial = int64_t(x.size()) - 2;
  if (int64_t(kernel.size()) != w->spatial) return Fail(error, n, "kernel_shape has the wrong rank");
  const auto strides = n.Ints("strides", std::vector<int64_t>(w->spatial, 1));
  const auto dil = n.Ints("dilations", std::vector<int64_t>(w->spatial, 1));
  auto pads = n.Ints("pads", std::vector<int64_t>(2 * w->spatial, 0));
  if (int64_t(strides.size()) != w->spatial || int64_t(dil.size()) != w->spatial || int64_t(pads.size()) != 2 * w->spatial)
    return Fail(error, n, "strides, dilations or pads have the wrong length");
  const std::string auto_pad = n.String("auto_pad", "NOTSET");
  for (int64_t a = 0; a < w->spatial; ++a) {
    w->k[a] = kernel[a];
    w->s[a] = strides[a];
    w->d[a] = dil[a];
    w->in[a] = x[2 + a];
    if (w->k[a] < 1 || w->s[a] < 1 || w->d[a] < 1) return Fail(error, n, "kernel, stride and dilation must be >= 1");
    const int64_t limit = int64_t(1) << 24;  // keeps the size arithmetic far from overflow
    if (w->k[a] > limit || w->s[a] > limit || w->d[a] > limit || pads[a] > limit || pads[a + w->spatial] > limit)
      return Fail(error, n, "kernel, stride, dilation or pads out of range");
    const int64_t ext = (w->k[a] - 1) * w->d[a] + 1;
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      const int64_t o = (w->in[a] + w->s[a] - 1) / w->s[a];
      const int64_t total = std::max<int64_t>(0, (o - 1) * w->s[a] + ext - w->in[a]);
      w->pb[a] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      w->pe[a] = total - w->pb[a];
    } else if (auto_pad == "VALID") {
      w->pb[a] = w->pe[a] = 0;
    } else if (auto_pad == "NOTSET") {
      w->pb[a] = pads[a];
      w->pe[a] = pads[a + w->spatial];
    } else {
      return Fail(error, n, "unknown auto_pad '" + auto_pad + "'");
    }
    if (w->pb[a] < 0 || w->pe[a] < 0) return Fail(error, n, "negative pads");
    const int64_t span = w->in[a] + w->pb[a] + w->pe[a] - ext;
    if (span < 0) return Fail(error, n, "the window is larger than the padded input");
    w->out[a] = (ceil_mode ? (span + w->s[a] - 1) / w->s[a] : span / w->s[a]) + 1;
    // ceil mode: the last window must start inside the input or left padding
    if (ceil_mode && (w->out[a] - 1) * w->s[a] >= w->in[a] + w->pb[a]) --w->out[a];
  }
  return true;
}

bool Conv(const Node& n, const std::vector<const Value*>& in, Value* r, std::string* error) {
  if (in.size() < 2 || !in[0] || !in[1]) return Fail(error, n, "needs X and W");
  const Value& x = *in[0];
  const Value& w = *in[1];
  const Value* b = in.size() > 2 ? in[2] : nullptr;
  if (x.shape.size() < 3 || w.shape.size() != x.shape.size()) return Fail(error, n, "X and W must have the same rank, 3 or 4");
  std::vector<int64_t> kernel(w.shape.begin() + 2, w.shape.end());
  if (n.has("kernel_shape") && n.Ints("kernel_shape") != kernel) return Fail(error, n, "kernel_shape disagrees with W");
  Window win;
  if (!MakeWindow(n, x.shape, kernel, false, &win, error)) return false;
  const int64_t group = n.Int("group", 1);
  const int64_t N = x.shape[0], C = x.shape[1], O = w.shape[0];
  if (group < 1 || C % group || O % group || w.shape[1] != C / group)
    return Fail(error, n, "channels " + std::to_string(C) + " and W " + ShapeString(w.shape) + " do not fit group " +
                              std::to_string(group));
  if (b && b->count() != O) return Fail(error, n, "bias has the wrong size");
  const int64_t cg = C / group, og = O / group;
  r->type = DType::F32;
  r->shape = {N, O, win.out[0]};
  if (win.spatial == 2) r->shape.push_back(win.out[1]);
  if (TooLarge(r->shape)) return Fail(error, n, "the output would be larger than the interpreter's limit");
  r->f.assign(Count(r->shape), 0.0f);
  const int64_t IH = win.in[0], IW = win.in[1], OH = win.out[0], OW = win.out[1];
  const int64_t KH = win.k[0], KW = win.k[1];
  for (int64_t nn = 0; nn < N; ++nn)
    for (int64_t o = 0; o < O; ++o) {
      const int64_t g = o / og;
      for (int64_t oy = 0; oy < OH; ++oy)
        for (int64_t ox = 0; ox < OW; ++ox) {
          double acc = b ? b->at(o) : 0.0;
          for (int64_t c = 0; c < cg; ++c)
            for (int64_t ky = 0; ky < KH; ++ky) {
              const int64_t iy = oy * win.s[0] - win.pb[0] + ky * win.d[0];
              if (iy < 0 || iy >= IH) continue;
              for (int64_t kx = 0; kx < KW; ++kx) {
                const int64_t ix = ox * win.s[1] - win.pb[1] + kx * win.d[1];
                if (ix < 0 || ix >= IW) continue;
                acc += double(x.f[((nn * C + g * cg + c) * IH + iy) * IW + ix]) *
                       double(w.f[((o * cg + c) * KH + ky) * KW + kx]);
              }
            }
          r->f[((nn * O + o) * OH + oy) * OW + ox] = float(acc);
        }
    }
  return true;
}

bool Pool(const Node& n, const Value& x, bool is_max, Value* r, std::string* error) {
  if (!n.has("kernel_shape")) return Fail(error, n, "kernel_shape is required");
  if (n.Int("storage_order", 0) != 0) return Fail(error, n, "storage_order 1 is not supported");
  Window win;
  if (!MakeWindow(n, x.shape, n.Ints("kernel_shape"), n.Int("ceil_mode", 0) != 0, &win, error)) return false;
  const bool include_pad = n.Int("count_include_pad", 0) != 0;
  const int64_t N = x.shape[0], C = x.shape[1], IH = win.in[0], IW = win.in[1], OH = win.out[0], OW = win.out[1];
  r->type = DType::F32;
  r->shape = {N, C, OH};
  if (win.spatial == 2) r->shape.push_back(OW);
  if (TooLarge(r->shape)) return Fail(error, n, "the output would be larger than the interpreter's limit");
  r->f.resize(Count(r->shape));
  for (int64_t p = 0; p < N * C; ++p)
    for (int64_t oy = 0; oy < OH; ++oy)
      for (int64_t ox = 0; ox < OW; ++ox) {
        double acc = is_max ? -std::numeric_limits<double>::infinity() : 0.0;
        int64_t cnt = 0, padded_cnt = 0;
        for (int64_t ky = 0; ky < win.k[0]; ++ky) {
          const int64_t iy = oy * win.s[0] - win.pb[0] + ky * win.d[0];
          for (int64_t kx = 0; kx < win.k[1]; ++kx) {
            const int64_t ix = ox * win.s[1] - win.pb[1] + kx * win.d[1];
            // count_include_pad counts the explicit padding, not the ceil-mode overhang
            if (iy < IH + win.pe[0] && ix < IW + win.pe[1]) ++padded_cnt;
            if (iy < 0 || iy >= IH || ix < 0 || ix >= IW) continue;
            const double v = x.f[(p * IH + iy) * IW + ix];
            acc = is_max ? std::max(acc, v) : acc + v;
            ++cnt;
          }
        }
        if (!is_max) acc = acc / double(include_pad ? padded_cnt : std::max<int64_t>(cnt, 1));
        r->f[(p * OH + oy) * OW + ox] = float(acc);
      }
  return true;
}

bool Reduce(const Node& n, const std::vector<const Value*>& in, int64_t opset, Value* r, std::string* error) {
  const Value& x = *in[0];
  std::vector<int64_t> axes;
  bool present = false;
  const bool axes_input = n.op == "ReduceSum" ? opset >= 13 : opset >= 18;
  IntList(n, axes_input ? in : std::vector<const Value*>{}, 1, "axes", &axes, &present);
  std::vector<bool> reduce(x.shape.size(), !present || axes.empty());
  if (present && axes.empty() && n.Int("noop_with_empty_axes", 0)) {
    *r = ToType(x, DType::F32);
    return true;
  }
  for (int64_t a : axes) {
    a = NormAxis(a, x.shape.size());
    if (a < 0 || a >= int64_t(x.shape.size())) return Fail(error, n, "axis out of range");
    reduce[a] = true;
  }
  const bool keep = n.Int("keepdims", 1) != 0;
  Shape out_keep;
  for (size_t k = 0; k < x.shape.size(); ++k) out_keep.push_back(reduce[k] ? 1 : x.shape[k]);
  const int64_t oc = Count(out_keep);
  std::vector<double> acc(oc, n.op == "ReduceMax" ? -INFINITY : n.op == "ReduceMin" ? INFINITY : 0.0);
  const auto st = Strides(x.shape), ost = Strides(out_keep);
  for (int64_t i = 0; i < x.count(); ++i) {
    int64_t o = 0;
    for (size_t k = 0; k < x.shape.size(); ++k)
      if (!reduce[k]) o += ((i / st[k]) % x.shape[k]) * ost[k];
    const double v = x.at(i);
    if (n.op == "ReduceMax") acc[o] = std::max(acc[o], v);
    else if (n.op == "ReduceMin") acc[o] = std::min(acc[o], v);
    else if (n.op == "ReduceL1") acc[o] += fabs(v);
    else if (n.op == "ReduceSumSquare" || n.op == "ReduceL2") acc[o] += v * v;
    else acc[o] += v;
  }
  const double per = oc ? double(x.count()) / double(oc) : 1.0;
  r->type = DType::F32;
  r->f.resize(oc);
  for (int64_t o = 0; o < oc; ++o)
    r->f[o] = float(n.op == "ReduceMean" ? acc[o] / per : n.op == "ReduceL2" ? sqrt(acc[o]) : acc[o]);
  r->shape.clear();
  for (size_t k = 0; k < x.shape.size(); ++k)
    if (!reduce[k] || keep) r->shape.push_back(reduce[k] ? 1 : x.shape[k]);
  return true;
}

bool Transpose(const Value& x, const std::vector<int64_t>& perm, Value* r) {
  const Shape& s = x.shape;
  Shape out(s.size());
  for (size_t k = 0; k < s.size(); ++k) out[k] = s[perm[k]];
  const auto ist = Strides(s), ost = Strides(out);
  r->type = x.type;
  r->shape = out;
  r->f.clear();
  r->i.clear();
  for (int64_t i = 0; i < x.count(); ++i) {
    int64_t src = 0;
    for (size_t k = 0; k < out.size(); ++k) src += ((i / ost[k]) % out[k]) * ist[perm[k]];
    Append(x, src, r);
  }
  return true;
}

bool Softmax(const Node& n, const Value& x, int64_t opset, bool log, Value* r, std::string* error) {
  const int64_t axis = NormAxis(n.Int("axis", opset >= 13 ? -1 : 1), x.shape.size());
  if (axis < 0 || axis >= int64_t(x.shape.size())) return Fail(error, n, "axis out of range");
  // Before opset 13 the input is coerced to 2-D at `axis`; from 13 one axis.
  int64_t outer = 1, len = 1, inner = 1;
  for (int64_t k = 0; k < int64_t(x.shape.size()); ++k) {
    if (k < axis) outer *= x.shape[k];
    else if (k == axis || opset < 13) len *= x.shape[k];
    else inner *= x.shape[k];
  }
  *r = ToType(x, DType::F32);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t in = 0; in < inner; ++in) {
      double m = -INFINITY, sum = 0;
      for (int64_t l = 0; l < len; ++l) m = std::max(m, double(x.f[(o * len + l) * inner + in]));
      for (int64_t l = 0; l < len; ++l) sum += exp(double(x.f[(o * len + l) * inner + in]) - m);
      for (int64_t l = 0; l < len; ++l) {
        float& v = r->f[(o * len + l) * inner + in];
        v = log ? float(double(v) - m - ::log(sum)) : float(exp(double(v) - m) / sum);
      }
    }
  return true;
}

bool Gemm(const Node& n, const std::vector<const Value*>& in, Value* r, std::string* error) {
  const Value& a = *in[0];
  const Value& b = *in[1];
  const Value* c = in.size() > 2 ? in[2] : nullptr;
  if (a.shape.size() != 2 || b.shape.size() != 2) return Fail(error, n, "A and B must be 2-D");
  const bool ta = n.Int("transA", 0), tb = n.Int("transB", 0);
  const double alpha = n.Float("alpha", 1.0f), beta = n.Float("beta", 1.0f);
  const int64_t M = ta ? a.shape[1] : a.shape[0], K = ta ? a.shape[0] : a.shape[1];
  const int64_t K2 = tb ? b.shape[1] : b.shape[0], N = tb ? b.shape[0] : b.shape[1];
  if (K != K2) return Fail(error, n, "inner dimensions differ: " + ShapeString(a.shape) + " x " + ShapeString(b.shape));
  Shape out{M, N}, bc;
  if (TooLarge(out)) return Fail(error, n, "the output would be larger than the interpreter's limit");
  if (c && !Broadcast(c->shape, out, &bc)) return Fail(error, n, "C does not broadcast to the output");
  if (c && bc != out) return Fail(error, n, "C does not broadcast to the output");
  const auto st = Strides(out);
  r->type = DType::F32;
  r->shape = out;
  r->f.resize(M * N);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t j = 0; j < N; ++j) {
      double acc = 0;
      for (int64_t k = 0; k < K; ++k) acc += a.at(ta ? k * M + m : m * K + k) * b.at(tb ? j * K + k : k * N + j);
      acc *= alpha;
      if (c) acc += beta * c->at(BroadcastIndex(c->shape, out, st, m * N + j));
      r->f[m * N + j] = float(acc);
    }
  return true;
}

bool MatMul(const Node& n, const Value& a, const Value& b, Value* r, std::string* error) {
  // N-D x 2-D (the exporters' Linear) and 2-D x 2-D; batched B is rare in CNNs.
  if (a.shape.empty() || b.shape.size() != 2) return Fail(error, n, "supports [..., K] x [K, N] only");
  const int64_t K = a.shape.back(), N = b.shape[1];
  if (b.shape[0] != K) return Fail(error, n, "inner dimensions differ");
  const int64_t M = a.count() / std::max<int64_t>(K, 1);
  r->type = DType::F32;
  r->shape = a.shape;
  r->shape.back() = N;
  if (TooLarge(r->shape)) return Fail(error, n, "the output would be larger than the interpreter's limit");
  r->f.resize(M * N);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t j = 0; j < N; ++j) {
      double acc = 0;
      for (int64_t k = 0; k < K; ++k) acc += a.at(m * K + k) * b.at(k * N + j);
      r->f[m * N + j] = float(acc);
    }
  return true;
}

bool Pad(const Node& n, const std::vector<const Value*>& in, int64_t opset, Value* r, std::string* error) {
  const Value& x = *in[0];
  std::vector<int64_t> pads;
  bool present = false;
  IntList(n, opset >= 11 ? in : std::vector<const Value*>{}, 1, "pads", &pads, &present);
  const size_t rank = x.shape.size();
  if (pads.size() != 2 * rank) return Fail(error, n, "pads must have 2 x rank entries");
  double value = opset >= 11 ? (in.size() > 2 && in[2] && in[2]->count() ? in[2]->at(0) : 0.0) : n.Float("value", 0.0f);
  const std::string mode = n.String("mode", "constant");
  if (mode != "constant" && mode != "reflect" && mode != "edge") return Fail(error, n, "unknown mode '" + mode + "'");
  Shape out(rank);
  for (size_t k = 0; k < rank; ++k) {
    out[k] = x.shape[k] + pads[k] + pads[k + rank];
    if (out[k] < 0) return Fail(error, n, "negative output size");
    if (mode == "reflect" && (pads[k] >= x.shape[k] || pads[k + rank] >= x.shape[k]) && (pads[k] || pads[k + rank]))
      return Fail(error, n, "reflect pads must be smaller than the dimension");
  }
  if (TooLarge(out)) return Fail(error, n, "the output would be larger than the interpreter's limit");
  const auto ost = Strides(out), ist = Strides(x.shape);
  r->type = x.type;
  r->shape = out;
  r->f.clear();
  r->i.clear();
  for (int64_t i = 0; i < Count(out); ++i) {
    int64_t src = 0;
    bool inside = true;
    for (size_t k = 0; k < rank; ++k) {
      int64_t c = (i / ost[k]) % out[k] - pads[k];
      if (c < 0 || c >= x.shape[k]) {
        if (mode == "constant") { inside = false; break; }
        if (mode == "edge") c = std::min(std::max<int64_t>(c, 0), x.shape[k] - 1);
        else c = c < 0 ? -c : 2 * (x.shape[k] - 1) - c;
      }
      src += c * ist[k];
    }
    if (inside) Append(x, src, r);
    else if (x.type == DType::F32) r->f.push_back(float(value));
    else r->i.push_back(SaturatingInt(value));
  }
  return true;
}

bool Slice(const Node& n, const std::vector<const Value*>& in, int64_t opset, Value* r, std::string* error) {
  const Value& x = *in[0];
  std::vector<int64_t> starts, ends, axes, steps;
  bool p1, p2, p3, p4;
  if (opset >= 10) {
    IntList(n, in, 1, "", &starts, &p1);
    IntList(n, in, 2, "", &ends, &p2);
    IntList(n, in, 3, "", &axes, &p3);
    IntList(n, in, 4, "", &steps, &p4);
  } else {
    starts = n.Ints("starts");
    ends = n.Ints("ends");
    axes = n.Ints("axes");
    p3 = n.has("axes");
    p4 = false;
  }
  const size_t rank = x.shape.size();
  if (!p3 || axes.empty()) { axes.resize(starts.size()); std::iota(axes.begin(), axes.end(), 0); }
  if (!p4 || steps.empty()) steps.assign(starts.size(), 1);
  if (starts.size() != ends.size() || axes.size() != starts.size() || steps.size() != starts.size())
    return Fail(error, n, "starts, ends, axes and steps differ in length");
  std::vector<int64_t> b(rank, 0), st(rank, 1), len(x.shape);
  for (size_t k = 0; k < axes.size(); ++k) {
    const int64_t a = NormAxis(axes[k], rank);
    if (a < 0 || a >= int64_t(rank) || steps[k] == 0) return Fail(error, n, "bad axis or zero step");
    const int64_t d = x.shape[a];
    auto clampi = [&](int64_t v, int64_t lo, int64_t hi) { return std::min(std::max(v, lo), hi); };
    int64_t s = starts[k] < 0 ? starts[k] + d : starts[k];
    int64_t e = ends[k] < 0 ? ends[k] + d : ends[k];
    if (steps[k] > 0) { s = clampi(s, 0, d); e = clampi(e, 0, d); len[a] = std::max<int64_t>(0, (e - s + steps[k] - 1) / steps[k]); }
    else { s = clampi(s, 0, d - 1); e = clampi(e, -1, d - 1); len[a] = std::max<int64_t>(0, (s - e - steps[k] - 1) / -steps[k]); }
    b[a] = s;
    st[a] = steps[k];
  }
  const auto ost = Strides(len), ist = Strides(x.shape);
  r->type = x.type;
  r->shape = len;
  r->f.clear();
  r->i.clear();
  for (int64_t i = 0; i < Count(len); ++i) {
    int64_t src = 0;
    for (size_t k = 0; k < rank; ++k) src += (b[k] + ((i / ost[k]) % len[k]) * st[k]) * ist[k];
    Append(x, src, r);
  }
  return true;
}

bool Resize(const Node& n, const std::vector<const Value*>& in, int64_t opset, Value* r, std::string* error) {
  const Value& x = *in[0];
  if (x.shape.size() != 4) return Fail(error, n, "only 4-D NCHW input is supported");
  std::vector<double> scales;
  std::vector<int64_t> sizes;
  if (n.op == "Upsample") {
    const Value* s = opset >= 9 ? (in.size() > 1 ? in[1] : nullptr) : nullptr;
    if (s) for (int64_t k = 0; k < s->count(); ++k) scales.push_back(s->at(k));
    else for (float f : n.attrs.count("scales") ? n.attrs.at("scales").floats : std::vector<float>{}) scales.push_back(f);
  } else {
    const size_t si = opset >= 11 ? 2 : 1;
    if (in.size() > si && in[si] && in[si]->count()) for (int64_t k = 0; k < in[si]->count(); ++k) scales.push_back(in[si]->at(k));
    if (in.size() > 3 && in[3] && in[3]->count()) for (int64_t k = 0; k < in[3]->count(); ++k) sizes.push_back(SaturatingInt(in[3]->at(k)));
  }
  Shape out = x.shape;
  if (!sizes.empty()) {
    if (sizes.size() != 4) return Fail(error, n, "sizes must have 4 entries");
    out = sizes;
    scales.clear();
    for (int k = 0; k < 4; ++k) scales.push_back(double(out[k]) / double(x.shape[k]));
  } else {
    if (scales.size() != 4) return Fail(error, n, "scales must have 4 entries");
    for (int k = 0; k < 4; ++k) out[k] = SaturatingInt(floor(double(x.shape[k]) * scales[k]));
  }
  if (out[0] != x.shape[0] || out[1] != x.shape[1]) return Fail(error, n, "only H and W may be resized");
  if (TooLarge(out)) return Fail(error, n, "the output would be larger than the interpreter's limit");
  const std::string mode = n.String("mode", "nearest");
  const std::string ctm = n.String("coordinate_transformation_mode", opset >= 11 ? "half_pixel" : "asymmetric");
  const std::string nearest_mode = n.String("nearest_mode", "round_prefer_floor");
  if (mode != "nearest" && mode != "linear" && mode != "bilinear") return Fail(error, n, "mode '" + mode + "' is not supported");
  if (ctm != "half_pixel" && ctm != "asymmetric" && ctm != "align_corners" && ctm != "pytorch_half_pixel")
    return Fail(error, n, "coordinate_transformation_mode '" + ctm + "' is not supported");
  auto src_coord = [&](int64_t o, int a) {
    const double s = scales[a], in_len = double(x.shape[a]), out_len = double(out[a]);
    if (ctm == "align_corners") return out_len > 1 ? double(o) * (in_len - 1) / (out_len - 1) : 0.0;
    if (ctm == "asymmetric") return double(o) / s;
    if (ctm == "pytorch_half_pixel") return out_len > 1 ? (double(o) + 0.5) / s - 0.5 : 0.0;
    return (double(o) + 0.5) / s - 0.5;
  };
  r->type = DType::F32;
  r->shape = out;
  r->f.resize(Count(out));
  const int64_t H = x.shape[2], W = x.shape[3];
  for (int64_t p = 0; p < out[0] * out[1]; ++p)
    for (int64_t oy = 0; oy < out[2]; ++oy)
      for (int64_t ox = 0; ox < out[3]; ++ox) {
        const double sy = src_coord(oy, 2), sx = src_coord(ox, 3);
        double v;
        if (mode == "nearest") {
          auto pick = [&](double c, int64_t len) {
            int64_t i;
            if (nearest_mode == "floor") i = int64_t(floor(c));
            else if (nearest_mode == "ceil") i = int64_t(ceil(c));
            else if (nearest_mode == "round_prefer_ceil") i = int64_t(floor(c + 0.5));
            else i = int64_t(ceil(c - 0.5));
            return std::min(std::max<int64_t>(i, 0), len - 1);
          };
          v = x.f[(p * H + pick(sy, H)) * W + pick(sx, W)];
        } else {
          const double cy = std::min(std::max(sy, 0.0), double(H - 1)), cx = std::min(std::max(sx, 0.0), double(W - 1));
          const int64_t y0 = int64_t(floor(cy)), x0 = int64_t(floor(cx));
          const int64_t y1 = std::min(y0 + 1, H - 1), x1 = std::min(x0 + 1, W - 1);
          const double fy = cy - y0, fx = cx - x0;
          auto at = [&](int64_t yy, int64_t xx) { return double(x.f[(p * H + yy) * W + xx]); };
          v = (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x1)) + fy * ((1 - fx) * at(y1, x0) + fx * at(y1, x1));
        }
        r->f[(p * out[2] + oy) * out[3] + ox] = float(v);
      }
  return true;
}

const std::set<std::string>& Supported() {
  static const std::set<std::string> ops = {
      "Identity", "Dropout", "Cast", "Constant", "Neg", "Abs", "Sign", "Sqrt", "Exp", "Log", "Reciprocal", "Relu",
      "Sigmoid", "Tanh", "Floor", "Ceil", "LeakyRelu", "HardSigmoid", "HardSwish", "Clip", "Add", "Sub", "Mul", "Div",
      "Pow", "Max", "Min", "PRelu", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "Equal", "Where", "ReduceMean",
      "ReduceSum", "ReduceMax", "ReduceMin", "ReduceL1", "ReduceL2", "ReduceSumSquare", "Shape", "Gather", "Unsqueeze",
      "Squeeze", "Reshape", "Flatten", "Transpose", "Concat", "Slice", "Expand", "ConstantOfShape", "Conv", "Gemm",
      "MatMul", "BatchNormalization", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "Softmax",
      "LogSoftmax", "Pad", "Resize", "Upsample", "Tile"};
  return ops;
}

}  // namespace

bool ResolveWindow(const Node& node, const std::vector<int64_t>& x, const std::vector<int64_t>& kernel,
                   bool ceil_mode, std::vector<int64_t>* pads, std::vector<int64_t>* out_spatial, std::string* error) {
  Window w;
  if (!MakeWindow(node, x, kernel, ceil_mode, &w, error)) return false;
  pads->clear();
  out_spatial->clear();
  for (int64_t a = 0; a < w.spatial; ++a) pads->push_back(w.pb[a]);
  for (int64_t a = 0; a < w.spatial; ++a) pads->push_back(w.pe[a]);
  for (int64_t a = 0; a < w.spatial; ++a) out_spatial->push_back(w.out[a]);
  return true;
}

bool CanEvaluate(const std::string& op) { return Supported().count(op) != 0; }

namespace {

bool Evaluate(const Node& n, int64_t opset, const std::vector<const Value*>& in, std::vector<Value>* out,
              std::string* error) {
  const std::string& op = n.op;
  if (!CanEvaluate(op)) return Fail(error, n, "the float interpreter does not implement " + op);
  out->assign(std::max<size_t>(n.outputs.size(), 1), Value());
  Value& r = (*out)[0];
  if (op == "Constant") {
    for (const auto& kv : n.attrs) {
      const Attr::Kind want = kv.first == "value" ? Attr::TENSOR : kv.first == "value_float" ? Attr::FLOAT
                              : kv.first == "value_floats" ? Attr::FLOATS : kv.first == "value_int" ? Attr::INT
                              : Attr::INTS;
      if (kv.second.kind != want) return Fail(error, n, "attribute '" + kv.first + "' has the wrong type");
    }
    if (n.has("value")) r = n.attrs.at("value").t;
    else if (n.has("value_float")) r = Value::Float({}, {n.Float("value_float", 0)});
    else if (n.has("value_floats")) { const auto& f = n.attrs.at("value_floats").floats; r = Value::Float({int64_t(f.size())}, f); }
    else if (n.has("value_int")) r = Value::Int({}, {n.Int("value_int", 0)});
    else if (n.has("value_ints")) { const auto v = n.Ints("value_ints"); r = Value::Int({int64_t(v.size())}, v); }
    else return Fail(error, n, "no supported value attribute");
    return true;
  }
  // Every other op needs its first input.
  if (in.empty() || !in[0]) return Fail(error, n, "input 0 is missing");
  const Value& x = *in[0];
  auto need = [&](size_t k) { return in.size() > k && in[k]; };
  if (op == "Identity" || op == "Dropout") { r = x; if (out->size() > 1) (*out)[1] = Value::Float(x.shape, std::vector<float>(x.count(), 1.0f)); return true; }
  if (op == "Cast") {
    const int64_t to = n.Int("to", 1);
    r = ToType(x, to == 1 || to == 10 || to == 11 ? DType::F32 : DType::I64);
    if (to == 9 && r.type == DType::I64) for (int64_t& v : r.i) v = v != 0;
    return true;
  }
  using F1 = std::function<double(double)>;
  static const std::map<std::string, F1> unary = {
      {"Neg", [](double v) { return -v; }},
      {"Abs", [](double v) { return fabs(v); }},
      {"Sign", [](double v) { return double((v > 0) - (v < 0)); }},
      {"Sqrt", [](double v) { return sqrt(v); }},
      {"Exp", [](double v) { return exp(v); }},
      {"Log", [](double v) { return log(v); }},
      {"Reciprocal", [](double v) { return 1.0 / v; }},
      {"Relu", [](double v) { return v > 0 ? v : 0.0; }},
      {"Sigmoid", [](double v) { return 1.0 / (1.0 + exp(-v)); }},
      {"Tanh", [](double v) { return tanh(v); }},
      {"Floor", [](double v) { return floor(v); }},
      {"Ceil", [](double v) { return ceil(v); }},
      {"HardSwish", [](double v) { return v * std::min(1.0, std::max(0.0, v / 6 + 0.5)); }},
  };
  // Arity: ONNX fixes the input count of these ops (the passes rely on it).
  const bool is_unary = unary.count(op) || op == "LeakyRelu" || op == "HardSigmoid";
  if (is_unary && in.size() != 1) return Fail(error, n, "takes exactly one input");
  if (unary.count(op)) {
    r = Elementwise(x, unary.at(op));
    if (x.type == DType::I64 && (op == "Neg" || op == "Abs" || op == "Sign")) r = ToType(r, DType::I64);
    return true;
  }
  if (op == "LeakyRelu") { const double a = n.Float("alpha", 0.01f); r = Elementwise(x, [a](double v) { return v < 0 ? a * v : v; }); return true; }
  if (op == "HardSigmoid") {
    const double a = n.Float("alpha", 0.2f), b = n.Float("beta", 0.5f);
    r = Elementwise(x, [a, b](double v) { return std::min(1.0, std::max(0.0, a * v + b)); });
    return true;
  }
  if (op == "Clip") {
    double lo = -INFINITY, hi = INFINITY;
    if (opset < 11) { lo = n.Float("min", -INFINITY); hi = n.Float("max", INFINITY); }
    else {
      if (need(1) && in[1]->count()) lo = in[1]->at(0);
      if (need(2) && in[2]->count()) hi = in[2]->at(0);
    }
    r = Elementwise(x, [lo, hi](double v) { return std::min(std::max(v, lo), hi); });
    if (x.type == DType::I64) r = ToType(r, DType::I64);
    return true;
  }
  using F2 = std::function<double(double, double)>;
  static const std::map<std::string, F2> binary = {
      {"Add", [](double a, double b) { return a + b; }},
      {"Sub", [](double a, double b) { return a - b; }},
      {"Mul", [](double a, double b) { return a * b; }},
      {"Div", [](double a, double b) { return a / b; }},
      {"Pow", [](double a, double b) { return pow(a, b); }},
      {"Max", [](double a, double b) { return std::max(a, b); }},
      {"Min", [](double a, double b) { return std::min(a, b); }},
      {"PRelu", [](double a, double s) { return a < 0 ? a * s : a; }},
      {"Less", [](double a, double b) { return double(a < b); }},
      {"Greater", [](double a, double b) { return double(a > b); }},
      {"LessOrEqual", [](double a, double b) { return double(a <= b); }},
      {"GreaterOrEqual", [](double a, double b) { return double(a >= b); }},
      {"Equal", [](double a, double b) { return double(a == b); }},
  };
  if (binary.count(op)) {
    if (!need(1)) return Fail(error, n, "needs two inputs");
    if (in.size() > 2 && op != "Max" && op != "Min") return Fail(error, n, "takes exactly two inputs");
    const bool cmp = op == "Less" || op == "Greater" || op == "LessOrEqual" || op == "GreaterOrEqual" || op == "Equal";
    const bool ints = x.type == DType::I64 && in[1]->type == DType::I64 && op != "Pow";
    // Integer division truncates in ONNX.
    F2 f = binary.at(op);
    if (ints && op == "Div") f = [](double a, double b) { return b != 0 ? double(int64_t(a) / int64_t(b)) : 0.0; };
    if (!Binary(n, x, *in[1], f, cmp || ints, &r, error)) return false;
    for (size_t k = 2; k < in.size(); ++k) {  // Max and Min are variadic
      if (!in[k]) continue;
      Value acc = r;
      if (!Binary(n, acc, *in[k], f, ints, &r, error)) return false;
    }
    return true;
  }
  if (op == "Where") {
    if (!need(1) || !need(2)) return Fail(error, n, "needs three inputs");
    Value ab;
    Shape s1, s2;
    if (!Broadcast(x.shape, in[1]->shape, &s1) || !Broadcast(s1, in[2]->shape, &s2)) return Fail(error, n, "shapes do not broadcast");
    if (TooLarge(s2)) return Fail(error, n, "the output would be larger than the interpreter's limit");
    const auto st = Strides(s2);
    r.type = in[1]->type == DType::I64 && in[2]->type == DType::I64 ? DType::I64 : DType::F32;
    r.shape = s2;
    for (int64_t i = 0; i < Count(s2); ++i) {
      const bool c = x.at(BroadcastIndex(x.shape, s2, st, i)) != 0;
      const Value& src = c ? *in[1] : *in[2];
      const double v = src.at(BroadcastIndex(src.shape, s2, st, i));
      if (r.type == DType::F32) r.f.push_back(float(v)); else r.i.push_back(SaturatingInt(v));
    }
    return true;
  }
  if (op.rfind("Reduce", 0) == 0) return Reduce(n, in, opset, &r, error);
  if (op == "Shape") { r = Value::Int({int64_t(x.shape.size())}, x.shape); return true; }
  if (op == "Gather") {
    if (!need(1)) return Fail(error, n, "needs indices");
    const int64_t axis = NormAxis(n.Int("axis", 0), x.shape.size());
    if (axis < 0 || axis >= int64_t(x.shape.size())) return Fail(error, n, "axis out of range");
    const Value& idx = *in[1];
    Shape s(x.shape.begin(), x.shape.begin() + axis);
    s.insert(s.end(), idx.shape.begin(), idx.shape.end());
    s.insert(s.end(), x.shape.begin() + axis + 1, x.shape.end());
    if (TooLarge(s)) return Fail(error, n, "the output would be larger than the interpreter's limit");
    int64_t outer = 1, inner = 1;
    for (int64_t k = 0; k < axis; ++k) outer *= x.shape[k];
    for (size_t k = axis + 1; k < x.shape.size(); ++k) inner *= x.shape[k];
    r.type = x.type;
    r.shape = s;
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t j = 0; j < idx.count(); ++j) {
        int64_t g = SaturatingInt(idx.at(j));
        if (g < 0) g += x.shape[axis];
        if (g < 0 || g >= x.shape[axis]) return Fail(error, n, "index out of range");
        for (int64_t in2 = 0; in2 < inner; ++in2) Append(x, (o * x.shape[axis] + g) * inner + in2, &r);
      }
    return true;
  }
  if (op == "Unsqueeze" || op == "Squeeze") {
    std::vector<int64_t> axes;
    bool present;
    IntList(n, opset >= 13 ? in : std::vector<const Value*>{}, 1, "axes", &axes, &present);
    r = x;
    if (op == "Unsqueeze") {
      const size_t rank = x.shape.size() + axes.size();
      std::vector<bool> is_new(rank, false);
      for (int64_t a : axes) {
        a = NormAxis(a, rank);
        if (a < 0 || a >= int64_t(rank) || is_new[a]) return Fail(error, n, "bad axes");
        is_new[a] = true;
      }
      r.shape.clear();
      for (size_t k = 0, j = 0; k < rank; ++k) r.shape.push_back(is_new[k] ? 1 : x.shape[j++]);
    } else {
      std::vector<bool> drop(x.shape.size(), axes.empty());
      for (int64_t a : axes) {
        a = NormAxis(a, x.shape.size());
        if (a < 0 || a >= int64_t(x.shape.size()) || x.shape[a] != 1) return Fail(error, n, "cannot squeeze a dimension that is not 1");
        drop[a] = true;
      }
      r.shape.clear();
      for (size_t k = 0; k < x.shape.size(); ++k)
        if (!(drop[k] && x.shape[k] == 1)) r.shape.push_back(x.shape[k]);
    }
    return true;
  }
  if (op == "Reshape") {
    std::vector<int64_t> shape;
    bool present;
    IntList(n, opset >= 5 ? in : std::vector<const Value*>{}, 1, "shape", &shape, &present);
    if (!present) return Fail(error, n, "no target shape");
    int64_t known = 1, infer = -1;
    for (size_t k = 0; k < shape.size(); ++k) {
      if (shape[k] == 0 && !n.Int("allowzero", 0)) {
        if (k >= x.shape.size()) return Fail(error, n, "0 copies a dimension that does not exist");
        shape[k] = x.shape[k];
      }
      if (shape[k] == -1) {
        if (infer >= 0) return Fail(error, n, "more than one -1");
        infer = int64_t(k);
      } else if (shape[k] < 0) {
        return Fail(error, n, "negative dimension");
      } else {
        if (shape[k] > 0 && known > ElementLimit() / shape[k]) return Fail(error, n, "the target shape is too large");
        known *= shape[k];
      }
    }
    if (infer >= 0) shape[infer] = known ? x.count() / known : 0;
    if (Count(shape) != x.count()) return Fail(error, n, "cannot reshape " + ShapeString(x.shape) + " to " + ShapeString(shape));
    r = x;
    r.shape = shape;
    return true;
  }
  if (op == "Flatten") {
    const int64_t axis = NormAxis(n.Int("axis", 1), x.shape.size());
    if (axis < 0 || axis > int64_t(x.shape.size())) return Fail(error, n, "axis out of range");
    int64_t a = 1;
    for (int64_t k = 0; k < axis; ++k) a *= x.shape[k];
    r = x;
    r.shape = {a, a ? x.count() / a : 0};
    return true;
  }
  if (op == "Transpose") {
    std::vector<int64_t> perm = n.Ints("perm");
    if (perm.empty()) for (int64_t k = int64_t(x.shape.size()) - 1; k >= 0; --k) perm.push_back(k);
    std::vector<int64_t> sorted = perm;
    std::sort(sorted.begin(), sorted.end());
    for (size_t k = 0; k < sorted.size(); ++k)
      if (sorted[k] != int64_t(k) || sorted.size() != x.shape.size()) return Fail(error, n, "perm is not a permutation of the axes");
    return Transpose(x, perm, &r);
  }
  if (op == "Concat") {
    const int64_t axis = NormAxis(n.Int("axis", 0), x.shape.size());
    if (axis < 0 || axis >= int64_t(x.shape.size())) return Fail(error, n, "axis out of range");
    Shape s = x.shape;
    s[axis] = 0;
    bool any_float = false;
    for (const Value* v : in) {
      if (!v) continue;
      if (v->shape.size() != x.shape.size()) return Fail(error, n, "inputs differ in rank");
      for (size_t k = 0; k < s.size(); ++k)
        if (int64_t(k) != axis && v->shape[k] != x.shape[k]) return Fail(error, n, "inputs differ outside the axis");
      s[axis] += v->shape[axis];
      any_float |= v->type == DType::F32;
    }
    int64_t outer = 1, inner = 1;
    for (int64_t k = 0; k < axis; ++k) outer *= s[k];
    for (size_t k = axis + 1; k < s.size(); ++k) inner *= s[k];
    r.type = any_float ? DType::F32 : DType::I64;
    r.shape = s;
    if (TooLarge(s)) return Fail(error, n, "the output would be larger than the interpreter's limit");
    std::vector<Value> typed;  // each input in the output's type, converted once
    for (const Value* v : in)
      if (v) typed.push_back(ToType(*v, r.type));
    for (int64_t o = 0; o < outer; ++o)
      for (const Value& cv : typed) {
        const int64_t len = cv.shape[axis] * inner;
        for (int64_t k = 0; k < len; ++k) Append(cv, o * len + k, &r);
      }
    return true;
  }
  if (op == "Slice") return Slice(n, in, opset, &r, error);
  if (op == "Expand") {
    if (!need(1)) return Fail(error, n, "needs a shape");
    Shape target;
    for (int64_t k = 0; k < in[1]->count(); ++k) target.push_back(SaturatingInt(in[1]->at(k)));
    Shape s;
    if (!Broadcast(x.shape, target, &s)) return Fail(error, n, "shape does not broadcast");
    if (TooLarge(s)) return Fail(error, n, "the output would be larger than the interpreter's limit");
    const auto st = Strides(s);
    r.type = x.type;
    r.shape = s;
    for (int64_t i = 0; i < Count(s); ++i) Append(x, BroadcastIndex(x.shape, s, st, i), &r);
    return true;
  }
  if (op == "Tile") {
    if (!need(1) || in[1]->count() != int64_t(x.shape.size())) return Fail(error, n, "repeats must have one value per axis");
    Shape s = x.shape;
    for (size_t k = 0; k < s.size(); ++k) {
      const double r = in[1]->at(k);
      if (!(r >= 0 && r <= double(ElementLimit()))) return Fail(error, n, "repeats out of range");
      s[k] *= SaturatingInt(r);
    }
    if (TooLarge(s)) return Fail(error, n, "the output would be larger than the interpreter's limit");
    const auto ost = Strides(s), ist = Strides(x.shape);
    r.type = x.type;
    r.shape = s;
    for (int64_t i = 0; i < Count(s); ++i) {
      int64_t src = 0;
      for (size_t k = 0; k < s.size(); ++k) src += (((i / ost[k]) % s[k]) % x.shape[k]) * ist[k];
      Append(x, src, &r);
    }
    return true;
  }
  if (op == "ConstantOfShape") {
    Shape s;
    for (int64_t k = 0; k < x.count(); ++k) s.push_back(SaturatingInt(x.at(k)));
    if (TooLarge(s)) return Fail(error, n, "the output would be larger than the interpreter's limit");
    const Value fill = n.has("value") ? n.attrs.at("value").t : Value::Float({1}, {0.0f});
    if ((n.has("value") && n.attrs.at("value").kind != Attr::TENSOR) || fill.count() < 1 ||
        (fill.type == DType::F32 ? fill.f.empty() : fill.i.empty()))
      return Fail(error, n, "value must be a one-element tensor");
    r.type = fill.type;
    r.shape = s;
    for (int64_t i = 0; i < Count(s); ++i) Append(fill, 0, &r);
    return true;
  }
  if (op == "Conv") return Conv(n, in, &r, error);
  if (op == "Gemm") { if (!need(1)) return Fail(error, n, "needs B"); return Gemm(n, in, &r, error); }
  if (op == "MatMul") { if (!need(1)) return Fail(error, n, "needs B"); return MatMul(n, x, *in[1], &r, error); }
  if (op == "BatchNormalization") {
    for (size_t k = 1; k < 5; ++k) if (!need(k)) return Fail(error, n, "needs scale, B, mean and var");
    if (x.shape.size() < 2) return Fail(error, n, "input must have a channel dimension");
    const int64_t C = x.shape[1];
    for (size_t k = 1; k < 5; ++k) if (in[k]->count() != C) return Fail(error, n, "parameters must have one value per channel");
    const double eps = n.Float("epsilon", 1e-5f);
    int64_t inner = 1;
    for (size_t k = 2; k < x.shape.size(); ++k) inner *= x.shape[k];
    r = ToType(x, DType::F32);
    for (int64_t i = 0; i < x.count(); ++i) {
      const int64_t c = (i / inner) % C;
      r.f[i] = float((double(x.f[i]) - in[3]->at(c)) / sqrt(in[4]->at(c) + eps) * in[1]->at(c) + in[2]->at(c));
    }
    return true;
  }
  if (op == "MaxPool" || op == "AveragePool") {
    if (op == "MaxPool" && out->size() > 1) return Fail(error, n, "the Indices output is not supported");
    return Pool(n, ToType(x, DType::F32), op == "MaxPool", &r, error);
  }
  if (op == "GlobalAveragePool" || op == "GlobalMaxPool") {
    if (x.shape.size() < 3) return Fail(error, n, "input must be N x C x spatial");
    int64_t inner = 1;
    for (size_t k = 2; k < x.shape.size(); ++k) inner *= x.shape[k];
    r.type = DType::F32;
    r.shape = {x.shape[0], x.shape[1]};
    r.shape.resize(x.shape.size(), 1);
    for (int64_t p = 0; p < x.shape[0] * x.shape[1]; ++p) {
      double acc = op == "GlobalMaxPool" ? -INFINITY : 0.0;
      for (int64_t k = 0; k < inner; ++k) acc = op == "GlobalMaxPool" ? std::max(acc, x.at(p * inner + k)) : acc + x.at(p * inner + k);
      r.f.push_back(float(op == "GlobalMaxPool" ? acc : acc / double(inner)));
    }
    return true;
  }
  if (op == "Softmax" || op == "LogSoftmax") return Softmax(n, ToType(x, DType::F32), opset, op == "LogSoftmax", &r, error);
  if (op == "Pad") return Pad(n, in, opset, &r, error);
  if (op == "Resize" || op == "Upsample") return Resize(n, in, opset, &r, error);
  return Fail(error, n, "not implemented");
}

}  // namespace

bool EvaluateNode(const Node& n, int64_t opset, const std::vector<const Value*>& in, std::vector<Value>* out,
                  std::string* error) {
  for (const Value* v : in)
    if (v && v->count() != int64_t(v->type == DType::F32 ? v->f.size() : v->i.size()))
      return Fail(error, n, "an input does not match its shape " + ShapeString(v->shape));
  if (!Evaluate(n, opset, in, out, error)) return false;
  for (const Value& v : *out)
    if (v.count() != int64_t(v.type == DType::F32 ? v.f.size() : v.i.size()))
      return Fail(error, n, "its result does not match its shape " + ShapeString(v.shape));
  return true;
}

bool RunGraph(const Graph& graph, const std::map<std::string, Value>& inputs, std::map<std::string, Value>* values,
              std::string* error) {
  *values = graph.constants;
  for (const std::string& name : graph.inputs) {
    auto it = inputs.find(name);
    if (it == inputs.end()) {
      *error = "no value for graph input '" + name + "'";
      return false;
    }
    (*values)[name] = it->second;
  }
  for (const Node& n : graph.nodes) {
    std::vector<const Value*> in;
    for (const std::string& i : n.inputs) {
      if (i.empty()) { in.push_back(nullptr); continue; }
      auto it = values->find(i);
      if (it == values->end()) {
        *error = n.Describe() + " reads '" + i + "', which has no value";
        return false;
      }
      in.push_back(&it->second);
    }
    std::vector<Value> out;
    if (!EvaluateNode(n, graph.opset, in, &out, error)) return false;
    for (size_t k = 0; k < n.outputs.size() && k < out.size(); ++k)
      if (!n.outputs[k].empty()) (*values)[n.outputs[k]] = std::move(out[k]);
  }
  return true;
}

}  // namespace bnnc
