#include "passes.h"

#include <math.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "evaluator.h"

namespace bnnc {
namespace {

// A fresh constant name derived from `base`.
std::string NewConstant(Graph* g, const std::string& base, Value v) {
  std::string name = base;
  for (int k = 1; g->constants.count(name) || g->Producer(name) >= 0; ++k) name = base + "." + std::to_string(k);
  g->shapes[name] = v.shape;
  g->constants[name] = std::move(v);
  return name;
}

// The single node reading `t`, or -1 (several, none, or a graph output).
int SoleConsumer(const Graph& g, const std::string& t) {
  if (g.IsOutput(t)) return -1;
  const std::vector<int> c = g.Consumers(t);
  return c.size() == 1 ? c[0] : -1;
}

// Index of the input of `n` that is not `t` when `n` has exactly two inputs.
int OtherInput(const Node& n, const std::string& t) {
  if (n.inputs.size() != 2) return -1;
  if (n.inputs[0] == t && n.inputs[1] != t) return 1;
  if (n.inputs[1] == t && n.inputs[0] != t) return 0;
  return -1;
}

void EraseNode(Graph* g, int index) { g->nodes.erase(g->nodes.begin() + index); }

std::vector<float> ToFloats(const std::vector<double>& v) { return std::vector<float>(v.begin(), v.end()); }

// Clamp bounds from a Relu or Clip node with constant bounds; false otherwise.
bool ClampOf(const Graph& g, const Node& n, float* lo, float* hi) {
  *lo = -INFINITY;
  *hi = INFINITY;
  if (n.op == "Relu") { *lo = 0; return true; }
  if (n.op != "Clip") return false;
  if (g.opset < 11) { *lo = n.Float("min", -INFINITY); *hi = n.Float("max", INFINITY); return true; }
  for (size_t k = 1; k < n.inputs.size(); ++k) {
    if (n.inputs[k].empty()) continue;
    const Value* v = g.Constant(n.inputs[k]);
    if (!v || v->count() != 1) return false;
    (k == 1 ? *lo : *hi) = float(v->at(0));
  }
  return true;
}

// Whether node `n` computes y = ma * x + ba per channel of its input `x`
// (BatchNormalization, or Mul, Div, Add, Sub with a per-channel constant).
bool ChannelAffine(const Graph& g, const Node& n, const std::string& x, size_t rank, int64_t C,
                   std::vector<double>* ma, std::vector<double>* ba) {
  ma->assign(C, 1.0);
  ba->assign(C, 0.0);
  if (n.outputs.size() != 1) return false;
  if (n.op == "BatchNormalization") {
    if (n.inputs.size() < 5 || n.inputs[0] != x) return false;
    std::vector<double> p[4];
    for (int j = 0; j < 4; ++j) {
      const Value* v = g.Constant(n.inputs[1 + j]);
      if (!v || v->count() != C) return false;  // BatchNormalization parameters are 1-D [C]
      for (int64_t ch = 0; ch < C; ++ch) p[j].push_back(v->at(ch));
    }
    const double eps = n.Float("epsilon", 1e-5f);
    for (int64_t ch = 0; ch < C; ++ch) {
      (*ma)[ch] = p[0][ch] / sqrt(p[3][ch] + eps);
      (*ba)[ch] = p[1][ch] - p[2][ch] * (*ma)[ch];
    }
    return true;
  }
  if (n.op != "Mul" && n.op != "Div" && n.op != "Add" && n.op != "Sub") return false;
  const int other = OtherInput(n, x);
  if (other < 0) return false;
  const Value* v = g.Constant(n.inputs[other]);
  std::vector<double> k;
  if (!v || v->shape.size() > rank || !PerChannel(*v, rank, C, &k)) return false;
  if (n.op == "Div" && other == 0) return false;  // c / x is not affine
  for (int64_t ch = 0; ch < C; ++ch) {
    if (n.op == "Mul") (*ma)[ch] = k[ch];
    else if (n.op == "Div") (*ma)[ch] = 1.0 / k[ch];
    else if (n.op == "Add") (*ba)[ch] = k[ch];
    else if (other == 1) (*ba)[ch] = -k[ch];  // x - c
    else { (*ma)[ch] = -1; (*ba)[ch] = k[ch]; }  // c - x
  }
  return true;
}

// Folds the per-channel affine nodes after `out` (ChannelAffine) into
// y = m * x + b; then a Relu or Clip into [lo, hi]. Returns the final tensor
// name; the absorbed nodes are removed and `layer` (the node writing `out`)
// writes the final tensor.
std::string AbsorbChannelAffine(Graph* g, int layer, std::vector<double>* m, std::vector<double>* b, float* lo,
                                float* hi, PassLog* log) {
  std::string out = g->nodes[layer].outputs[0];
  const size_t rank = g->shapes[out].size();
  const int64_t C = int64_t(m->size());
  *lo = -INFINITY;
  *hi = INFINITY;
  for (;;) {
    const int c = SoleConsumer(*g, out);
    std::vector<double> ma, ba;
    if (c < 0 || !ChannelAffine(*g, g->nodes[c], out, rank, C, &ma, &ba)) break;
    for (int64_t ch = 0; ch < C; ++ch) {
      (*m)[ch] *= ma[ch];
      (*b)[ch] = (*b)[ch] * ma[ch] + ba[ch];
    }
    if (log) log->notes.push_back("folded " + g->nodes[c].Describe() + " into " + g->nodes[layer].Describe());
    out = g->nodes[c].outputs[0];
    g->nodes[layer].outputs[0] = out;
    EraseNode(g, c);
    if (c < layer) --layer;
  }
  const int c = SoleConsumer(*g, out);
  if (c >= 0 && g->nodes[c].inputs[0] == out && ClampOf(*g, g->nodes[c], lo, hi)) {
    if (log) log->notes.push_back("fused " + g->nodes[c].Describe() + " into " + g->nodes[layer].Describe());
    out = g->nodes[c].outputs[0];
    g->nodes[layer].outputs[0] = out;
    EraseNode(g, c);
  }
  return out;
}

void SetClamp(Node* n, float lo, float hi) {
  n->attrs["clip_min"].kind = Attr::FLOAT;
  n->attrs["clip_min"].f = lo;
  n->attrs["clip_max"].kind = Attr::FLOAT;
  n->attrs["clip_max"].f = hi;
}

// Binary weights: per output channel (axis 0 of `w`, rows of `row` values),
// every |w| equal to that channel's mean |w| within a relative 1e-4 (the
// float residue of straight-through estimators folded into the weights).
// Fills signs (+1/-1, sign(0) = +1 only for all-zero channels) and alpha.
bool BinaryWeights(const Value& w, int64_t channels, std::vector<float>* signs, std::vector<double>* alpha,
                   std::string* why) {
  const int64_t row = w.count() / std::max<int64_t>(channels, 1);
  signs->resize(w.count());
  alpha->assign(channels, 0.0);
  for (int64_t o = 0; o < channels; ++o) {
    double sum = 0, lo = INFINITY, hi = 0;
    for (int64_t k = 0; k < row; ++k) {
      const double a = fabs(w.at(o * row + k));
      sum += a;
      lo = std::min(lo, a);
      hi = std::max(hi, a);
    }
    const double mean = row ? sum / double(row) : 0;
    if (hi - lo > 1e-4 * std::max(mean, 1e-30) && hi > 0) {
      *why = "output channel " + std::to_string(o) + " holds weights of magnitude " + std::to_string(lo) + " to " +
             std::to_string(hi);
      return false;
    }
    (*alpha)[o] = mean;
    for (int64_t k = 0; k < row; ++k) (*signs)[o * row + k] = w.at(o * row + k) < 0 ? -1.0f : 1.0f;
  }
  return true;
}

// Whether `t` holds signs: a bnn.Sign output, or max-pooled signs.
bool IsBinary(const Graph& g, const std::string& t) {
  const int p = g.Producer(t);
  if (p < 0) return false;
  const Node& n = g.nodes[p];
  if (n.op == "bnn.Sign") return true;
  return (n.op == "MaxPool" || n.op == "GlobalMaxPool") && n.outputs.size() == 1 && IsBinary(g, n.inputs[0]);
}

// The binary input of a Conv: through an optional constant-mode Pad on the
// spatial axes (value 0: zero padding; value 1: one padding) to a bnn.Sign.
// Returns the bits tensor or "" and adds the Pad's pads to `pads`.
std::string BinaryConvInput(const Graph& g, const Node& conv, std::vector<int64_t>* pads, int* pad_value) {
  std::string t = conv.inputs[0];
  *pad_value = 0;
  int p = g.Producer(t);
  if (p >= 0 && g.nodes[p].op == "Pad" && g.Consumers(t).size() == 1) {
    const Node& pad = g.nodes[p];
    std::vector<int64_t> pp;
    double value = 0;
    if (g.opset >= 11) {
      const Value* v = pad.inputs.size() > 1 ? g.Constant(pad.inputs[1]) : nullptr;
      if (!v) return "";
      for (int64_t k = 0; k < v->count(); ++k) pp.push_back(SaturatingInt(v->at(k)));
      if (pad.inputs.size() > 2 && !pad.inputs[2].empty()) {
        const Value* c = g.Constant(pad.inputs[2]);
        if (!c || c->count() != 1) return "";
        value = c->at(0);
      }
    } else {
      pp = pad.Ints("pads");
      value = pad.Float("value", 0);
    }
    if (pad.String("mode", "constant") != "constant" || pp.size() != 8 || (value != 0 && value != 1)) return "";
    if (pp[0] || pp[1] || pp[4] || pp[5]) return "";  // batch or channel padding
    bool conv_pads = false;
    for (int64_t x : *pads) conv_pads |= x != 0;
    if (value == 1 && conv_pads) return "";  // one padding and zero padding mixed
    (*pads)[0] += pp[2];
    (*pads)[1] += pp[3];
    (*pads)[2] += pp[6];
    (*pads)[3] += pp[7];
    *pad_value = int(value);
    t = pad.inputs[0];
    p = g.Producer(t);
  }
  return IsBinary(g, t) ? t : "";
}

}  // namespace

bool PerChannel(const Value& v, size_t rank, int64_t channels, std::vector<double>* out) {
  out->assign(channels, 0.0);
  if (v.shape.size() > rank) return false;
  const size_t lead = rank - v.shape.size();
  int64_t stride = 0;  // elements between channels in v; 0 = broadcast
  int64_t s = 1;
  for (int k = int(v.shape.size()) - 1; k >= 0; --k) {
    const size_t axis = lead + k;
    if (axis == 1 && v.shape[k] == channels && channels != 1) stride = s;
    else if (v.shape[k] != 1) return false;
    s *= v.shape[k];
  }
  if (v.count() == 0) return false;
  for (int64_t c = 0; c < channels; ++c) (*out)[c] = v.at(c * stride);
  return true;
}

void BitsThreshold(float m, float b, float lo, float hi, float t, int32_t k, int32_t* threshold, int32_t* direction) {
  // The runtime's unfused path: y = clamp(float(acc) * m + b) (rounded
  // multiply, rounded add, compare-select clamp), bit = y < t. Monotone in
  // acc, so the true values form a prefix (m > 0) or a suffix (m < 0).
  auto bit = [&](int32_t acc) {
    const float p = float(acc) * m;
    float y = p + b;
    y = y < lo ? lo : y;
    y = y > hi ? hi : y;
    return y < t;
  };
  const bool first = bit(-k), last = bit(k);
  if (first && !last) {  // acc < T
    int32_t T = -k;
    while (bit(T)) ++T;
    *threshold = T;
    *direction = 1;
  } else if (!first && last) {  // acc > T
    int32_t T = k;
    while (bit(T)) --T;
    *threshold = T;
    *direction = -1;
  } else {  // constant
    *threshold = first ? k + 1 : -k;
    *direction = 1;
  }
}

bool InferShapes(Graph* g, const PassOptions& options, std::string* error) {
  std::map<std::string, Value> inputs;
  for (const std::string& name : g->inputs) {
    std::vector<int64_t> shape = g->input_shapes[name];
    auto it = options.input_shapes.find(name);
    if (it == options.input_shapes.end() && options.input_shapes.size() == 1 && g->inputs.size() == 1)
      it = options.input_shapes.begin();  // --input-shape without a name
    if (it != options.input_shapes.end()) {
      if (it->second.size() != shape.size() && !shape.empty()) {
        *error = "--input-shape " + ShapeString(it->second) + " for '" + name + "' has rank " +
                 std::to_string(it->second.size()) + "; the model declares " + ShapeString(shape);
        return false;
      }
      for (size_t k = 0; k < shape.size(); ++k)
        if (shape[k] >= 0 && shape[k] != it->second[k]) {
          *error = "--input-shape " + ShapeString(it->second) + " for '" + name + "' contradicts the model's " +
                   ShapeString(shape);
          return false;
        }
      shape = it->second;
    }
    if (!shape.empty() && shape[0] < 0) shape[0] = 1;  // a dynamic batch runs one item at a time
    for (int64_t d : shape)
      if (d <= 0) {
        *error = "input '" + name + "' has the dynamic shape " + ShapeString(g->input_shapes[name]) +
                 "; give its size with --input-shape, e.g. --input-shape 1x3x224x224";
        return false;
      }
    if (ExceedsElementLimit(shape)) {
      *error = "input '" + name + "' of shape " + ShapeString(shape) + " has more than " +
               std::to_string(ElementLimit()) + " elements";
      return false;
    }
    g->input_shapes[name] = shape;
    Value v;
    v.shape = shape;
    v.f.assign(v.count(), 0.0f);
    inputs[name] = std::move(v);
  }
  std::map<std::string, Value> values;
  if (!RunGraph(*g, inputs, &values, error)) return false;
  g->shapes.clear();
  for (auto& kv : values) g->shapes[kv.first] = kv.second.shape;
  return true;
}

bool FoldConstants(Graph* g, PassLog* log, std::string* error) {
  int folded = 0;
  for (size_t n = 0; n < g->nodes.size();) {
    const Node& node = g->nodes[n];
    bool all_const = CanEvaluate(node.op);
    std::vector<const Value*> in;
    for (const std::string& i : node.inputs) {
      if (i.empty()) { in.push_back(nullptr); continue; }
      const Value* v = g->Constant(i);
      all_const &= v != nullptr;
      in.push_back(v);
    }
    std::vector<Value> out;
    if (node.op == "Shape" && !node.inputs.empty() && g->shapes.count(node.inputs[0])) {
      const std::vector<int64_t>& s = g->shapes[node.inputs[0]];
      out = {Value::Int({int64_t(s.size())}, s)};
    } else if (!all_const) {
      ++n;
      continue;
    } else if (!EvaluateNode(node, g->opset, in, &out, error)) {
      return false;
    }
    for (size_t k = 0; k < node.outputs.size() && k < out.size(); ++k) {
      if (node.outputs[k].empty()) continue;
      g->shapes[node.outputs[k]] = out[k].shape;
      g->constants[node.outputs[k]] = std::move(out[k]);
    }
    EraseNode(g, int(n));
    ++folded;
  }
  if (log && folded) log->notes.push_back("constant-folded " + std::to_string(folded) + " nodes");
  return true;
}

void RemoveIdentities(Graph* g, PassLog* log) {
  for (size_t n = 0; n < g->nodes.size();) {
    const Node& node = g->nodes[n];
    const bool dropout_mask_unused = node.op == "Dropout" && (node.outputs.size() < 2 || node.outputs[1].empty() ||
                                                               (g->Consumers(node.outputs[1]).empty() && !g->IsOutput(node.outputs[1])));
    const bool same_cast = node.op == "Cast" && node.Int("to", 0) == 1 && !g->IsConstant(node.inputs[0]);
    if (!node.inputs.empty() && !node.inputs[0].empty() && (node.op == "Identity" || dropout_mask_unused || same_cast) &&
        !(g->IsOutput(node.outputs[0]) && (g->IsConstant(node.inputs[0]) || g->IsOutput(node.inputs[0])))) {
      const std::string from = node.outputs[0], to = node.inputs[0];
      if (g->IsOutput(from)) {
        // Keep the graph output's name: the producer of `to` writes `from`.
        const int p = g->Producer(to);
        if (p < 0) { ++n; continue; }
        for (std::string& o : g->nodes[p].outputs) if (o == to) o = from;
        EraseNode(g, int(n));
        g->ReplaceUses(to, from);
      } else {
        EraseNode(g, int(n));
        g->ReplaceUses(from, to);
      }
      if (log) log->notes.push_back("removed an identity " + from);
      continue;
    }
    ++n;
  }
}

void StripSteResidue(Graph* g, PassLog* log) {
  for (size_t n = 0; n < g->nodes.size(); ++n) {
    Node& add = g->nodes[n];
    if (add.op != "Add" || add.inputs.size() != 2) continue;
    for (int side = 0; side < 2; ++side) {
      const int s = g->Producer(add.inputs[side]);
      if (s < 0 || g->nodes[s].op != "Sub" || g->nodes[s].inputs.size() != 2) continue;
      const Node& sub = g->nodes[s];
      if (sub.inputs[1] != add.inputs[1 - side] || sub.inputs[0] == sub.inputs[1]) continue;
      // f - g + g: the value (and the forward pass) is f.
      const std::string result = add.outputs[0], f = sub.inputs[0];
      if (log) log->notes.push_back("stripped a straight-through-estimator residue at " + add.Describe());
      add.op = "Identity";
      add.inputs = {f};
      break;
    }
  }
  RemoveIdentities(g, nullptr);
  RemoveDeadNodes(g);
}

void SimplifySigns(Graph* g, PassLog* log) {
  for (Node& s : g->nodes) {
    if (s.op != "Sign") continue;
    for (;;) {
      const int p = g->Producer(s.inputs[0]);
      if (p < 0) break;
      const Node& in = g->nodes[p];
      float lo, hi;
      const bool clip = (in.op == "Clip" && ClampOf(*g, in, &lo, &hi) && lo < 0 && hi > 0) || in.op == "Sign";
      const bool hardtanh = in.op == "HardTanh";
      if (!clip && !hardtanh) break;
      if (log) log->notes.push_back("Sign(" + in.op + "(x)) is Sign(x) at " + s.Describe());
      s.inputs[0] = in.inputs[0];
    }
  }
  RemoveDeadNodes(g);
}

void MoveSignsPastReshapes(Graph* g, PassLog* log) {
  for (size_t n = 0; n < g->nodes.size(); ++n) {
    if (g->nodes[n].op != "Sign") continue;
    const int r = SoleConsumer(*g, g->nodes[n].outputs[0]);
    if (r < 0 || (g->nodes[r].op != "Flatten" && g->nodes[r].op != "Reshape") ||
        g->nodes[r].inputs[0] != g->nodes[n].outputs[0])
      continue;
    Node sign = g->nodes[n], reshape = g->nodes[r];
    const std::string x = sign.inputs[0], y = reshape.outputs[0], mid = y + ".real";
    reshape.inputs[0] = x;
    reshape.outputs[0] = mid;
    sign.inputs[0] = mid;
    sign.outputs[0] = y;
    g->shapes[mid] = g->shapes[y];
    g->shapes.erase(g->nodes[n].outputs[0]);
    g->nodes[n] = reshape;
    g->nodes[r] = sign;
    if (log) log->notes.push_back("moved " + sign.Describe() + " after " + reshape.Describe());
  }
}

void FuseSignThresholds(Graph* g, PassLog* log) {
  for (size_t n = 0; n < g->nodes.size(); ++n) {
    if (g->nodes[n].op != "Sign") continue;
    Node& s = g->nodes[n];
    s.op = "bnn.Sign";
    s.origin = "Sign";
    s.inputs.resize(2);
    const auto shape = g->shapes[s.inputs[0]];
    if (shape.size() < 2) continue;
    const int64_t C = shape[1];
    // Walk back through per-channel affine nodes with positive scales (each
    // read only by the next): sign(m * x + b) < 0  <=>  x < -b / m.
    std::vector<double> m(C, 1.0), b(C, 0.0);
    std::vector<int> absorbed;
    std::string x = s.inputs[0];
    for (;;) {
      const int p = g->Producer(x);
      if (p < 0 || SoleConsumer(*g, x) < 0) break;
      const Node& a = g->nodes[p];
      std::string in;
      for (const std::string& i : a.inputs)
        if (!i.empty() && !g->IsConstant(i)) in = in.empty() ? i : "";
      std::vector<double> ma, ba;
      if (in.empty() || g->shapes[in] != shape || !ChannelAffine(*g, a, in, shape.size(), C, &ma, &ba)) break;
      bool positive = true;
      for (double v : ma) positive &= v > 0 && std::isfinite(v);
      if (!positive) break;
      for (int64_t ch = 0; ch < C; ++ch) {
        b[ch] += m[ch] * ba[ch];
        m[ch] *= ma[ch];
      }
      absorbed.push_back(p);
      x = in;
    }
    if (absorbed.empty()) continue;
    std::vector<float> thr;
    for (int64_t ch = 0; ch < C; ++ch) thr.push_back(float(-b[ch] / m[ch]));
    s.inputs = {x, NewConstant(g, s.name + ".threshold", Value::Float({C}, thr))};
    if (log)
      for (int p : absorbed) log->notes.push_back("per-channel threshold from " + g->nodes[p].Describe() + " into " + s.Describe());
    std::sort(absorbed.rbegin(), absorbed.rend());
    for (int p : absorbed) {
      EraseNode(g, p);
      if (p < int(n)) --n;
    }
  }
}

void FoldAffineIntoFloatLayers(Graph* g, PassLog* log) {
  for (size_t n = 0; n < g->nodes.size(); ++n) {
    Node& node = g->nodes[n];
    const bool conv = node.op == "Conv", gemm = node.op == "Gemm", matmul = node.op == "MatMul";
    if (!conv && !gemm && !matmul) continue;
    if (node.inputs.size() < 2 || !g->Constant(node.inputs[1]) || g->IsConstant(node.inputs[0])) continue;
    // Binary layers are FuseBinaryLayers' business.
    const int p = g->Producer(node.inputs[0]);
    if (IsBinary(*g, node.inputs[0]) || (p >= 0 && g->nodes[p].op == "Pad" && IsBinary(*g, g->nodes[p].inputs[0])))
      continue;
    Value w = *g->Constant(node.inputs[1]);
    const auto& in_shape = g->shapes[node.inputs[0]];
    // Bring Gemm/MatMul weights to [O, K]; Conv keeps [O, C/g, kh, kw].
    if (gemm || matmul) {
      if (w.shape.size() != 2 || (gemm && (node.Int("transA", 0) || in_shape.size() != 2))) continue;
      if (matmul && in_shape.size() != 2) continue;
      if (matmul || !node.Int("transB", 0)) {
        Value t = w;
        for (int64_t i = 0; i < w.shape[0]; ++i)
          for (int64_t j = 0; j < w.shape[1]; ++j) t.f[j * w.shape[0] + i] = w.f[i * w.shape[1] + j];
        t.shape = {w.shape[1], w.shape[0]};
        w = t;
      }
    }
    w = Value::Float(w.shape, w.type == DType::F32 ? w.f : std::vector<float>(w.i.begin(), w.i.end()));
    const int64_t O = w.shape[0];
    std::vector<double> m(O, gemm ? node.Float("alpha", 1.0f) : 1.0), b(O, 0.0);
    const size_t bias_input = 2;
    if (node.inputs.size() > bias_input && !node.inputs[bias_input].empty()) {
      const Value* bv = g->Constant(node.inputs[bias_input]);
      std::vector<double> k;
      if (!bv || !PerChannel(*bv, 2, O, &k)) {
        if (!bv || bv->count() != O) continue;
        for (int64_t o = 0; o < O; ++o) k[o] = bv->at(o);
      }
      const double beta = gemm ? node.Float("beta", 1.0f) : 1.0;
      for (int64_t o = 0; o < O; ++o) b[o] = beta * k[o];
    }
    float lo, hi;
    const int index = int(n);
    AbsorbChannelAffine(g, index, &m, &b, &lo, &hi, log);
    Node& layer = g->nodes[index];
    const int64_t row = w.count() / O;
    for (int64_t o = 0; o < O; ++o)
      for (int64_t k = 0; k < row; ++k) w.f[o * row + k] = float(double(w.f[o * row + k]) * m[o]);
    const std::string wn = NewConstant(g, layer.name + ".weight", w);
    const std::string bn = NewConstant(g, layer.name + ".bias", Value::Float({O}, ToFloats(b)));
    if (conv) {
      layer.inputs = {layer.inputs[0], wn, bn};
    } else {
      layer.origin = layer.op;
      layer.op = "bnn.Dense";  // y = x W^T + b, W [O, K]
      layer.inputs = {layer.inputs[0], wn, bn};
      layer.attrs.clear();
    }
    SetClamp(&layer, lo, hi);
  }
  RemoveDeadNodes(g);
}

bool FuseBinaryLayers(Graph* g, PassLog* log, std::string* error) {
  for (size_t n = 0; n < g->nodes.size(); ++n) {
    Node& node = g->nodes[n];
    const bool conv = node.op == "Conv", gemm = node.op == "Gemm", matmul = node.op == "MatMul";
    if (!conv && !gemm && !matmul) continue;
    std::vector<int64_t> pads(4, 0);
    int pad_value = 0;
    std::string bits;
    const auto& in_shape = g->shapes[node.inputs[0]];
    std::vector<int64_t> out_spatial;
    if (conv) {
      if (in_shape.size() != 4) continue;
      const Value* w = g->Constant(node.inputs[1]);
      if (!w || w->shape.size() != 4) continue;
      std::string werr;
      if (!ResolveWindow(node, in_shape, {w->shape[2], w->shape[3]}, false, &pads, &out_spatial, &werr)) {
        *error = werr;
        return false;
      }
      bits = BinaryConvInput(*g, node, &pads, &pad_value);
    } else {
      if (IsBinary(*g, node.inputs[0])) bits = node.inputs[0];
      if (!bits.empty() && (in_shape.size() != 2 || (gemm && node.Int("transA", 0)))) {
        *error = node.Describe() + " reads binary activations of shape " + ShapeString(in_shape) +
                 "; binary fully-connected layers take a 2-D [N, K] input";
        return false;
      }
    }
    if (bits.empty()) continue;
    const Value* wv = g->Constant(node.inputs[1]);
    if (!wv) {
      *error = node.Describe() + " reads binary activations but its weights are not constant";
      return false;
    }
    Value w = *wv;
    if (!conv && (matmul || !node.Int("transB", 0))) {  // to [O, K]
      Value t = w;
      for (int64_t i = 0; i < w.shape[0]; ++i)
        for (int64_t j = 0; j < w.shape[1]; ++j) (t.type == DType::F32 ? t.f[j * w.shape[0] + i] = w.f[i * w.shape[1] + j] : t.i[j * w.shape[0] + i] = w.i[i * w.shape[1] + j]);
      t.shape = {w.shape[1], w.shape[0]};
      w = t;
    }
    const int64_t O = w.shape[0];
    std::vector<float> signs;
    std::vector<double> alpha;
    std::string why;
    if (!BinaryWeights(w, O, &signs, &alpha, &why)) {
      *error = node.Describe() + " reads binary activations (a Sign) but its weights are not +/-alpha per output "
               "channel (" + why + "); binarise the weights too (sign(W), optionally times a per-channel scale)";
      return false;
    }
    std::vector<double> m = alpha, b(O, 0.0);
    if (gemm) for (double& v : m) v *= node.Float("alpha", 1.0f);
    if (node.inputs.size() > 2 && !node.inputs[2].empty()) {
      const Value* bv = g->Constant(node.inputs[2]);
      if (!bv || bv->count() != O) {
        *error = node.Describe() + ": the bias must be a constant with one value per output channel";
        return false;
      }
      const double beta = gemm ? node.Float("beta", 1.0f) : 1.0;
      for (int64_t o = 0; o < O; ++o) b[o] = beta * bv->at(o);
    }
    Node layer;
    layer.op = conv ? "bnn.BinaryConv" : "bnn.BinaryGemm";
    layer.name = node.name;
    layer.origin = node.op + " (binary)";
    layer.outputs = node.outputs;
    if (conv) {
      for (const char* a : {"strides", "dilations", "group"})
        if (node.has(a)) layer.attrs[a] = node.attrs.at(a);
      layer.attrs["kernel_shape"].kind = Attr::INTS;
      layer.attrs["kernel_shape"].ints = {w.shape[2], w.shape[3]};
      layer.attrs["pads"].kind = Attr::INTS;
      layer.attrs["pads"].ints = pads;
      layer.attrs["pad_value"].i = pad_value;
    }
    const std::string base = node.name;
    layer.inputs = {bits, NewConstant(g, base + ".weight_signs", Value::Float(w.shape, signs))};
    g->nodes[n] = layer;
    float lo, hi;
    AbsorbChannelAffine(g, int(n), &m, &b, &lo, &hi, log);
    Node& l = g->nodes[n];
    l.inputs.push_back(NewConstant(g, base + ".multiplier", Value::Float({O}, ToFloats(m))));
    l.inputs.push_back(NewConstant(g, base + ".bias", Value::Float({O}, ToFloats(b))));
    SetClamp(&l, lo, hi);
    // K, the dot-product length, bounds the accumulator (for packed outputs).
    const int64_t k = w.count() / O;
    l.attrs["k"].i = k;
    if (log) log->notes.push_back("binary layer " + l.Describe() + " (K = " + std::to_string(k) + ")");
  }
  RemoveDeadNodes(g);
  return true;
}

void FuseBitsOutputs(Graph* g, PassLog* log) {
  for (size_t n = 0; n < g->nodes.size(); ++n) {
    Node& l = g->nodes[n];
    if ((l.op != "bnn.BinaryConv" && l.op != "bnn.BinaryGemm") || l.Int("bits_output", 0)) continue;
    const std::string out = l.outputs[0];
    const std::vector<int> readers = g->Consumers(out);
    if (readers.empty() || g->IsOutput(out)) continue;
    bool ok = true;
    for (int r : readers)
      ok &= g->nodes[r].op == "bnn.Sign" && g->nodes[r].inputs[0] == out &&
            g->nodes[r].inputs[1] == g->nodes[readers[0]].inputs[1];
    if (!ok) continue;
    const Value m = *g->Constant(l.inputs[2]), b = *g->Constant(l.inputs[3]);
    const Value* thr = g->nodes[readers[0]].inputs[1].empty() ? nullptr : g->Constant(g->nodes[readers[0]].inputs[1]);
    const float lo = l.Float("clip_min", -INFINITY), hi = l.Float("clip_max", INFINITY);
    const int32_t k = int32_t(l.Int("k", 0));
    std::vector<int64_t> t, d;
    for (int64_t c = 0; c < m.count(); ++c) {
      int32_t tc, dc;
      BitsThreshold(m.f[c], b.f[c], lo, hi, thr ? thr->f[c] : 0.0f, k, &tc, &dc);
      t.push_back(tc);
      d.push_back(dc);
    }
    const std::string bits_out = g->nodes[readers[0]].outputs[0];
    l.inputs[2] = NewConstant(g, l.name + ".threshold", Value::Int({m.count()}, t));
    l.inputs[3] = NewConstant(g, l.name + ".direction", Value::Int({m.count()}, d));
    l.attrs["bits_output"].i = 1;
    l.outputs[0] = bits_out;
    for (size_t j = 1; j < readers.size(); ++j) g->ReplaceUses(g->nodes[readers[j]].outputs[0], bits_out);
    if (log) log->notes.push_back(l.Describe() + " writes packed bits through integer thresholds");
    // Remove the Sign nodes (indices shift as we erase: go from the back).
    std::vector<int> rs = readers;
    std::sort(rs.rbegin(), rs.rend());
    for (int r : rs) EraseNode(g, r);
  }
  RemoveDeadNodes(g);
}

void RemoveDeadNodes(Graph* g) {
  std::set<std::string> live(g->outputs.begin(), g->outputs.end());
  std::vector<bool> keep(g->nodes.size(), false);
  for (int n = int(g->nodes.size()) - 1; n >= 0; --n) {
    for (const std::string& o : g->nodes[n].outputs) keep[n] = keep[n] || live.count(o);
    if (keep[n])
      for (const std::string& i : g->nodes[n].inputs) live.insert(i);
  }
  std::vector<Node> nodes;
  for (size_t n = 0; n < g->nodes.size(); ++n)
    if (keep[n]) nodes.push_back(std::move(g->nodes[n]));
  g->nodes = std::move(nodes);
  for (auto it = g->constants.begin(); it != g->constants.end();)
    it = live.count(it->first) ? std::next(it) : g->constants.erase(it);
}

bool RunPasses(Graph* g, const PassOptions& options, PassLog* log, std::string* error) {
  // Shapes first: running every node also checks its inputs and attributes.
  if (!InferShapes(g, options, error)) return false;
  RemoveIdentities(g, log);
  if (!FoldConstants(g, log, error)) return false;
  StripSteResidue(g, log);
  SimplifySigns(g, log);
  if (!FoldConstants(g, log, error)) return false;
  MoveSignsPastReshapes(g, log);
  FuseSignThresholds(g, log);
  FoldAffineIntoFloatLayers(g, log);
  if (!FuseBinaryLayers(g, log, error)) return false;
  FuseBitsOutputs(g, log);
  RemoveDeadNodes(g);
  return true;
}

}  // namespace bnnc
