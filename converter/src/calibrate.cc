#include "calibrate.h"

#include <math.h>

#include <algorithm>

#include "evaluator.h"

namespace bnnc {
namespace {

Value Item(const Value& batch, const std::vector<int64_t>& shape, int64_t i) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  Value v;
  v.shape = shape;
  v.f.assign(batch.f.begin() + i * n, batch.f.begin() + (i + 1) * n);
  return v;
}

bool CheckBatch(const Graph& g, const Value& batch, std::string* error) {
  if (g.inputs.size() != 1) {
    *error = "calibration needs a model with one input";
    return false;
  }
  const auto& shape = g.input_shapes.at(g.inputs[0]);
  if (shape.empty() || shape[0] != 1 || batch.shape.size() != shape.size() ||
      !std::equal(shape.begin() + 1, shape.end(), batch.shape.begin() + 1) || batch.shape[0] < 1) {
    *error = "calibration data of shape " + ShapeString(batch.shape) + " does not fit the model input " +
             ShapeString(shape) + " (give a batch along the first axis)";
    return false;
  }
  return true;
}

}  // namespace

bool CollectStats(const Graph& g, const Value& batch, std::map<std::string, TensorStats>* stats, std::string* error) {
  if (!CheckBatch(g, batch, error)) return false;
  const auto& shape = g.input_shapes.at(g.inputs[0]);
  std::map<std::string, double> sum, sum_dev, count;
  stats->clear();
  for (int pass = 0; pass < 2; ++pass) {
    for (int64_t i = 0; i < batch.shape[0]; ++i) {
      std::map<std::string, Value> values;
      if (!RunGraph(g, {{g.inputs[0], Item(batch, shape, i)}}, &values, error)) return false;
      for (const auto& kv : values) {
        if (g.IsConstant(kv.first) || kv.second.type != DType::F32 || kv.second.f.empty()) continue;
        TensorStats& s = (*stats)[kv.first];
        if (pass == 1) {
          for (float v : kv.second.f) sum_dev[kv.first] += fabs(v - s.mean);
          continue;
        }
        const auto mm = std::minmax_element(kv.second.f.begin(), kv.second.f.end());
        const bool first = !count.count(kv.first);
        s.min = first ? *mm.first : std::min(s.min, *mm.first);
        s.max = first ? *mm.second : std::max(s.max, *mm.second);
        for (float v : kv.second.f) sum[kv.first] += v;
        count[kv.first] += double(kv.second.f.size());
      }
    }
    for (auto& kv : *stats) {
      const double n = std::max(count[kv.first], 1.0);
      if (pass == 0) kv.second.mean = sum[kv.first] / n;
      else kv.second.mean_abs_deviation = sum_dev[kv.first] / n;
    }
  }
  return true;
}

bool BinarizeLayers(Graph* g, const std::vector<std::string>& layers, const std::map<std::string, TensorStats>& stats,
                    std::vector<std::string>* chosen, std::string* error) {
  std::vector<int> candidates;
  for (size_t n = 0; n < g->nodes.size(); ++n) {
    const Node& node = g->nodes[n];
    const bool gemm_like = (node.op == "Gemm" && !node.Int("transA", 0)) || node.op == "MatMul";
    if ((node.op == "Conv" || gemm_like) && node.inputs.size() >= 2 && g->IsConstant(node.inputs[1]) &&
        !g->IsConstant(node.inputs[0]))
      candidates.push_back(int(n));
  }
  const bool all = layers.size() == 1 && layers[0] == "all";
  std::vector<int> picked;
  if (all) {
    if (candidates.size() > 2) picked.assign(candidates.begin() + 1, candidates.end() - 1);
  } else {
    for (const std::string& name : layers) {
      auto it = std::find_if(candidates.begin(), candidates.end(), [&](int n) { return g->nodes[n].name == name; });
      if (it == candidates.end()) {
        *error = "--binarize: no float Conv/Gemm/MatMul layer with constant weights is named '" + name + "'";
        return false;
      }
      picked.push_back(*it);
    }
  }
  if (picked.empty()) {
    *error = "--binarize: no layer to binarise (the model has " + std::to_string(candidates.size()) +
             " Conv/Gemm/MatMul layers; 'all' keeps the first and the last real-valued)";
    return false;
  }
  std::sort(picked.rbegin(), picked.rend());  // from the back: insertions keep earlier indices valid
  chosen->clear();
  for (int n : picked) {
    Node node = g->nodes[n];
    const std::string x = node.inputs[0];
    auto st = stats.find(x);
    if (st == stats.end()) {
      *error = "--binarize: no calibration statistics for '" + x + "'";
      return false;
    }
    Value w = *g->Constant(node.inputs[1]);
    if (w.type != DType::F32) {
      *error = "--binarize: " + node.Describe() + " has non-float weights";
      return false;
    }
    // Per output channel: axis 0 for Conv and transB Gemm, axis 1 otherwise.
    const bool out_axis0 = node.op == "Conv" || (node.op == "Gemm" && node.Int("transB", 0));
    const int64_t rows = out_axis0 ? w.shape[0] : w.shape[1], len = w.count() / rows;
    for (int64_t o = 0; o < rows; ++o) {
      auto at = [&](int64_t k) -> float& { return out_axis0 ? w.f[o * len + k] : w.f[k * rows + o]; };
      double alpha = 0;
      for (int64_t k = 0; k < len; ++k) alpha += fabs(at(k)) / double(len);
      for (int64_t k = 0; k < len; ++k) at(k) = float(at(k) < 0 ? -alpha : alpha);
    }
    const double mu = st->second.mean, beta = st->second.mean_abs_deviation > 0 ? st->second.mean_abs_deviation : 1.0;
    // mu * sum(W) per output channel, from the float weights.
    const Value& wf = *g->Constant(node.inputs[1]);
    std::vector<double> shift(rows, 0.0);
    for (int64_t o = 0; o < rows; ++o)
      for (int64_t k = 0; k < len; ++k) shift[o] += mu * (out_axis0 ? wf.f[o * len + k] : wf.f[k * rows + o]);
    std::vector<float> bias(rows, 0.0f);
    if (node.inputs.size() > 2 && !node.inputs[2].empty()) {
      const Value* b = g->Constant(node.inputs[2]);
      if (!b || b->count() != rows) {
        *error = "--binarize: " + node.Describe() + " needs a constant bias with one value per output";
        return false;
      }
      const double scale = node.op == "Gemm" ? node.Float("beta", 1.0f) : 1.0;
      for (int64_t o = 0; o < rows; ++o) bias[o] = float(scale * b->at(o));
    }
    // y = beta * (sign(x - mu) * Wb + (b + mu * sum W) / beta)
    for (int64_t o = 0; o < rows; ++o) bias[o] = float((bias[o] + shift[o]) / beta);
    const std::string p = node.name + ".binarize";
    const std::string wn = p + ".weight", bn = p + ".bias", mn = p + ".mean", cn = p + ".centered",
                      sn = p + ".sign", betan = p + ".beta", raw = node.outputs[0] + ".unscaled";
    g->constants[wn] = w;
    g->constants[bn] = Value::Float({rows}, bias);
    g->constants[mn] = Value::Float({}, {float(mu)});
    g->constants[betan] = Value::Float({}, {float(beta)});
    g->shapes[wn] = w.shape;
    g->shapes[cn] = g->shapes[sn] = g->shapes[x];
    g->shapes[raw] = g->shapes[node.outputs[0]];
    auto make = [](const std::string& op, const std::string& name, std::vector<std::string> in, std::string out) {
      Node m;
      m.op = op;
      m.name = name;
      m.inputs = std::move(in);
      m.outputs = {std::move(out)};
      return m;
    };
    const Node center = make("Sub", p + ".center", {x, mn}, cn);
    const Node sign = make("Sign", p + ".sign", {cn}, sn);
    const Node scale = make("Mul", p + ".scale", {raw, betan}, node.outputs[0]);
    Node& layer = g->nodes[n];
    layer.inputs = {sn, wn};
    if (node.op != "MatMul") layer.inputs.push_back(bn);
    layer.outputs = {raw};
    if (node.op == "Gemm") {  // alpha and beta of Gemm are folded into the weights and bias
      for (float& v : g->constants[wn].f) v *= node.Float("alpha", 1.0f);
      layer.attrs.erase("alpha");
      layer.attrs.erase("beta");
    }
    g->nodes.insert(g->nodes.begin() + n + 1, scale);
    if (node.op == "MatMul") {  // MatMul has no bias input: add it after the scale
      g->nodes[n + 1].outputs = {raw + ".scaled"};
      g->shapes[raw + ".scaled"] = g->shapes[node.outputs[0]];
      Value b = g->constants[bn];
      for (float& v : b.f) v *= float(beta);
      g->constants[bn] = b;
      g->nodes.insert(g->nodes.begin() + n + 2, make("Add", p + ".add_bias", {raw + ".scaled", bn}, node.outputs[0]));
    }
    g->nodes.insert(g->nodes.begin() + n, sign);
    g->nodes.insert(g->nodes.begin() + n, center);
    chosen->push_back(node.name);
  }
  std::reverse(chosen->begin(), chosen->end());
  return true;
}

bool MeasureDrift(const Graph& original, const Graph& changed, const Value& batch, Drift* d, std::string* error) {
  if (!CheckBatch(original, batch, error)) return false;
  const auto& shape = original.input_shapes.at(original.inputs[0]);
  *d = Drift();
  int64_t agree = 0;
  for (int64_t i = 0; i < batch.shape[0]; ++i) {
    std::map<std::string, Value> a, b;
    const Value x = Item(batch, shape, i);
    if (!RunGraph(original, {{original.inputs[0], x}}, &a, error) ||
        !RunGraph(changed, {{changed.inputs[0], x}}, &b, error))
      return false;
    const Value& ya = a.at(original.outputs[0]);
    const Value& yb = b.at(changed.outputs[0]);
    double peak = 0, diff = 0;
    for (int64_t k = 0; k < ya.count(); ++k) {
      peak = std::max(peak, double(fabs(ya.f[k])));
      diff = std::max(diff, double(fabs(ya.f[k] - yb.f[k])));
    }
    d->max_relative = std::max(d->max_relative, peak > 0 ? diff / peak : diff);
    agree += std::max_element(ya.f.begin(), ya.f.end()) - ya.f.begin() ==
             std::max_element(yb.f.begin(), yb.f.end()) - yb.f.begin();
  }
  d->top1_agree = 100.0 * double(agree) / double(batch.shape[0]);
  return true;
}

Int8Input QuantizeRange(const TensorStats& s) {
  // The range must contain 0 so that zero (padding) is exact.
  const double lo = std::min(0.0, double(s.min)), hi = std::max(0.0, double(s.max));
  Int8Input q;
  q.scale = float(hi > lo ? (hi - lo) / 255.0 : 1.0);
  q.zero_point = int32_t(std::lround(-128.0 - lo / q.scale));
  q.zero_point = std::min(127, std::max(-128, q.zero_point));
  return q;
}

std::set<std::string> Int8Layers(const Graph& g) {
  std::set<std::string> r;
  for (const Node& n : g.nodes) {
    if (n.op != "Conv") continue;
    const bool first = std::find(g.inputs.begin(), g.inputs.end(), n.inputs[0]) != g.inputs.end();
    const bool last = g.IsOutput(n.outputs[0]);
    if (first || last) r.insert(n.name);
  }
  return r;
}

}  // namespace bnnc
