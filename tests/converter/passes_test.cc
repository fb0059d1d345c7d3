// Each graph pass on a graph written for it, then whole conversions checked
// against the float interpreter through the runtime.
#include <math.h>

#include <catch2/catch.hpp>

#include "graphs.h"

using namespace bnnc_test;

namespace {

std::vector<std::string> Ops(const Graph& g) {
  std::vector<std::string> ops;
  for (const Node& n : g.nodes) ops.push_back(n.op);
  return ops;
}

bool Infer(Graph& g) {
  std::string error;
  const bool ok = bnnc::InferShapes(&g, bnnc::PassOptions(), &error);
  INFO(error);
  return ok;
}

// x -> Sign -> binary 3x3 conv (+/-alpha weights) -> BatchNorm -> y
Graph BinaryConvGraph(int64_t cin, int64_t cout, bool with_bn = true) {
  Graph g;
  Input(g, "x", {1, cin, 6, 6});
  Const(g, "w", {cout, cin, 3, 3}, BinaryWeights(cout, cin * 9, 7));
  Add(g, "Sign", {"x"}, {"xs"});
  Add(g, "Conv", {"xs", "w"}, {"c"}, {{"pads", Ints({1, 1, 1, 1})}});
  if (with_bn) {
    Const(g, "s", {cout}, Random(cout, 1, 0.5f, 2));
    Const(g, "b", {cout}, Random(cout, 2));
    Const(g, "m", {cout}, Random(cout, 3));
    Const(g, "v", {cout}, Random(cout, 4, 0.5f, 2));
    Add(g, "BatchNormalization", {"c", "s", "b", "m", "v"}, {"y"});
  } else {
    g.nodes.back().outputs = {"y"};
  }
  g.outputs = {"y"};
  return g;
}

}  // namespace

TEST_CASE("StripSteResidue reduces f - g + g to f, in either operand order") {
  for (int order = 0; order < 2; ++order) {
    Graph g;
    Input(g, "x", {1, 4});
    Add(g, "Sign", {"x"}, {"f"});
    Add(g, "Tanh", {"x"}, {"approx"});
    Add(g, "Sub", {"f", "approx"}, {"d"});
    if (order == 0) Add(g, "Add", {"d", "approx"}, {"y"});
    else Add(g, "Add", {"approx", "d"}, {"y"});
    Add(g, "Relu", {"y"}, {"out"});
    g.outputs = {"out"};
    bnnc::StripSteResidue(&g, nullptr);
    REQUIRE(Ops(g) == std::vector<std::string>{"Sign", "Relu"});
    CHECK(g.nodes[1].inputs[0] == "f");
  }
}

TEST_CASE("StripSteResidue leaves a real subtraction alone") {
  Graph g;
  Input(g, "x", {1, 4});
  Input(g, "z", {1, 4});
  Add(g, "Sub", {"x", "z"}, {"d"});
  Add(g, "Add", {"d", "x"}, {"y"});  // x - z + x is not a residue
  g.outputs = {"y"};
  bnnc::StripSteResidue(&g, nullptr);
  CHECK(Ops(g) == std::vector<std::string>{"Sub", "Add"});
}

TEST_CASE("FoldConstants computes XNOR-Net weight scaling and Shape") {
  Graph g;
  Input(g, "x", {1, 2, 3, 3});
  Const(g, "w", {4, 2, 3, 3}, Random(72, 5));
  Add(g, "Sign", {"w"}, {"ws"});
  Add(g, "Abs", {"w"}, {"wa"});
  Add(g, "ReduceMean", {"wa"}, {"alpha"}, {{"axes", Ints({1, 2, 3})}, {"keepdims", Int(1)}});
  Add(g, "Mul", {"ws", "alpha"}, {"wb"});
  Add(g, "Conv", {"x", "wb"}, {"c"});
  Add(g, "Shape", {"c"}, {"shape"});
  Add(g, "Reshape", {"c", "shape"}, {"y"});
  g.outputs = {"y"};
  REQUIRE(Infer(g));
  std::string error;
  REQUIRE(bnnc::FoldConstants(&g, nullptr, &error));
  REQUIRE(Ops(g) == std::vector<std::string>{"Conv", "Reshape"});
  const Value& wb = g.constants.at("wb");
  const Value& w = g.constants.at("w");
  for (int o = 0; o < 4; ++o) {
    double mean = 0;
    for (int k = 0; k < 18; ++k) mean += fabs(w.f[o * 18 + k]) / 18;
    for (int k = 0; k < 18; ++k) CHECK(wb.f[o * 18 + k] == Approx((w.f[o * 18 + k] < 0 ? -1 : 1) * mean));
  }
  CHECK(g.constants.at("shape").i == std::vector<int64_t>{1, 4, 1, 1});
}

TEST_CASE("SimplifySigns drops a hard-tanh before a sign, but not a one-sided clip") {
  Graph g;
  Input(g, "x", {1, 4});
  Const(g, "lo", {}, {-1});
  Const(g, "hi", {}, {1});
  Const(g, "zero", {}, {0});
  Add(g, "Clip", {"x", "lo", "hi"}, {"h"});
  Add(g, "Sign", {"h"}, {"s"});
  Add(g, "Clip", {"x", "zero", "hi"}, {"h2"});
  Add(g, "Sign", {"h2"}, {"s2"});
  g.outputs = {"s", "s2"};
  bnnc::SimplifySigns(&g, nullptr);
  REQUIRE(Ops(g) == std::vector<std::string>{"Sign", "Clip", "Sign"});
  CHECK(g.nodes[0].inputs[0] == "x");
  CHECK(g.nodes[2].inputs[0] == "h2");  // clip(x, 0, 1) maps negatives to 0, not -1
}

TEST_CASE("MoveSignsPastReshapes puts the sign right before the fully-connected layer") {
  Graph g;
  Input(g, "x", {1, 2, 2, 2});
  Add(g, "Sign", {"x"}, {"s"});
  Add(g, "Flatten", {"s"}, {"f"});
  Const(g, "w", {3, 8}, BinaryWeights(3, 8, 3));
  Add(g, "Gemm", {"f", "w"}, {"y"}, {{"transB", Int(1)}});
  g.outputs = {"y"};
  REQUIRE(Infer(g));
  bnnc::MoveSignsPastReshapes(&g, nullptr);
  REQUIRE(Ops(g) == std::vector<std::string>{"Flatten", "Sign", "Gemm"});
  CHECK(g.nodes[1].outputs[0] == "f");
  CHECK(g.shapes.at(g.nodes[0].outputs[0]) == std::vector<int64_t>{1, 8});
}

TEST_CASE("FuseSignThresholds turns RSign's learnable shift into thresholds") {
  Graph g;
  Input(g, "x", {1, 3, 2, 2});
  Const(g, "shift", {1, 3, 1, 1}, {0.5f, -0.25f, 2.0f});
  Add(g, "Add", {"x", "shift"}, {"xs"});
  Add(g, "Sign", {"xs"}, {"s"});
  g.outputs = {"s"};
  REQUIRE(Infer(g));
  bnnc::FuseSignThresholds(&g, nullptr);
  REQUIRE(Ops(g) == std::vector<std::string>{"bnn.Sign"});
  CHECK(g.nodes[0].inputs[0] == "x");
  CHECK(g.constants.at(g.nodes[0].inputs[1]).f == std::vector<float>{-0.5f, 0.25f, -2.0f});
}

TEST_CASE("PerChannel accepts the broadcast shapes of a channel constant") {
  std::vector<double> v;
  CHECK(bnnc::PerChannel(Value::Float({1, 3, 1, 1}, {1, 2, 3}), 4, 3, &v));
  CHECK(v == std::vector<double>{1, 2, 3});
  CHECK(bnnc::PerChannel(Value::Float({3, 1, 1}, {1, 2, 3}), 4, 3, &v));
  CHECK(bnnc::PerChannel(Value::Float({}, {5}), 4, 3, &v));
  CHECK(v == std::vector<double>{5, 5, 5});
  CHECK(bnnc::PerChannel(Value::Float({3}, {1, 2, 3}), 2, 3, &v));  // [N, C]
  CHECK_FALSE(bnnc::PerChannel(Value::Float({3}, {1, 2, 3}), 4, 3, &v));  // that is the W axis of NCHW
  CHECK_FALSE(bnnc::PerChannel(Value::Float({1, 3, 2, 1}, {1, 2, 3, 4, 5, 6}), 4, 3, &v));
}

TEST_CASE("FuseBinaryLayers folds the weight scale and BatchNorm into the output transform") {
  Graph g = BinaryConvGraph(5, 4);
  std::map<std::string, Value> before;
  bnnc::PassLog log;
  std::string error;
  REQUIRE(bnnc::RunPasses(&g, bnnc::PassOptions(), &log, &error));
  REQUIRE(Ops(g) == std::vector<std::string>{"bnn.Sign", "bnn.BinaryConv"});
  const Node& c = g.nodes[1];
  CHECK(c.Int("k", 0) == 45);
  CHECK(c.Ints("pads") == std::vector<int64_t>{1, 1, 1, 1});
  const Value& m = g.constants.at(c.inputs[2]);
  const Value& b = g.constants.at(c.inputs[3]);
  const Graph src = BinaryConvGraph(5, 4);
  const Value& w = src.constants.at("w");
  for (int o = 0; o < 4; ++o) {
    const double alpha = fabs(w.f[o * 45]);
    const double s = src.constants.at("s").f[o] / sqrt(src.constants.at("v").f[o] + 1e-5);
    CHECK(m.f[o] == Approx(alpha * s));
    CHECK(b.f[o] == Approx(src.constants.at("b").f[o] - src.constants.at("m").f[o] * s).margin(1e-6));
  }
}

TEST_CASE("A binary input with real-valued weights is refused, naming the node") {
  Graph g = BinaryConvGraph(3, 2);
  g.constants["w"].f[4] *= 1.5f;
  bnnc::PassLog log;
  std::string error;
  CHECK_FALSE(bnnc::RunPasses(&g, bnnc::PassOptions(), &log, &error));
  CHECK_THAT(error, Catch::Contains("Conv 'Conv_1'") && Catch::Contains("not +/-alpha") &&
                        Catch::Contains("output channel 0"));
}

TEST_CASE("BitsThreshold equals the runtime's float transform followed by a sign, for every accumulator") {
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> d(-3, 3);
  for (int trial = 0; trial < 2000; ++trial) {
    const int32_t k = 1 + int32_t(rng() % 300);
    float m = d(rng) * 0.01f, b = d(rng), t = trial % 3 ? 0.0f : d(rng);
    if (trial % 17 == 0) m = 0;
    float lo = -INFINITY, hi = INFINITY;
    if (trial % 5 == 0) lo = 0;
    if (trial % 7 == 0) { lo = -1; hi = 1; }
    int32_t thr, dir;
    bnnc::BitsThreshold(m, b, lo, hi, t, k, &thr, &dir);
    for (int32_t acc = -k; acc <= k; ++acc) {
      float y = float(acc) * m;
      y = y + b;
      y = y < lo ? lo : y;
      y = y > hi ? hi : y;
      const bool want = y < t;
      const bool got = dir >= 0 ? acc < thr : acc > thr;
      if (want != got) FAIL("m=" << m << " b=" << b << " t=" << t << " acc=" << acc);
    }
  }
}

TEST_CASE("A binary layer feeding only signs writes packed bits") {
  Graph g = BinaryConvGraph(8, 6);
  Const(g, "w2", {4, 6, 3, 3}, BinaryWeights(4, 54, 9));
  Add(g, "Sign", {"y"}, {"ys"});
  Add(g, "Conv", {"ys", "w2"}, {"z"}, {{"pads", Ints({1, 1, 1, 1})}});
  g.outputs = {"z"};
  Graph converted = g;
  bnnc::PassLog log;
  std::string error;
  REQUIRE(bnnc::RunPasses(&converted, bnnc::PassOptions(), &log, &error));
  REQUIRE(Ops(converted) == std::vector<std::string>{"bnn.Sign", "bnn.BinaryConv", "bnn.BinaryConv"});
  CHECK(converted.nodes[1].Int("bits_output", 0) == 1);
  CHECK(converted.nodes[2].Int("bits_output", 0) == 0);
  const Compared r = ConvertAndCompare(g, 3);
  INFO(r.error);
  REQUIRE(r.error.empty());
  CHECK(r.max_difference < 1e-3);
}

TEST_CASE("FoldAffineIntoFloatLayers folds BatchNorm and ReLU into a float convolution") {
  Graph g;
  Input(g, "x", {1, 3, 5, 5});
  Const(g, "w", {4, 3, 3, 3}, Random(108, 1));
  Const(g, "bias", {4}, Random(4, 2));
  Const(g, "s", {4}, Random(4, 3, 0.5f, 2));
  Const(g, "b", {4}, Random(4, 4));
  Const(g, "m", {4}, Random(4, 5));
  Const(g, "v", {4}, Random(4, 6, 0.5f, 2));
  Add(g, "Conv", {"x", "w", "bias"}, {"c"}, {{"strides", Ints({2, 2})}, {"pads", Ints({1, 1, 1, 1})}});
  Add(g, "BatchNormalization", {"c", "s", "b", "m", "v"}, {"n"});
  Add(g, "Relu", {"n"}, {"y"});
  g.outputs = {"y"};
  Graph converted = g;
  REQUIRE(Infer(converted));
  bnnc::FoldAffineIntoFloatLayers(&converted, nullptr);
  REQUIRE(Ops(converted) == std::vector<std::string>{"Conv"});
  CHECK(converted.nodes[0].Float("clip_min", -1) == 0.0f);
  const Compared r = ConvertAndCompare(g, 5);
  INFO(r.error);
  REQUIRE(r.error.empty());
  CHECK(r.max_difference < 1e-4);
}

TEST_CASE("FuseSignThresholds folds a positive-scale BatchNorm before a sign, but not a negative one") {
  for (float gamma1 : {1.5f, -1.5f}) {
    Graph g;
    Input(g, "x", {1, 2, 3, 3});
    Const(g, "s", {2}, {0.5f, gamma1});
    Const(g, "b", {2}, {0.25f, -1.0f});
    Const(g, "m", {2}, {1.0f, 2.0f});
    Const(g, "v", {2}, {4.0f, 0.25f});
    Add(g, "BatchNormalization", {"x", "s", "b", "m", "v"}, {"n"}, {{"epsilon", Float(0)}});
    Add(g, "Sign", {"n"}, {"y"});
    g.outputs = {"y"};
    REQUIRE(Infer(g));
    bnnc::FuseSignThresholds(&g, nullptr);
    if (gamma1 < 0) {
      CHECK(Ops(g) == std::vector<std::string>{"BatchNormalization", "bnn.Sign"});
      continue;
    }
    REQUIRE(Ops(g) == std::vector<std::string>{"bnn.Sign"});
    // (x - mean) / sqrt(var) * gamma + beta < 0  <=>  x < mean - beta * sqrt(var) / gamma
    CHECK(g.constants.at(g.nodes[0].inputs[1]).f[0] == Approx(1.0 - 0.25 * 2 / 0.5));
    CHECK(g.constants.at(g.nodes[0].inputs[1]).f[1] == Approx(2.0 + 1.0 * 0.5 / 1.5));
  }
}

// The fuzzer's out-of-memory: InferShapes allocated a graph input of any size
// up to a fixed 2^28 elements instead of the converter's (settable) limit.
TEST_CASE("InferShapes refuses a graph input over the converter's element limit") {
  const int64_t saved = bnnc::ElementLimit();
  bnnc::SetElementLimit(1000);
  Graph big;
  Input(big, "x", {1, 8, 16, 16});  // 2048 elements
  Add(big, "Relu", {"x"}, {"y"});
  big.outputs = {"y"};
  std::string error;
  const bool ok = bnnc::InferShapes(&big, bnnc::PassOptions(), &error);
  Graph small;
  Input(small, "x", {1, 8, 8, 8});  // 512 elements
  Add(small, "Relu", {"x"}, {"y"});
  small.outputs = {"y"};
  const bool small_ok = Infer(small);
  bnnc::SetElementLimit(saved);
  CHECK_FALSE(ok);
  CHECK(error.find("input 'x'") != std::string::npos);
  CHECK(error.find("1000 elements") != std::string::npos);
  CHECK(small_ok);
}
