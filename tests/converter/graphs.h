// Small IR graphs for the converter's tests, written node by node.
#pragma once

#include <map>
#include <random>
#include <string>
#include <vector>

#include "bnn/bnn.hpp"
#include "bnn/model_builder.hpp"
#include "evaluator.h"
#include "ir.h"
#include "lower.h"
#include "passes.h"

namespace bnnc_test {

using bnnc::Attr;
using bnnc::Graph;
using bnnc::Node;
using bnnc::Value;

inline Attr Ints(std::vector<int64_t> v) {
  Attr a;
  a.kind = Attr::INTS;
  a.ints = std::move(v);
  return a;
}
inline Attr Int(int64_t v) {
  Attr a;
  a.kind = Attr::INT;
  a.i = v;
  return a;
}
inline Attr Float(float v) {
  Attr a;
  a.kind = Attr::FLOAT;
  a.f = v;
  return a;
}

inline Node& Add(Graph& g, const std::string& op, std::vector<std::string> in, std::vector<std::string> out,
                 std::map<std::string, Attr> attrs = {}) {
  Node n;
  n.op = op;
  n.name = op + "_" + std::to_string(g.nodes.size());
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  n.attrs = std::move(attrs);
  g.nodes.push_back(n);
  return g.nodes.back();
}

inline std::vector<float> Random(size_t n, uint32_t seed, float lo = -1, float hi = 1) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

inline Value Const(Graph& g, const std::string& name, std::vector<int64_t> shape, std::vector<float> data) {
  g.constants[name] = Value::Float(shape, data);
  return g.constants[name];
}

// +/-alpha weights per output channel (OIHW or [O, K]).
inline std::vector<float> BinaryWeights(int64_t out, int64_t row, uint32_t seed) {
  std::vector<float> w = Random(out * row, seed);
  const std::vector<float> alpha = Random(out, seed + 1, 0.1f, 2.0f);
  for (int64_t o = 0; o < out; ++o)
    for (int64_t k = 0; k < row; ++k) w[o * row + k] = (w[o * row + k] < 0 ? -1.0f : 1.0f) * alpha[o];
  return w;
}

inline void Input(Graph& g, const std::string& name, std::vector<int64_t> shape) {
  g.inputs.push_back(name);
  g.input_shapes[name] = shape;
  g.opset = g.opset ? g.opset : 13;
}

struct Compared {
  double max_difference = 0;
  double max_reference = 0;  // largest |output| of the float interpreter
  std::string error;
};

// Runs `g` with the float interpreter and, after RunPasses and Lower, with
// the runtime, on the same random input; the largest output difference.
// With `int8`, the first and last convolutions run in int8, calibrated on
// 16 random items.
inline Compared ConvertAndCompare(const Graph& original, uint32_t seed, int items = 3, bool int8 = false) {
  Compared r;
  Graph g = original;
  bnnc::PassLog log;
  bnnc::PassOptions opt;
  if (!bnnc::RunPasses(&g, opt, &log, &r.error)) return r;
  Graph ref = original;
  if (!bnnc::InferShapes(&ref, opt, &r.error)) return r;
  bnnc::LowerOptions lo;
  if (int8) {
    Value batch;
    batch.shape = ref.input_shapes.at(ref.inputs[0]);
    batch.shape[0] = 16;
    batch.f = Random(batch.count(), seed + 7, -2, 2);
    if (!bnnc::CollectStats(ref, batch, &lo.stats, &r.error)) return r;
    lo.int8_layers = bnnc::Int8Layers(g);
  }
  bnn::ModelBuilder b;
  if (!bnnc::Lower(g, bnnc::ModelInfo(), &b, &r.error, lo)) return r;
  const std::vector<uint8_t> bytes = b.Finish();
  alignas(64) static uint8_t buffer[1 << 22];
  if (bytes.size() > sizeof(buffer)) { r.error = "model too large for the test buffer"; return r; }
  std::copy(bytes.begin(), bytes.end(), buffer);
  bnn::Model model;
  if (bnn::Model::Load(buffer, bytes.size(), &model) != BNN_OK) { r.error = bnn_last_load_error(); return r; }
  bnn::Interpreter it;
  if (bnn::Interpreter::Create(model, &it) != BNN_OK) { r.error = bnn_last_load_error(); return r; }
  for (int item = 0; item < items; ++item) {
    std::map<std::string, Value> in, values;
    for (size_t k = 0; k < ref.inputs.size(); ++k) {
      const auto& s = ref.input_shapes.at(ref.inputs[k]);
      Value v;
      v.shape = s;
      v.f = Random(v.count(), seed + 100 * item + k, -2, 2);
      // NCHW -> NHWC for the runtime
      float* dst = it.input<float>(int(k));
      if (s.size() == 4) {
        for (int64_t c = 0; c < s[1]; ++c)
          for (int64_t y = 0; y < s[2]; ++y)
            for (int64_t x = 0; x < s[3]; ++x) dst[(y * s[3] + x) * s[1] + c] = v.f[(c * s[2] + y) * s[3] + x];
      } else {
        std::copy(v.f.begin(), v.f.end(), dst);
      }
      in[ref.inputs[k]] = v;
    }
    if (!bnnc::RunGraph(ref, in, &values, &r.error)) return r;
    if (it.Invoke() != BNN_OK) { r.error = it.error(); return r; }
    for (size_t o = 0; o < ref.outputs.size(); ++o) {
      const Value& want = values.at(ref.outputs[o]);
      const float* got = it.output<float>(int(o));
      const auto& s = want.shape;
      for (int64_t i = 0; i < want.count(); ++i) {
        int64_t j = i;
        if (s.size() == 4) {
          const int64_t x = i % s[3], y = (i / s[3]) % s[2], c = (i / (s[2] * s[3])) % s[1], n = i / (s[1] * s[2] * s[3]);
          j = ((n * s[2] + y) * s[3] + x) * s[1] + c;
        }
        r.max_difference = std::max(r.max_difference, double(std::abs(got[j] - want.f[i])));
        r.max_reference = std::max(r.max_reference, double(std::abs(want.f[i])));
      }
    }
  }
  return r;
}

}  // namespace bnnc_test
