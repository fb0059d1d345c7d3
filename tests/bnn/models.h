// Small reference models built with bnn::ModelBuilder, shared by the runtime
// tests (and pinned: their arena and weight sizes are checked so they cannot
// silently grow).
#pragma once

#include <random>
#include <vector>

#include "bnn/model_builder.hpp"

namespace bnn_test {

using bnn::fb::DataType;
using bnn::fb::OpType;

// x F32 [1,9,9,40] -> BITPACK -> BCONV2D 3x3 SAME zero-pad 40->33, BITS out
// -> BMAXPOOL 2x2/2 -> BCONV2D 3x3 SAME one-pad 33->20, F32 out, ReLU
// -> ADD(per-channel bias) -> SOFTMAX over channels.
// Outputs: 0 = conv2 [1,4,4,20], 1 = probabilities [1,4,4,20].
struct TinyBinaryNet {
  std::vector<float> w1, w2, mult2, bias2, add_bias;
  std::vector<int32_t> thr1, dir1;

  explicit TinyBinaryNet(uint32_t seed = 1) {
    std::mt19937 rng(seed);
    std::bernoulli_distribution coin(0.5);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    for (int i = 0; i < 33 * 3 * 3 * 40; ++i) w1.push_back(coin(rng) ? 1.0f : -1.0f);
    for (int i = 0; i < 20 * 3 * 3 * 33; ++i) w2.push_back(coin(rng) ? 1.0f : -1.0f);
    for (int c = 0; c < 33; ++c) {
      thr1.push_back(static_cast<int32_t>(rng() % 41) - 20);
      dir1.push_back(c % 4 == 0 ? -1 : 1);
    }
    for (int c = 0; c < 20; ++c) {
      mult2.push_back(0.05f * u(rng));
      bias2.push_back(u(rng));
      add_bias.push_back(u(rng));
    }
  }

  bnn::ModelBuilder Build() const {
    bnn::ModelBuilder b;
    const int x = b.Tensor("input", DataType::F32, {1, 9, 9, 40});
    const int xb = b.Tensor("input.bits", DataType::BITS, {1, 9, 9, 40});
    const int w1t = b.ConstantBits("conv1.weights", {33, 3, 3, 40}, w1);
    const int thr = b.ConstantS32("conv1.threshold", {33}, thr1);
    const int dir = b.ConstantS32("conv1.direction", {33}, dir1);
    const int y1 = b.Tensor("conv1", DataType::BITS, {1, 9, 9, 33});
    const int p1 = b.Tensor("pool1", DataType::BITS, {1, 4, 4, 33});
    const int w2t = b.ConstantBits("conv2.weights", {20, 3, 3, 33}, w2);
    const int m2 = b.ConstantF32("conv2.multiplier", {20}, mult2);
    const int b2 = b.ConstantF32("conv2.bias", {20}, bias2);
    const int y2 = b.Tensor("conv2", DataType::F32, {1, 4, 4, 20});
    const int ab = b.ConstantF32("add.bias", {20}, add_bias);
    const int y3 = b.Tensor("add", DataType::F32, {1, 4, 4, 20});
    const int out = b.Tensor("probabilities", DataType::F32, {1, 4, 4, 20});
    b.Input(x);
    b.Output(y2);
    b.Output(out);
    b.Op(OpType::BITPACK, {x}, {xb}, {}, "sign");
    bnn::fb::Conv2DOptionsT c1;
    c1.padding = bnn::fb::Padding::SAME;
    b.Op(OpType::BCONV2D, {xb, w1t, thr, dir}, {y1}, bnn::Options(c1), "conv1");
    bnn::fb::PoolOptionsT pool;
    pool.kernel_h = pool.kernel_w = pool.stride_h = pool.stride_w = 2;
    b.Op(OpType::BMAXPOOL2D, {y1}, {p1}, bnn::Options(pool), "pool1");
    bnn::fb::Conv2DOptionsT c2;
    c2.padding = bnn::fb::Padding::SAME;
    c2.pad_value = bnn::fb::PadValue::ONE;
    c2.activation = bnn::fb::Activation::RELU;
    b.Op(OpType::BCONV2D, {p1, w2t, m2, b2}, {y2}, bnn::Options(c2), "conv2");
    b.Op(OpType::ADD, {y2, ab}, {y3}, {}, "shift");
    b.Op(OpType::SOFTMAX, {y3}, {out}, {}, "softmax");
    b.metadata().name = "tiny-binary-net";
    b.metadata().description = "a tiny binary network for the tests";
    b.metadata().producer = "tests";
    b.metadata().task = bnn::fb::Task::CLASSIFIER;
    for (int c = 0; c < 20; ++c) b.metadata().labels.push_back("class" + std::to_string(c));
    return b;
  }
};

}  // namespace bnn_test
