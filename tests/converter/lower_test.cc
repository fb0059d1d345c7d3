// Lowering to .bnn: every layout-sensitive op converted and run through the
// runtime against the float interpreter, and the refusal of what cannot run.
#include <catch2/catch.hpp>

#include "graphs.h"

using namespace bnnc_test;

namespace {

void ExpectMatch(const Graph& g, double tolerance = 1e-4) {
  const Compared r = ConvertAndCompare(g, 17);
  INFO(r.error);
  REQUIRE(r.error.empty());
  CHECK(r.max_difference < tolerance);
}

}  // namespace

TEST_CASE("Flatten of an NCHW tensor feeds a float Gemm in ONNX order") {
  Graph g;
  Input(g, "x", {1, 3, 4, 5});
  Const(g, "w", {60, 7}, Random(420, 1));
  Const(g, "c", {7}, Random(7, 2));
  Add(g, "Flatten", {"x"}, {"f"});
  Add(g, "Gemm", {"f", "w", "c"}, {"y"}, {{"alpha", Float(0.5f)}, {"beta", Float(2.0f)}});
  g.outputs = {"y"};
  ExpectMatch(g);
}

TEST_CASE("A binary fully-connected layer after flatten, then BatchNorm1d (BinaryNet's last layer)") {
  Graph g;
  Input(g, "x", {1, 4, 3, 3});
  Const(g, "w", {10, 36}, BinaryWeights(10, 36, 4));
  Const(g, "s", {10}, Random(10, 1, 0.5f, 2));
  Const(g, "b", {10}, Random(10, 2));
  Const(g, "m", {10}, Random(10, 3));
  Const(g, "v", {10}, Random(10, 4, 0.5f, 2));
  Add(g, "Sign", {"x"}, {"s0"});
  Add(g, "Flatten", {"s0"}, {"f"});
  Add(g, "Gemm", {"f", "w"}, {"g"}, {{"transB", Int(1)}});
  Add(g, "BatchNormalization", {"g", "s", "b", "m", "v"}, {"y"});
  g.outputs = {"y"};
  ExpectMatch(g, 1e-3);
}

TEST_CASE("Concat on the channel axis, Transpose, Pad and Softmax keep ONNX semantics") {
  Graph g;
  Input(g, "x", {1, 2, 3, 4});
  Input(g, "z", {1, 3, 3, 4});
  Add(g, "Concat", {"x", "z"}, {"c"}, {{"axis", Int(1)}});
  Const(g, "pads", {8}, {0, 0, 1, 0, 0, 0, 2, 1});
  g.constants["pads"] = Value::Int({8}, {0, 0, 1, 0, 0, 0, 2, 1});
  Add(g, "Pad", {"c", "pads"}, {"p"});
  Add(g, "Softmax", {"p"}, {"sm"}, {{"axis", Int(1)}});
  Add(g, "Transpose", {"sm"}, {"y"}, {{"perm", Ints({0, 3, 1, 2})}});
  g.outputs = {"y"};
  ExpectMatch(g, 1e-5);
}

TEST_CASE("Max-pooling of signs runs on packed bits, with one padding before a binary conv") {
  Graph g;
  Input(g, "x", {1, 8, 6, 6});
  Add(g, "Sign", {"x"}, {"s"});
  Add(g, "MaxPool", {"s"}, {"mp"}, {{"kernel_shape", Ints({2, 2})}, {"strides", Ints({2, 2})}});
  g.constants["pads"] = Value::Int({8}, {0, 0, 1, 1, 0, 0, 1, 1});
  g.constants["one"] = Value::Float({}, {1.0f});
  Add(g, "Pad", {"mp", "pads", "one"}, {"p"});
  Const(g, "w", {5, 8, 3, 3}, BinaryWeights(5, 72, 2));
  Add(g, "Conv", {"p", "w"}, {"y"});
  g.outputs = {"y"};
  Graph converted = g;
  bnnc::PassLog log;
  std::string error;
  REQUIRE(bnnc::RunPasses(&converted, bnnc::PassOptions(), &log, &error));
  REQUIRE(converted.nodes.back().op == "bnn.BinaryConv");
  CHECK(converted.nodes.back().Int("pad_value", 0) == 1);
  ExpectMatch(g, 1e-4);
}

TEST_CASE("Real-valued shortcut: average pool, 1x1 float conv, add, PReLU, global pool") {
  Graph g;
  Input(g, "x", {1, 4, 6, 6});
  Add(g, "AveragePool", {"x"}, {"ap"}, {{"kernel_shape", Ints({2, 2})}, {"strides", Ints({2, 2})}});
  Const(g, "w1", {8, 4, 1, 1}, Random(32, 3));
  Add(g, "Conv", {"ap", "w1"}, {"sc"});
  Add(g, "Sign", {"x"}, {"s"});
  Const(g, "w", {8, 4, 3, 3}, BinaryWeights(8, 36, 5));
  Add(g, "Conv", {"s", "w"}, {"c"}, {{"pads", Ints({1, 1, 1, 1})}, {"strides", Ints({2, 2})}});
  Add(g, "Add", {"c", "sc"}, {"r"});
  Const(g, "slope", {8, 1, 1}, Random(8, 6, 0, 0.5f));
  Add(g, "PRelu", {"r", "slope"}, {"pr"});
  Const(g, "k", {1, 8, 1, 1}, Random(8, 7));
  Add(g, "Sub", {"k", "pr"}, {"d"});
  Add(g, "GlobalAveragePool", {"d"}, {"gp"});
  Add(g, "Flatten", {"gp"}, {"y"});
  g.outputs = {"y"};
  ExpectMatch(g, 1e-4);
}

TEST_CASE("Every unsupported node is named in one error") {
  Graph g;
  Input(g, "x", {1, 4});
  Add(g, "Tanh", {"x"}, {"a"});
  Add(g, "Relu", {"a"}, {"b"});
  Add(g, "Exp", {"b"}, {"y"});
  g.outputs = {"y"};
  bnnc::PassLog log;
  std::string error;
  REQUIRE(bnnc::RunPasses(&g, bnnc::PassOptions(), &log, &error));
  bnn::ModelBuilder b;
  CHECK_FALSE(bnnc::Lower(g, bnnc::ModelInfo(), &b, &error));
  CHECK_THAT(error, Catch::Contains("2 nodes cannot be converted") && Catch::Contains("Tanh 'Tanh_0'") &&
                        Catch::Contains("Exp 'Exp_2'"));
}

TEST_CASE("A sign used by a real-valued op is refused with the reason") {
  Graph g;
  Input(g, "x", {1, 4});
  Add(g, "Sign", {"x"}, {"s"});
  Add(g, "Relu", {"s"}, {"y"});
  g.outputs = {"y"};
  bnnc::PassLog log;
  std::string error;
  REQUIRE(bnnc::RunPasses(&g, bnnc::PassOptions(), &log, &error));
  bnn::ModelBuilder b;
  CHECK_FALSE(bnnc::Lower(g, bnnc::ModelInfo(), &b, &error));
  CHECK_THAT(error, Catch::Contains("Relu 'Relu_1'") && Catch::Contains("binary"));
}

TEST_CASE("Dynamic input dimensions need --input-shape; a dynamic batch becomes 1") {
  Graph g;
  Input(g, "x", {-1, 3, -1, -1});
  Add(g, "Relu", {"x"}, {"y"});
  g.outputs = {"y"};
  bnnc::PassOptions opt;
  std::string error;
  Graph a = g;
  CHECK_FALSE(bnnc::InferShapes(&a, opt, &error));
  CHECK_THAT(error, Catch::Contains("--input-shape"));
  opt.input_shapes["x"] = {1, 3, 8, 8};
  Graph b = g;
  REQUIRE(bnnc::InferShapes(&b, opt, &error));
  CHECK(b.shapes.at("y") == std::vector<int64_t>{1, 3, 8, 8});
  opt.input_shapes["x"] = {1, 4, 8, 8};
  Graph c = g;
  CHECK_FALSE(bnnc::InferShapes(&c, opt, &error));
  CHECK_THAT(error, Catch::Contains("contradicts"));
}
