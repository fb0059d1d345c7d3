// Writes the fuzzer's seed corpus: small valid models that cover the
// operators, so mutations start from real graphs.
#include <stdio.h>

#include <string>

#include "../bnn/models.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: make_seeds TINY.bnn OPS.bnn\n");
    return 2;
  }
  std::string error;
  if (!bnn_test::TinyBinaryNet().Build().Write(argv[1], &error)) {
    fprintf(stderr, "%s\n", error.c_str());
    return 1;
  }
  // A second graph with the data-movement and activation operators.
  using bnn::fb::DataType;
  using bnn::fb::OpType;
  bnn::ModelBuilder b;
  const int x = b.Tensor("x", DataType::F32, {1, 4, 5, 3});
  const int t = b.Tensor("t", DataType::F32, {1, 3, 4, 5});
  const int p = b.Tensor("p", DataType::F32, {1, 3, 6, 5});
  const int r = b.Tensor("r", DataType::F32, {1, 6, 12, 5});
  const int c = b.Tensor("c", DataType::F32, {1, 6, 12, 10});
  const int y = b.Tensor("y", DataType::F32, {1, 6, 12, 10});
  b.Input(x);
  b.Output(y);
  bnn::fb::TransposeOptionsT perm;
  perm.perm = {0, 3, 1, 2};
  b.Op(OpType::TRANSPOSE, {x}, {t}, bnn::Options(perm));
  bnn::fb::PadOptionsT pad;
  pad.pads = {0, 0, 1, 0, 0, 0, 1, 0};
  b.Op(OpType::PAD, {t}, {p}, bnn::Options(pad));
  bnn::fb::ResizeOptionsT resize;
  resize.out_h = 6;
  resize.out_w = 12;
  resize.mode = bnn::fb::ResizeMode::BILINEAR;
  b.Op(OpType::RESIZE, {p}, {r}, bnn::Options(resize));
  bnn::fb::ConcatOptionsT cat;
  cat.axis = 3;
  b.Op(OpType::CONCAT, {r, r}, {c}, bnn::Options(cat));
  b.Op(OpType::SIGMOID, {c}, {y});
  if (!b.Write(argv[2], &error)) {
    fprintf(stderr, "%s\n", error.c_str());
    return 1;
  }
  return 0;
}
