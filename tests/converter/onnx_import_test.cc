// ONNX import: a model written with the protobuf API, and damaged files
// that must give errors, never crashes.
#include <catch2/catch.hpp>
#include <random>

#include "onnx/onnx_pb.h"
#include "onnx_import.h"

namespace {

std::string SmallModel(int64_t opset = 13) {
  onnx::ModelProto m;
  m.set_ir_version(7);
  m.set_producer_name("test");
  auto* op = m.add_opset_import();
  op->set_domain("");
  op->set_version(opset);
  auto* g = m.mutable_graph();
  auto* in = g->add_input();
  in->set_name("x");
  auto* tt = in->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx::TensorProto::FLOAT);
  for (int64_t d : {1, 2, 3, 3}) tt->mutable_shape()->add_dim()->set_dim_value(d);
  auto* w = g->add_initializer();
  w->set_name("w");
  w->set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : {4, 2, 1, 1}) w->add_dims(d);
  for (int k = 0; k < 8; ++k) w->add_float_data(float(k) - 3.5f);
  auto* n = g->add_node();
  n->set_op_type("Conv");
  n->add_input("x");
  n->add_input("w");
  n->add_output("y");
  auto* a = n->add_attribute();
  a->set_name("strides");
  a->set_type(onnx::AttributeProto::INTS);
  a->add_ints(1);
  a->add_ints(1);
  g->add_output()->set_name("y");
  return m.SerializeAsString();
}

}  // namespace

TEST_CASE("A small model imports with its initializers, attributes and shapes") {
  bnnc::Graph g;
  std::string error;
  REQUIRE(bnnc::ImportOnnxBytes(SmallModel(), &g, &error));
  CHECK(g.opset == 13);
  CHECK(g.inputs == std::vector<std::string>{"x"});
  CHECK(g.input_shapes.at("x") == std::vector<int64_t>{1, 2, 3, 3});
  REQUIRE(g.nodes.size() == 1);
  CHECK(g.nodes[0].op == "Conv");
  CHECK(g.nodes[0].Ints("strides") == std::vector<int64_t>{1, 1});
  CHECK(g.constants.at("w").f[7] == 3.5f);
}

TEST_CASE("Opsets outside 9..17 are refused with the supported range") {
  bnnc::Graph g;
  std::string error;
  CHECK_FALSE(bnnc::ImportOnnxBytes(SmallModel(8), &g, &error));
  CHECK_THAT(error, Catch::Contains("opset 8") && Catch::Contains("9 to 17"));
  CHECK_FALSE(bnnc::ImportOnnxBytes(SmallModel(18), &g, &error));
}

TEST_CASE("A missing file, an empty file and garbage give errors") {
  bnnc::Graph g;
  std::string error;
  CHECK_FALSE(bnnc::ImportOnnx("/nonexistent/model.onnx", &g, &error));
  CHECK_THAT(error, Catch::Contains("cannot open"));
  CHECK_FALSE(bnnc::ImportOnnxBytes("", &g, &error));
  CHECK_FALSE(bnnc::ImportOnnxBytes("this is not a protobuf at all", &g, &error));
  CHECK_THAT(error, Catch::Contains("not a valid ONNX file"));
}

TEST_CASE("Every truncation and random byte damage is an error or a valid graph, never a crash") {
  const std::string good = SmallModel();
  int errors = 0;
  for (size_t len = 0; len < good.size(); ++len) {
    bnnc::Graph g;
    std::string error;
    if (!bnnc::ImportOnnxBytes(good.substr(0, len), &g, &error)) {
      CHECK(!error.empty());
      ++errors;
    }
  }
  CHECK(errors > int(good.size()) / 2);
  std::mt19937 rng(1);
  for (int trial = 0; trial < 3000; ++trial) {
    std::string bad = good;
    for (int k = 0; k < 3; ++k) bad[rng() % bad.size()] = char(rng());
    bnnc::Graph g;
    std::string error;
    if (!bnnc::ImportOnnxBytes(bad, &g, &error)) CHECK(!error.empty());
  }
}

TEST_CASE("Raw data whose size disagrees with the shape is refused, naming the tensor") {
  onnx::ModelProto m;
  REQUIRE(m.ParseFromString(SmallModel()));
  auto* w = m.mutable_graph()->mutable_initializer(0);
  w->clear_float_data();
  w->set_raw_data(std::string(12, '\0'));  // 3 floats for a 4x2x1x1 tensor
  bnnc::Graph g;
  std::string error;
  CHECK_FALSE(bnnc::ImportOnnxBytes(m.SerializeAsString(), &g, &error));
  CHECK_THAT(error, Catch::Contains("tensor 'w'"));
}
