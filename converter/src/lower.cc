#include "lower.h"

#include <math.h>

#include <cmath>

#include <algorithm>
#include <map>
#include <set>

#include "evaluator.h"
#include "passes.h"

namespace bnnc {
namespace {

namespace fb = bnn::fb;
using Shape = std::vector<int64_t>;

// NHWC position k holds ONNX (NCHW) axis kToOnnx[k].
constexpr int kToOnnx[4] = {0, 2, 3, 1};
constexpr int kFromOnnx[4] = {0, 3, 1, 2};

std::vector<int32_t> RuntimeShape(const Shape& s) {
  std::vector<int32_t> r;
  if (s.size() == 4) for (int k = 0; k < 4; ++k) r.push_back(int32_t(s[kToOnnx[k]]));
  else for (int64_t d : s) r.push_back(int32_t(d));
  return r;
}

// A float constant in the runtime's layout (4-D values to NHWC).
std::vector<float> RuntimeData(const Value& v) {
  std::vector<float> f(v.count());
  if (v.shape.size() != 4) {
    for (int64_t k = 0; k < v.count(); ++k) f[k] = float(v.at(k));
    return f;
  }
  const int64_t N = v.shape[0], C = v.shape[1], H = v.shape[2], W = v.shape[3];
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t y = 0; y < H; ++y)
        for (int64_t x = 0; x < W; ++x) f[((n * H + y) * W + x) * C + c] = float(v.at(((n * C + c) * H + y) * W + x));
  return f;
}

// OIHW weights to the runtime's OHWI.
std::vector<float> OhwiWeights(const Value& w) {
  const int64_t O = w.shape[0], I = w.shape[1], H = w.shape[2], W = w.shape[3];
  std::vector<float> r(w.count());
  for (int64_t o = 0; o < O; ++o)
    for (int64_t i = 0; i < I; ++i)
      for (int64_t y = 0; y < H; ++y)
        for (int64_t x = 0; x < W; ++x) r[((o * H + y) * W + x) * I + i] = float(w.at(((o * I + i) * H + y) * W + x));
  return r;
}

const std::set<std::string>& Accepted() {
  static const std::set<std::string> ops = {
      "bnn.Sign", "bnn.BinaryConv", "bnn.BinaryGemm", "bnn.Dense", "Conv", "MaxPool", "AveragePool",
      "GlobalAveragePool", "GlobalMaxPool", "Relu", "Sigmoid", "LeakyRelu", "PRelu", "Clip", "Softmax", "Add", "Sub",
      "Mul", "Div", "BatchNormalization", "Flatten", "Reshape", "Squeeze", "Unsqueeze", "Transpose", "Concat", "Pad",
      "Resize", "Upsample", "Gemm", "MatMul", "Identity", "Dropout"};
  return ops;
}

class Lowering {
 public:
  Lowering(const Graph& g, bnn::ModelBuilder* b, const ModelInfo& info, const LowerOptions& o)
      : g_(g), b_(*b), info_(info), options_(o) {}

  bool Run(std::string* error) {
    for (const std::string& in : g_.inputs) {
      const Shape& s = g_.input_shapes.at(in);
      const int id = b_.Tensor(in, fb::DataType::F32, RuntimeShape(s));
      if (info_.input_pixels == fb::PixelFormat::NONE) b_.Input(id);
      else if (!PixelInput(in, s, id, error)) return false;
      tensors_[in] = {id, false};
    }
    std::vector<std::string> problems;
    for (const Node& n : g_.nodes)
      if (!Accepted().count(n.op))
        problems.push_back(n.Describe() + ": op " + n.op + " is not supported");
    if (!problems.empty()) return Report(problems, error);
    for (const Node& n : g_.nodes) {
      std::string why;
      if (!LowerNode(n, &why)) problems.push_back(n.Describe() + ": " + why);
      if (problems.size() > 0 && !Defined(n)) break;  // later nodes would only cascade
    }
    if (!problems.empty()) return Report(problems, error);
    for (const std::string& o : g_.outputs) {
      auto it = tensors_.find(o);
      if (it == tensors_.end()) {
        // An output that is a constant or an input: copy it through RESHAPE.
        *error = "graph output '" + o + "' is a constant or a graph input, which bnn-convert does not export";
        return false;
      }
      if (it->second.bits) {
        *error = "graph output '" + o + "' is binary (the output of a Sign); model outputs must be real-valued";
        return false;
      }
      b_.Output(it->second.id);
    }
    return true;
  }

 private:
  struct T {
    int id;
    bool bits;
  };

  // The image input as 8-bit pixels: a U8 [1, H, W, pixel bytes] graph
  // input, then NORMALIZE into the float tensor the graph reads, with the
  // channel order and the normalisation (pixel / 255 - mean) / std.
  bool PixelInput(const std::string& name, const Shape& s, int float_id, std::string* error) {
    const fb::PixelFormat f = info_.input_pixels;
    const int channels = f == fb::PixelFormat::GREY ? 1 : 3;
    const int bytes = f == fb::PixelFormat::GREY ? 1 : f == fb::PixelFormat::RGBA || f == fb::PixelFormat::BGRA ? 4 : 3;
    if (g_.inputs.size() != 1 || s.size() != 4 || s[0] != 1 || s[1] != channels) {
      *error = "--input-u8 " + std::string(fb::EnumNamePixelFormat(f)) + " needs one image input [1, " +
               std::to_string(channels) + ", H, W]; input '" + name + "' is " + ShapeString(s);
      return false;
    }
    const size_t n = info_.mean.size();
    if (n != 0 && n != 1 && n != size_t(channels)) {
      *error = "--mean/--std give " + std::to_string(n) + " values for " + std::to_string(channels) + " channels";
      return false;
    }
    fb::NormalizeOptionsT o;
    const bool bgr = f == fb::PixelFormat::BGR || f == fb::PixelFormat::BGRA;
    for (int c = 0; c < channels; ++c) {
      const float mean = n ? info_.mean[n == 1 ? 0 : size_t(c)] : 0.0f, std = n ? info_.std[n == 1 ? 0 : size_t(c)] : 1.0f;
      o.channel_map.push_back(bgr ? 2 - c : c);
      o.scale.push_back(1.0f / (255.0f * std));
      o.bias.push_back(-mean / std);
    }
    const int pixels = b_.Tensor(name + ".pixels", fb::DataType::U8, {1, int32_t(s[2]), int32_t(s[3]), bytes});
    b_.Input(pixels);
    b_.Op(fb::OpType::NORMALIZE, {pixels}, {float_id}, bnn::Options(o), name + ".normalize");
    return true;
  }

  bool Defined(const Node& n) const {
    for (const std::string& o : n.outputs) if (!o.empty() && !tensors_.count(o)) return false;
    return true;
  }

  static bool Report(const std::vector<std::string>& problems, std::string* error) {
    *error = std::to_string(problems.size()) + " node" + (problems.size() > 1 ? "s" : "") + " cannot be converted:";
    for (const std::string& p : problems) *error += "\n  " + p;
    return false;
  }

  const Shape& ShapeOf(const std::string& t) const { return g_.shapes.at(t); }

  // The runtime tensor for ONNX tensor `t`: an activation, or a constant
  // materialised in the runtime layout.
  bool Input(const std::string& t, bool want_bits, int* id, std::string* why) {
    auto it = tensors_.find(t);
    if (it == tensors_.end()) {
      const Value* v = g_.Constant(t);
      if (!v) { *why = "input '" + t + "' has no value"; return false; }
      const int c = b_.ConstantF32(t, RuntimeShape(v->shape), RuntimeData(*v));
      it = tensors_.emplace(t, T{c, false}).first;
    }
    if (it->second.bits != want_bits) {
      *why = want_bits ? "input '" + t + "' must be binary (the output of a Sign)"
                       : "input '" + t + "' is binary (a Sign output) but this op needs real values; only binary "
                         "convolutions, fully-connected layers and max-pooling read Sign outputs";
      return false;
    }
    *id = it->second.id;
    return true;
  }

  int Output(const std::string& t, bool bits) {
    const int id = b_.Tensor(t, bits ? fb::DataType::BITS : fb::DataType::F32, RuntimeShape(ShapeOf(t)));
    tensors_[t] = {id, bits};
    return id;
  }

  static void Activation(float lo, float hi, fb::Activation* a, float* cmin, float* cmax) {
    *cmin = lo;
    *cmax = hi;
    if (lo == -INFINITY && hi == INFINITY) *a = fb::Activation::NONE;
    else if (lo == 0 && hi == INFINITY) *a = fb::Activation::RELU;
    else if (lo == 0 && hi == 6) *a = fb::Activation::RELU6;
    else *a = fb::Activation::CLIP;
    if (*a != fb::Activation::CLIP) *cmin = *cmax = 0;
  }

  bool ConvOptions(const Node& n, const Shape& x, const Shape& kernel, fb::Conv2DOptionsT* o, std::string* why) {
    const auto strides = n.Ints("strides", {1, 1}), dil = n.Ints("dilations", {1, 1});
    if (x.size() != 4 || kernel.size() != 2 || strides.size() != 2 || dil.size() != 2) {
      *why = "only 2-D convolutions on NCHW tensors are supported";
      return false;
    }
    std::vector<int64_t> pads = n.Ints("pads"), out;
    if (n.op != "bnn.BinaryConv" && !ResolveWindow(n, x, kernel, false, &pads, &out, why)) return false;
    o->kernel_h = int32_t(kernel[0]);
    o->kernel_w = int32_t(kernel[1]);
    o->stride_h = int32_t(strides[0]);
    o->stride_w = int32_t(strides[1]);
    o->dilation_h = int32_t(dil[0]);
    o->dilation_w = int32_t(dil[1]);
    o->padding = fb::Padding::EXPLICIT;
    o->pad_top = int32_t(pads[0]);
    o->pad_left = int32_t(pads[1]);
    o->pad_bottom = int32_t(pads[2]);
    o->pad_right = int32_t(pads[3]);
    o->groups = int32_t(n.Int("group", 1));
    Activation(n.Float("clip_min", -INFINITY), n.Float("clip_max", INFINITY), &o->activation, &o->clip_min,
               &o->clip_max);
    return true;
  }

  bool PoolOptions(const Node& n, const Shape& x, bool is_avg, fb::PoolOptionsT* o, std::string* why) {
    Shape kernel = n.Ints("kernel_shape"), pads, out;
    if (n.op == "GlobalMaxPool") kernel = {x[2], x[3]};
    if (x.size() != 4 || kernel.size() != 2) {
      *why = "only 2-D pooling on NCHW tensors is supported";
      return false;
    }
    for (int64_t d : n.Ints("dilations", {1, 1}))
      if (d != 1) { *why = "dilated pooling is not supported"; return false; }
    const bool ceil_mode = n.Int("ceil_mode", 0) != 0;
    if (!ResolveWindow(n, x, kernel, ceil_mode, &pads, &out, why)) return false;
    const auto strides = n.Ints("strides", {1, 1});
    o->kernel_h = int32_t(kernel[0]);
    o->kernel_w = int32_t(kernel[1]);
    o->stride_h = int32_t(strides[0]);
    o->stride_w = int32_t(strides[1]);
    o->padding = fb::Padding::EXPLICIT;
    o->pad_top = int32_t(pads[0]);
    o->pad_left = int32_t(pads[1]);
    // ceil_mode: extend the bottom/right padding so that the floor formula
    // gives ONNX's output size; padded cells are ignored by max and by an
    // average that excludes padding.
    const int64_t need_h = (out[0] - 1) * strides[0] + kernel[0] - x[2] - pads[0];
    const int64_t need_w = (out[1] - 1) * strides[1] + kernel[1] - x[3] - pads[1];
    const bool extended = need_h > pads[2] || need_w > pads[3];
    o->pad_bottom = int32_t(std::max(need_h, pads[2]));
    o->pad_right = int32_t(std::max(need_w, pads[3]));
    o->count_include_pad = is_avg && n.Int("count_include_pad", 0) != 0;
    if (extended && o->count_include_pad) {
      *why = "ceil_mode with count_include_pad is not supported";
      return false;
    }
    if (o->pad_top >= o->kernel_h || o->pad_bottom >= o->kernel_h || o->pad_left >= o->kernel_w ||
        o->pad_right >= o->kernel_w) {
      *why = "padding must be smaller than the window";
      return false;
    }
    return true;
  }

  // A constant operand of Add/Mul: per-channel [C], a scalar, or a full tensor.
  bool Operand(const std::string& t, const Shape& out, int* id, std::string* why, double scale = 1, bool reciprocal = false) {
    const Value* v = g_.Constant(t);
    if (!v) return Input(t, false, id, why);
    auto transform = [&](double x) { return float(reciprocal ? scale / x : scale * x); };
    std::vector<double> k;
    if (v->count() == 1) {
      *id = b_.ConstantF32(t + ".scalar", {1}, {transform(v->at(0))});
      return true;
    }
    if (out.size() >= 2 && PerChannel(*v, out.size(), out[1], &k)) {
      std::vector<float> f;
      for (double x : k) f.push_back(transform(x));
      if (out.size() == 4 || out.size() == 2) {
        *id = b_.ConstantF32(t + ".channels", {int32_t(k.size())}, f);
        return true;
      }
    }
    if (v->shape == out) {
      std::vector<float> f = RuntimeData(*v);
      for (float& x : f) x = transform(x);
      *id = b_.ConstantF32(t + ".full", RuntimeShape(out), f);
      return true;
    }
    *why = "constant operand '" + t + "' of shape " + ShapeString(v->shape) + " must be a scalar, one value per "
           "channel, or the full output shape " + ShapeString(out);
    return false;
  }

  bool LowerNode(const Node& n, std::string* why) {
    const std::string& op = n.op;
    const std::string out = n.outputs[0];
    const Shape& os = ShapeOf(out);
    int x = -1;
    if (op == "bnn.Sign") {
      if (!Input(n.inputs[0], false, &x, why)) return false;
      std::vector<int> ins = {x};
      if (!n.inputs[1].empty()) {
        if (!g_.Constant(n.inputs[1])) { *why = "thresholds must be constant"; return false; }
        const Value& t = *g_.Constant(n.inputs[1]);
        ins.push_back(b_.ConstantF32(n.inputs[1], {int32_t(t.count())}, t.f));
      }
      if (g_.IsOutput(out)) {
        *why = "Sign is supported as the input of binary convolutions, fully-connected layers and max-pooling; "
               "here it is a model output";
        return false;
      }
      if (os.size() != 2 && os.size() != 4) { *why = "binary activations must be 2-D or 4-D"; return false; }
      b_.Op(fb::OpType::BITPACK, ins, {Output(out, true)}, {}, n.name);
      return true;
    }
    if (op == "bnn.BinaryConv" || op == "bnn.BinaryGemm") {
      if (!Input(n.inputs[0], true, &x, why)) return false;
      const Value& w = *g_.Constant(n.inputs[1]);
      const bool conv = op == "bnn.BinaryConv";
      const std::vector<float> signs = conv ? OhwiWeights(w) : w.f;
      std::vector<int32_t> wshape = conv ? std::vector<int32_t>{int32_t(w.shape[0]), int32_t(w.shape[2]),
                                                                 int32_t(w.shape[3]), int32_t(w.shape[1])}
                                         : std::vector<int32_t>{int32_t(w.shape[0]), int32_t(w.shape[1])};
      std::vector<int> ins = {x, b_.ConstantBits(n.inputs[1], wshape, signs)};
      const bool bits = n.Int("bits_output", 0) != 0;
      const int32_t O = int32_t(w.shape[0]);
      if (bits) {
        for (int k = 2; k < 4; ++k) {
          const Value& v = *g_.Constant(n.inputs[k]);
          ins.push_back(b_.ConstantS32(n.inputs[k], {O}, std::vector<int32_t>(v.i.begin(), v.i.end())));
        }
      } else {
        for (int k = 2; k < 4; ++k) ins.push_back(b_.ConstantF32(n.inputs[k], {O}, g_.Constant(n.inputs[k])->f));
      }
      if (conv) {
        fb::Conv2DOptionsT o;
        if (!ConvOptions(n, ShapeOf(n.inputs[0]), {w.shape[2], w.shape[3]}, &o, why)) return false;
        o.pad_value = n.Int("pad_value", 0) ? fb::PadValue::ONE : fb::PadValue::ZERO;
        b_.Op(fb::OpType::BCONV2D, ins, {Output(out, bits)}, bnn::Options(o), n.name);
      } else {
        fb::FullyConnectedOptionsT o;
        Activation(n.Float("clip_min", -INFINITY), n.Float("clip_max", INFINITY), &o.activation, &o.clip_min, &o.clip_max);
        b_.Op(fb::OpType::BFULLY_CONNECTED, ins, {Output(out, bits)}, bnn::Options(o), n.name);
      }
      return true;
    }
    if (op == "Conv") {
      if (!Input(n.inputs[0], false, &x, why)) return false;
      const Value* w = g_.Constant(n.inputs[1]);
      if (!w || w->shape.size() != 4) { *why = "weights must be a 4-D constant"; return false; }
      fb::Conv2DOptionsT o;
      if (!ConvOptions(n, ShapeOf(n.inputs[0]), {w->shape[2], w->shape[3]}, &o, why)) return false;
      if (options_.int8_layers.count(n.name)) return Int8Conv(n, x, *w, o, why);
      std::vector<int> ins = {x, b_.ConstantF32(n.inputs[1], {int32_t(w->shape[0]), int32_t(w->shape[2]),
                                                              int32_t(w->shape[3]), int32_t(w->shape[1])},
                                                OhwiWeights(*w))};
      if (n.inputs.size() > 2 && !n.inputs[2].empty()) {
        const Value* bias = g_.Constant(n.inputs[2]);
        if (!bias) { *why = "bias must be constant"; return false; }
        ins.push_back(b_.ConstantF32(n.inputs[2], {int32_t(bias->count())}, RuntimeData(*bias)));
      }
      b_.Op(fb::OpType::CONV2D, ins, {Output(out, false)}, bnn::Options(o), n.name);
      return true;
    }
    if (op == "bnn.Dense") {
      if (!Input(n.inputs[0], false, &x, why)) return false;
      const Value& w = *g_.Constant(n.inputs[1]);
      fb::FullyConnectedOptionsT o;
      Activation(n.Float("clip_min", -INFINITY), n.Float("clip_max", INFINITY), &o.activation, &o.clip_min, &o.clip_max);
      std::vector<int> ins = {x, b_.ConstantF32(n.inputs[1], {int32_t(w.shape[0]), int32_t(w.shape[1])}, w.f),
                              b_.ConstantF32(n.inputs[2], {int32_t(w.shape[0])}, g_.Constant(n.inputs[2])->f)};
      b_.Op(fb::OpType::FULLY_CONNECTED, ins, {Output(out, false)}, bnn::Options(o), n.name);
      return true;
    }
    if (op == "Gemm" || op == "MatMul") {
      *why = "needs constant weights and a 2-D input";
      return false;
    }
    if (op == "MaxPool" || op == "AveragePool" || op == "GlobalMaxPool") {
      const bool bits = tensors_.count(n.inputs[0]) && tensors_.at(n.inputs[0]).bits;
      if (bits && op == "AveragePool") { *why = "average pooling of binary activations is not supported"; return false; }
      if (!Input(n.inputs[0], bits, &x, why)) return false;
      fb::PoolOptionsT o;
      if (!PoolOptions(n, ShapeOf(n.inputs[0]), op == "AveragePool", &o, why)) return false;
      const fb::OpType t = bits ? fb::OpType::BMAXPOOL2D : op == "AveragePool" ? fb::OpType::AVGPOOL2D : fb::OpType::MAXPOOL2D;
      b_.Op(t, {x}, {Output(out, bits)}, bnn::Options(o), n.name);
      return true;
    }
    if (op == "GlobalAveragePool") {
      if (!Input(n.inputs[0], false, &x, why)) return false;
      if (ShapeOf(n.inputs[0]).size() != 4) { *why = "input must be 4-D"; return false; }
      b_.Op(fb::OpType::GLOBAL_AVGPOOL, {x}, {Output(out, false)}, {}, n.name);
      return true;
    }
    if (op == "Relu" || op == "Sigmoid" || op == "LeakyRelu" || op == "Clip" || op == "Softmax") {
      if (!Input(n.inputs[0], false, &x, why)) return false;
      fb::OptionsUnion opts;
      fb::OpType t = op == "Relu" ? fb::OpType::RELU : op == "Sigmoid" ? fb::OpType::SIGMOID : fb::OpType::SOFTMAX;
      if (op == "LeakyRelu") {
        fb::LeakyReluOptionsT o;
        o.alpha = n.Float("alpha", 0.01f);
        opts = bnn::Options(o);
        t = fb::OpType::LEAKY_RELU;
      } else if (op == "Clip") {
        float lo = -INFINITY, hi = INFINITY;
        if (g_.opset < 11) { lo = n.Float("min", -INFINITY); hi = n.Float("max", INFINITY); }
        for (size_t k = 1; k < n.inputs.size() && g_.opset >= 11; ++k) {
          if (n.inputs[k].empty()) continue;
          const Value* v = g_.Constant(n.inputs[k]);
          if (!v || v->count() != 1) { *why = "min and max must be constant scalars"; return false; }
          (k == 1 ? lo : hi) = float(v->at(0));
        }
        fb::ClipOptionsT o;
        o.min = lo;
        o.max = hi;
        opts = bnn::Options(o);
        t = fb::OpType::CLIP;
      } else if (op == "Softmax") {
        const int64_t rank = int64_t(os.size());
        int64_t axis = n.Int("axis", g_.opset >= 13 ? -1 : 1);
        if (axis < 0) axis += rank;
        // The runtime's softmax runs over the last (NHWC: channel) axis.
        // Before opset 13 ONNX flattens every axis from `axis` on.
        const bool ok = rank == 4 ? axis == 1 && (g_.opset >= 13 || os[2] * os[3] == 1) : axis == rank - 1;
        if (!ok) {
          *why = "softmax is supported over the channel axis only (axis 1 of NCHW, or the last axis)";
          return false;
        }
      }
      b_.Op(t, {x}, {Output(out, false)}, opts, n.name);
      return true;
    }
    if (op == "PRelu") {
      if (!Input(n.inputs[0], false, &x, why)) return false;
      const Value* s = g_.Constant(n.inputs[1]);
      std::vector<double> k;
      if (!s) { *why = "the slope must be constant"; return false; }
      std::vector<float> slope;
      if (s->count() == 1) slope = {float(s->at(0))};
      else if (os.size() >= 2 && PerChannel(*s, os.size(), os[1], &k)) slope.assign(k.begin(), k.end());
      else { *why = "the slope must be a scalar or one value per channel"; return false; }
      b_.Op(fb::OpType::PRELU, {x, b_.ConstantF32(n.inputs[1], {int32_t(slope.size())}, slope)}, {Output(out, false)},
            {}, n.name);
      return true;
    }
    if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div") {
      const bool c0 = g_.IsConstant(n.inputs[0]), c1 = g_.IsConstant(n.inputs[1]);
      if (c0 && c1) { *why = "both operands are constant"; return false; }
      if ((!c0 && ShapeOf(n.inputs[0]) != os) || (!c1 && ShapeOf(n.inputs[1]) != os)) {
        *why = "the activation operand must have the output's shape (broadcasting is supported for constants)";
        return false;
      }
      if (op == "Add" || op == "Mul") {
        const std::string a = c0 ? n.inputs[1] : n.inputs[0], bname = c0 ? n.inputs[0] : n.inputs[1];
        int y;
        if (!Input(a, false, &x, why) || !Operand(bname, os, &y, why)) return false;
        b_.Op(op == "Add" ? fb::OpType::ADD : fb::OpType::MUL, {x, y}, {Output(out, false)}, {}, n.name);
        return true;
      }
      if (op == "Div") {
        if (c0 || !c1) { *why = "only division by a constant is supported"; return false; }
        int y;
        if (!Input(n.inputs[0], false, &x, why) || !Operand(n.inputs[1], os, &y, why, 1.0, true)) return false;
        b_.Op(fb::OpType::MUL, {x, y}, {Output(out, false)}, {}, n.name);
        return true;
      }
      // Sub: a - c = a + (-c); c - a = (-a) + c; a - b = a + (-1 * b)
      int y;
      if (c1) {
        if (!Input(n.inputs[0], false, &x, why) || !Operand(n.inputs[1], os, &y, why, -1.0)) return false;
        b_.Op(fb::OpType::ADD, {x, y}, {Output(out, false)}, {}, n.name);
        return true;
      }
      const std::string neg_src = n.inputs[1];
      if (!Input(neg_src, false, &x, why)) return false;
      const int minus = b_.ConstantF32(n.name + ".minus_one", {1}, {-1.0f});
      const int neg = b_.Tensor(n.name + ".negated", fb::DataType::F32, RuntimeShape(os));
      b_.Op(fb::OpType::MUL, {x, minus}, {neg}, {}, n.name + ".negate");
      if (!(c0 ? Operand(n.inputs[0], os, &y, why) : Input(n.inputs[0], false, &y, why))) return false;
      b_.Op(fb::OpType::ADD, {neg, y}, {Output(out, false)}, {}, n.name);
      return true;
    }
    if (op == "BatchNormalization") {
      if (!Input(n.inputs[0], false, &x, why)) return false;
      if (os.size() < 2) { *why = "input must have a channel axis"; return false; }
      std::vector<double> p[4];
      for (int k = 0; k < 4; ++k) {
        const Value* v = n.inputs.size() > size_t(k + 1) ? g_.Constant(n.inputs[k + 1]) : nullptr;
        if (!v || v->count() != os[1]) { *why = "parameters must be constants, one value per channel"; return false; }
        for (int64_t c = 0; c < os[1]; ++c) p[k].push_back(v->at(c));
      }
      if (os.size() != 2 && os.size() != 4) { *why = "input must be 2-D or 4-D"; return false; }
      const double eps = n.Float("epsilon", 1e-5f);
      std::vector<float> m, a;
      for (int64_t c = 0; c < os[1]; ++c) {
        const double s = p[0][c] / sqrt(p[3][c] + eps);
        m.push_back(float(s));
        a.push_back(float(p[1][c] - p[2][c] * s));
      }
      const int scaled = b_.Tensor(out + ".scaled", fb::DataType::F32, RuntimeShape(os));
      b_.Op(fb::OpType::MUL, {x, b_.ConstantF32(n.name + ".scale", {int32_t(os[1])}, m)}, {scaled}, {}, n.name + ".scale");
      b_.Op(fb::OpType::ADD, {scaled, b_.ConstantF32(n.name + ".shift", {int32_t(os[1])}, a)}, {Output(out, false)}, {},
            n.name);
      return true;
    }
    if (op == "Identity" || op == "Dropout") {  // left by RemoveIdentities only where a copy is needed
      if (!Input(n.inputs[0], false, &x, why)) return false;
      fb::ReshapeOptionsT o;
      b_.Op(fb::OpType::RESHAPE, {x}, {Output(out, false)}, bnn::Options(o), n.name);
      return true;
    }
    if (op == "Flatten" || op == "Reshape" || op == "Squeeze" || op == "Unsqueeze") {
      if (!Input(n.inputs[0], false, &x, why)) return false;
      const Shape& is = ShapeOf(n.inputs[0]);
      fb::ReshapeOptionsT o;
      // 4-D tensors are NHWC inside: a reshape that mixes channels with
      // spatial positions goes through NCHW order (a transpose) first.
      const bool in4 = is.size() == 4 && is[2] * is[3] != 1, out4 = os.size() == 4 && os[2] * os[3] != 1;
      if (in4 && out4 && is != os) { *why = "reshapes between different 4-D shapes are not supported"; return false; }
      int src = x;
      if (in4 && !out4) {
        fb::TransposeOptionsT t;
        t.perm = {0, 3, 1, 2};
        src = b_.Tensor(out + ".nchw", fb::DataType::F32, {int32_t(is[0]), int32_t(is[1]), int32_t(is[2]), int32_t(is[3])});
        b_.Op(fb::OpType::TRANSPOSE, {x}, {src}, bnn::Options(t), n.name + ".to_nchw");
      }
      if (!in4 && out4) {
        const int nchw = b_.Tensor(out + ".nchw", fb::DataType::F32, {int32_t(os[0]), int32_t(os[1]), int32_t(os[2]), int32_t(os[3])});
        b_.Op(fb::OpType::RESHAPE, {x}, {nchw}, bnn::Options(o), n.name);
        fb::TransposeOptionsT t;
        t.perm = {0, 2, 3, 1};
        b_.Op(fb::OpType::TRANSPOSE, {nchw}, {Output(out, false)}, bnn::Options(t), n.name + ".to_nhwc");
        return true;
      }
      b_.Op(fb::OpType::RESHAPE, {src}, {Output(out, false)}, bnn::Options(o), n.name);
      return true;
    }
    if (op == "Transpose") {
      if (!Input(n.inputs[0], false, &x, why)) return false;
      Shape perm = n.Ints("perm");
      const size_t rank = os.size();
      if (perm.empty()) for (int64_t k = int64_t(rank) - 1; k >= 0; --k) perm.push_back(k);
      fb::TransposeOptionsT o;
      for (size_t k = 0; k < rank; ++k)
        o.perm.push_back(rank == 4 ? int32_t(kFromOnnx[perm[kToOnnx[k]]]) : int32_t(perm[k]));
      b_.Op(fb::OpType::TRANSPOSE, {x}, {Output(out, false)}, bnn::Options(o), n.name);
      return true;
    }
    if (op == "Concat") {
      std::vector<int> ins;
      for (const std::string& i : n.inputs) {
        if (i.empty()) continue;
        if (!Input(i, false, &x, why)) return false;
        ins.push_back(x);
      }
      int64_t axis = n.Int("axis", 0);
      if (axis < 0) axis += int64_t(os.size());
      fb::ConcatOptionsT o;
      o.axis = int32_t(os.size() == 4 ? kFromOnnx[axis] : axis);
      b_.Op(fb::OpType::CONCAT, ins, {Output(out, false)}, bnn::Options(o), n.name);
      return true;
    }
    if (op == "Pad") {
      if (!Input(n.inputs[0], false, &x, why)) return false;
      if (n.String("mode", "constant") != "constant") { *why = "only constant padding is supported"; return false; }
      Shape pads;
      double value = 0;
      if (g_.opset >= 11) {
        const Value* p = n.inputs.size() > 1 ? g_.Constant(n.inputs[1]) : nullptr;
        if (!p) { *why = "pads must be constant"; return false; }
        for (int64_t k = 0; k < p->count(); ++k) pads.push_back(SaturatingInt(p->at(k)));
        if (n.inputs.size() > 2 && !n.inputs[2].empty()) {
          const Value* v = g_.Constant(n.inputs[2]);
          if (!v) { *why = "the pad value must be constant"; return false; }
          value = v->at(0);
        }
      } else {
        pads = n.Ints("pads");
        value = n.Float("value", 0);
      }
      const size_t rank = os.size();
      fb::PadOptionsT o;
      for (int side = 0; side < 2; ++side)
        for (size_t k = 0; k < rank; ++k) {
          const int64_t p = pads[side * rank + (rank == 4 ? kToOnnx[k] : k)];
          if (p < 0) { *why = "negative pads (cropping) are not supported"; return false; }
          o.pads.push_back(int32_t(p));
        }
      o.value = float(value);
      b_.Op(fb::OpType::PAD, {x}, {Output(out, false)}, bnn::Options(o), n.name);
      return true;
    }
    if (op == "Resize" || op == "Upsample") {
      if (!Input(n.inputs[0], false, &x, why)) return false;
      if (os.size() != 4) { *why = "only 4-D NCHW input is supported"; return false; }
      const std::string mode = n.String("mode", "nearest");
      const std::string ctm = n.String("coordinate_transformation_mode", g_.opset >= 11 && op == "Resize" ? "half_pixel" : "asymmetric");
      // The runtime maps coordinates with in/out; ONNX with the given scales.
      // They agree when the output size is exactly input x scale.
      const Value* scales = nullptr;
      for (size_t k = 1; k < n.inputs.size(); ++k) {
        const Value* v = n.inputs[k].empty() ? nullptr : g_.Constant(n.inputs[k]);
        if (v && v->type == DType::F32 && v->count() == 4) scales = v;
      }
      const Shape& is = ShapeOf(n.inputs[0]);
      if (scales && (double(os[2]) != double(is[2]) * scales->at(2) || double(os[3]) != double(is[3]) * scales->at(3))) {
        *why = "scales that do not give a whole output size are not supported";
        return false;
      }
      fb::ResizeOptionsT o;
      o.out_h = int32_t(os[2]);
      o.out_w = int32_t(os[3]);
      if (mode == "nearest") {
        if (ctm != "asymmetric" || n.String("nearest_mode", "round_prefer_floor") != "floor") {
          if (!(op == "Upsample" || g_.opset < 11)) {
            *why = "nearest resizing is supported with coordinate_transformation_mode asymmetric and nearest_mode floor "
                   "(PyTorch's nearest)";
            return false;
          }
        }
        o.mode = fb::ResizeMode::NEAREST;
      } else if (mode == "linear" || mode == "bilinear") {
        o.mode = fb::ResizeMode::BILINEAR;
        if (ctm == "align_corners") o.align_corners = true;
        else if (ctm == "half_pixel" || (ctm == "pytorch_half_pixel" && os[2] > 1 && os[3] > 1)) o.half_pixel_centers = true;
        else if (ctm != "asymmetric") { *why = "coordinate_transformation_mode " + ctm + " is not supported"; return false; }
      } else {
        *why = "mode " + mode + " is not supported";
        return false;
      }
      b_.Op(fb::OpType::RESIZE, {x}, {Output(out, false)}, bnn::Options(o), n.name);
      return true;
    }
    *why = "not supported";
    return false;
  }

  // The int8 convolution: input quantised from its calibrated range,
  // weights symmetric per output channel, scales folded into the transform.
  bool Int8Conv(const Node& n, int x, const Value& w, const fb::Conv2DOptionsT& o, std::string* why) {
    auto st = options_.stats.find(n.inputs[0]);
    if (st == options_.stats.end()) {
      *why = "no calibration statistics for its input '" + n.inputs[0] + "'";
      return false;
    }
    const Int8Input q = QuantizeRange(st->second);
    const Shape& xs = ShapeOf(n.inputs[0]);
    const int xq = b_.Tensor(n.inputs[0] + ".s8", fb::DataType::S8, RuntimeShape(xs), q.scale, q.zero_point);
    b_.Op(fb::OpType::QUANTIZE, {x}, {xq}, {}, n.name + ".quantize");
    const std::vector<float> ohwi = OhwiWeights(w);
    const int64_t O = w.shape[0], row = w.count() / O;
    std::vector<int8_t> wq(ohwi.size());
    std::vector<float> mult(O), bias(O, 0.0f);
    for (int64_t c = 0; c < O; ++c) {
      float peak = 0;
      for (int64_t k = 0; k < row; ++k) peak = std::max(peak, std::fabs(ohwi[c * row + k]));
      const float sw = peak > 0 ? peak / 127.0f : 1.0f;
      for (int64_t k = 0; k < row; ++k) wq[c * row + k] = int8_t(std::lround(ohwi[c * row + k] / sw));
      mult[c] = q.scale * sw;
    }
    if (n.inputs.size() > 2 && !n.inputs[2].empty()) bias = g_.Constant(n.inputs[2])->f;
    const std::vector<int32_t> wshape = {int32_t(O), int32_t(w.shape[2]), int32_t(w.shape[3]), int32_t(w.shape[1])};
    std::vector<int> ins = {xq, b_.Constant(n.inputs[1] + ".s8", fb::DataType::S8, wshape, wq.data(), wq.size()),
                            b_.ConstantF32(n.name + ".multiplier", {int32_t(O)}, mult),
                            b_.ConstantF32(n.name + ".bias", {int32_t(O)}, bias)};
    b_.Op(fb::OpType::CONV2D, ins, {Output(n.outputs[0], false)}, bnn::Options(o), n.name);
    return true;
  }

  const Graph& g_;
  bnn::ModelBuilder& b_;
  const ModelInfo& info_;
  const LowerOptions& options_;
  std::map<std::string, T> tensors_;
};

}  // namespace

const std::vector<std::string>& LoweredOps() {
  static const std::vector<std::string> ops(Accepted().begin(), Accepted().end());
  return ops;
}

bool Lower(const Graph& graph, const ModelInfo& info, bnn::ModelBuilder* builder, std::string* error,
           const LowerOptions& options) {
  Lowering l(graph, builder, info, options);
  if (!l.Run(error)) return false;
  fb::MetadataT& m = builder->metadata();
  m.name = info.name;
  m.description = info.description;
  m.producer = std::string("bnn-convert ") + BNN_VERSION;
  m.task = info.task;
  m.labels = info.labels;
  // A pixel input is NHWC as cameras give it; float inputs keep ONNX's NCHW.
  m.input_layout = info.input_pixels == fb::PixelFormat::NONE ? fb::Layout::NCHW : fb::Layout::NHWC;
  m.input_pixel_format = info.input_pixels;
  m.output_meaning = info.output_meaning;
  if (!info.decoding.empty() || !info.anchors.empty() || !info.strides.empty()) {
    m.detector = std::make_unique<fb::DetectorInfoT>();
    m.detector->decoding = info.decoding;
    for (const auto& a : info.anchors) {
      auto anchor = std::make_unique<fb::AnchorT>();
      anchor->cx = a[0];
      anchor->cy = a[1];
      anchor->w = a[2];
      anchor->h = a[3];
      m.detector->anchors.push_back(std::move(anchor));
    }
    m.detector->strides = info.strides;
    m.detector->score_threshold = info.score_threshold;
    m.detector->iou_threshold = info.iou_threshold;
    m.detector->landmarks = info.landmarks;
  }
  if (info.match_threshold) {
    m.embedder = std::make_unique<fb::EmbedderInfoT>();
    m.embedder->match_threshold = *info.match_threshold;
  }
  if (!info.mean.empty() || !info.std.empty()) {
    m.normalization = std::make_unique<fb::NormalizationT>();
    m.normalization->mean = info.mean;
    m.normalization->std = info.std;
  }
  return true;
}

}  // namespace bnnc
