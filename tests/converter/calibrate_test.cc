// Calibration statistics, post-training binarisation and int8 layers.
#include <math.h>

#include <catch2/catch.hpp>

#include "calibrate.h"
#include "graphs.h"

using namespace bnnc_test;

namespace {

// x -> conv -> relu -> conv -> relu -> conv -> y, float weights.
Graph ThreeConvs() {
  Graph g;
  Input(g, "x", {1, 3, 8, 8});
  Const(g, "w0", {8, 3, 3, 3}, Random(216, 1));
  Const(g, "w1", {8, 8, 3, 3}, Random(576, 2));
  Const(g, "b1", {8}, Random(8, 3));
  Const(g, "w2", {4, 8, 1, 1}, Random(32, 4));
  Add(g, "Conv", {"x", "w0"}, {"c0"}, {{"pads", Ints({1, 1, 1, 1})}});
  Add(g, "Relu", {"c0"}, {"r0"});
  Add(g, "Conv", {"r0", "w1", "b1"}, {"c1"}, {{"pads", Ints({1, 1, 1, 1})}});
  Add(g, "Relu", {"c1"}, {"r1"});
  Add(g, "Conv", {"r1", "w2"}, {"y"});
  g.outputs = {"y"};
  return g;
}

Value Batch(int64_t n, const std::vector<int64_t>& item, uint32_t seed) {
  Value v;
  v.shape = item;
  v.shape[0] = n;
  v.f = Random(v.count(), seed, -2, 2);
  return v;
}

}  // namespace

TEST_CASE("CollectStats records range, mean and mean absolute deviation") {
  Graph g;
  Input(g, "x", {1, 4});
  Add(g, "Relu", {"x"}, {"y"});
  g.outputs = {"y"};
  Value batch = Value::Float({2, 4}, {-1, 0, 1, 2, 3, 4, -5, 0});
  std::map<std::string, bnnc::TensorStats> s;
  std::string error;
  REQUIRE(bnnc::CollectStats(g, batch, &s, &error));
  CHECK(s.at("x").min == -5);
  CHECK(s.at("x").max == 4);
  CHECK(s.at("x").mean == Approx(0.5));
  CHECK(s.at("x").mean_abs_deviation == Approx((1.5 + 0.5 + 0.5 + 1.5 + 2.5 + 3.5 + 5.5 + 0.5) / 8));
  CHECK(s.at("y").min == 0);
  Value wrong = Value::Float({2, 3}, std::vector<float>(6, 0));
  CHECK_FALSE(bnnc::CollectStats(g, wrong, &s, &error));
  CHECK_THAT(error, Catch::Contains("does not fit"));
}

TEST_CASE("--binarize all binarises the middle layer, and the runtime computes exactly the binarised graph") {
  Graph g = ThreeConvs();
  bnnc::PassOptions opt;
  std::string error;
  REQUIRE(bnnc::InferShapes(&g, opt, &error));
  std::map<std::string, bnnc::TensorStats> stats;
  REQUIRE(bnnc::CollectStats(g, Batch(16, {1, 3, 8, 8}, 5), &stats, &error));
  Graph b = g;
  std::vector<std::string> chosen;
  REQUIRE(bnnc::BinarizeLayers(&b, {"all"}, stats, &chosen, &error));
  REQUIRE(chosen == std::vector<std::string>{"Conv_2"});
  bnnc::Drift drift;
  REQUIRE(bnnc::MeasureDrift(g, b, Batch(8, {1, 3, 8, 8}, 6), &drift, &error));
  CHECK(drift.max_relative > 0);  // binarisation changes the output...
  CHECK(drift.max_relative < 2);  // ...but keeps its scale
  Graph converted = b;
  bnnc::PassLog log;
  REQUIRE(bnnc::RunPasses(&converted, opt, &log, &error));
  int binary = 0;
  for (const Node& n : converted.nodes) binary += n.op == "bnn.BinaryConv";
  CHECK(binary == 1);
  const Compared r = ConvertAndCompare(b, 9);
  INFO(r.error);
  REQUIRE(r.error.empty());
  CHECK(r.max_difference < 1e-3);
}

TEST_CASE("--binarize names an unknown layer") {
  Graph g = ThreeConvs();
  std::string error;
  REQUIRE(bnnc::InferShapes(&g, bnnc::PassOptions(), &error));
  std::vector<std::string> chosen;
  CHECK_FALSE(bnnc::BinarizeLayers(&g, {"nope"}, {}, &chosen, &error));
  CHECK_THAT(error, Catch::Contains("'nope'"));
}

TEST_CASE("Int8 inputs represent zero exactly and cover the calibrated range") {
  for (auto range : std::vector<std::pair<float, float>>{{-1, 3}, {0.5f, 2}, {-4, -1}, {0, 0}}) {
    bnnc::TensorStats s;
    s.min = range.first;
    s.max = range.second;
    const bnnc::Int8Input q = bnnc::QuantizeRange(s);
    CHECK(q.zero_point >= -128);
    CHECK(q.zero_point <= 127);
    const double lo = (-128 - q.zero_point) * double(q.scale), hi = (127 - q.zero_point) * double(q.scale);
    CHECK(lo <= std::min(0.0f, s.min) + q.scale);
    CHECK(hi >= std::max(0.0f, s.max) - q.scale);
  }
}

TEST_CASE("--int8 runs the first and last convolutions in int8 within quantisation error") {
  Graph g = ThreeConvs();
  std::string error;
  REQUIRE(bnnc::InferShapes(&g, bnnc::PassOptions(), &error));
  bnnc::LowerOptions lo;
  REQUIRE(bnnc::CollectStats(g, Batch(16, {1, 3, 8, 8}, 5), &lo.stats, &error));
  Graph converted = g;
  bnnc::PassLog log;
  REQUIRE(bnnc::RunPasses(&converted, bnnc::PassOptions(), &log, &error));
  lo.int8_layers = bnnc::Int8Layers(converted);
  CHECK(lo.int8_layers == std::set<std::string>{"Conv_0", "Conv_4"});
  bnn::ModelBuilder b;
  REQUIRE(bnnc::Lower(converted, bnnc::ModelInfo(), &b, &error, lo));
  int quantize = 0, s8 = 0;
  for (const auto& op : b.model().operators) quantize += op->type == bnn::fb::OpType::QUANTIZE;
  for (const auto& t : b.model().tensors) s8 += t->type == bnn::fb::DataType::S8;
  CHECK(quantize == 2);
  CHECK(s8 == 4);  // two quantised inputs, two weight tensors
  const Compared f = ConvertAndCompare(g, 21, 3, false), q = ConvertAndCompare(g, 21, 3, true);
  INFO(q.error);
  REQUIRE(q.error.empty());
  // Two 8-bit layers: errors of a few percent of the output's range.
  INFO("largest output " << q.max_reference << ", int8 difference " << q.max_difference);
  CHECK(f.max_difference < 1e-4);
  CHECK(q.max_difference > f.max_difference);
  CHECK(q.max_difference < 0.03 * q.max_reference);
}
