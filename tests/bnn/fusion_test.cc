// Residual fusion (bnn_interpreter_options.no_fusion, interpreter.cc): a
// binary convolution whose float output only a residual ADD reads runs as one
// operator. Its outputs must be bit-identical to running the two, on every
// kernel table and with patch-based inference, and it must leave alone every
// graph where fusing would change what is computed or what a caller can read.
#include <catch2/catch.hpp>

#include <string.h>

#include <random>
#include <string>
#include <vector>

#include "bnn/bnn.h"
#include "loaded_model.h"

using namespace bnn_test;
using bnn::fb::Activation;
using DataType = bnn::fb::DataType;
using OpType = bnn::fb::OpType;

namespace {

// What to change in the net so that a fusion must not happen.
enum class Variant {
  kFusable,          // both blocks fuse
  kConvClamped,      // block 1's convolution has its own ReLU
  kSecondReader,     // block 1's convolution output is also pooled into a second output
  kGraphOutput,      // block 1's convolution output is a graph output
  kBroadcastAdd,     // block 1 adds a per-channel constant, not a same-shape tensor
};

// x [1,H,W,C] F32 -> block 1: BITPACK -> BCONV2D 3x3 (F32) -> ADD x (ReLU)
// -> block 2: BITPACK -> BCONV2D 3x3 stride 2 (2C, F32) -> ADD with the
// shortcut AVGPOOL 2x2/2 -> CONV2D 1x1 (2C), computed after the convolution
// and added as the first operand -> GLOBAL_AVGPOOL. Bi-Real-Net's two block
// kinds.
bnn::ModelBuilder ResidualNet(Variant v, int h, int w, int c, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::bernoulli_distribution coin(0.5);
  auto floats = [&](size_t n, float scale) {
    std::vector<float> out(n);
    for (float& x : out) x = scale * normal(rng);
    return out;
  };
  auto signs = [&](size_t n) {
    std::vector<float> out(n);
    for (float& x : out) x = coin(rng) ? 1.0f : -1.0f;
    return out;
  };
  auto conv_options = [](int k, int stride, Activation act) {
    bnn::fb::Conv2DOptionsT o;
    o.kernel_h = o.kernel_w = k;
    o.stride_h = o.stride_w = stride;
    o.padding = bnn::fb::Padding::SAME;
    o.activation = act;
    return o;
  };
  auto add_options = [](Activation act) {
    bnn::fb::ElementwiseOptionsT o;
    o.activation = act;
    return o;
  };
  bnn::ModelBuilder b;
  const int h2 = (h + 1) / 2, w2 = (w + 1) / 2;
  const int x = b.Tensor("x", DataType::F32, {1, h, w, c});
  const int s1 = b.Tensor("sign1", DataType::BITS, {1, h, w, c});
  const int y1 = b.Tensor("bconv1", DataType::F32, {1, h, w, c});
  const int z1 = b.Tensor("add1", DataType::F32, {1, h, w, c});
  const int s2 = b.Tensor("sign2", DataType::BITS, {1, h, w, c});
  const int y2 = b.Tensor("bconv2", DataType::F32, {1, h2, w2, 2 * c});
  const int p2 = b.Tensor("pool2", DataType::F32, {1, h2, w2, c});
  const int d2 = b.Tensor("down2", DataType::F32, {1, h2, w2, 2 * c});
  const int z2 = b.Tensor("add2", DataType::F32, {1, h2, w2, 2 * c});
  const int out = b.Tensor("out", DataType::F32, {1, 1, 1, 2 * c});
  b.Input(x);
  b.Output(out);

  const float scale1 = 1.0f / sqrtf(9.0f * c);
  b.Op(OpType::BITPACK, {x}, {s1}, {}, "block1.sign");
  b.Op(OpType::BCONV2D,
       {s1, b.ConstantBits("block1.w", {c, 3, 3, c}, signs(9u * c * c)),
        b.ConstantF32("block1.m", {c}, std::vector<float>(c, scale1)), b.ConstantF32("block1.b", {c}, floats(c, 0.1f))},
       {y1}, bnn::Options(conv_options(3, 1, v == Variant::kConvClamped ? Activation::RELU : Activation::NONE)),
       "block1.conv");
  const int residual1 = v == Variant::kBroadcastAdd ? b.ConstantF32("block1.shift", {c}, floats(c, 0.5f)) : x;
  b.Op(OpType::ADD, {y1, residual1}, {z1}, bnn::Options(add_options(Activation::RELU)), "block1.add");

  b.Op(OpType::BITPACK, {z1}, {s2}, {}, "block2.sign");
  b.Op(OpType::BCONV2D,
       {s2, b.ConstantBits("block2.w", {2 * c, 3, 3, c}, signs(18u * c * c)),
        b.ConstantF32("block2.m", {2 * c}, std::vector<float>(2 * c, scale1)),
        b.ConstantF32("block2.b", {2 * c}, floats(2 * c, 0.1f))},
       {y2}, bnn::Options(conv_options(3, 2, Activation::NONE)), "block2.conv");
  bnn::fb::PoolOptionsT pool;
  pool.kernel_h = pool.kernel_w = pool.stride_h = pool.stride_w = 2;
  pool.padding = bnn::fb::Padding::SAME;
  b.Op(OpType::AVGPOOL2D, {z1}, {p2}, bnn::Options(pool), "block2.down.pool");
  b.Op(OpType::CONV2D,
       {p2, b.ConstantF32("block2.down.w", {2 * c, 1, 1, c}, floats(2u * c * c, 0.2f)),
        b.ConstantF32("block2.down.b", {2 * c}, floats(2 * c, 0.1f))},
       {d2}, bnn::Options(conv_options(1, 1, Activation::NONE)), "block2.down.conv");
  b.Op(OpType::ADD, {d2, y2}, {z2}, bnn::Options(add_options(Activation::NONE)), "block2.add");
  b.Op(OpType::GLOBAL_AVGPOOL, {z2}, {out}, {}, "avgpool");

  if (v == Variant::kSecondReader) {
    const int extra = b.Tensor("bconv1.pooled", DataType::F32, {1, 1, 1, c});
    b.Op(OpType::GLOBAL_AVGPOOL, {y1}, {extra}, {}, "bconv1.pool");
    b.Output(extra);
  }
  if (v == Variant::kGraphOutput) b.Output(y1);
  return b;
}

struct Run {
  std::vector<std::vector<uint8_t>> outputs;
  size_t arena = 0;
  int fused_convs = 0, fused_adds = 0;
};

Run Invoke(const bnn_model* m, const std::vector<float>& input, int no_fusion, int force_reference, int patch) {
  bnn_interpreter_options o = bnn_interpreter_default_options();
  o.no_fusion = no_fusion;
  o.force_reference = force_reference;
  o.patch_based = patch;
  o.profile = 1;
  bnn_interpreter* it = nullptr;
  REQUIRE(bnn_interpreter_create(m, &o, &it) == BNN_OK);
  bnn_tensor_info in;
  bnn_model_input_info(m, 0, &in);
  REQUIRE(in.bytes == input.size() * sizeof(float));
  memcpy(bnn_interpreter_input(it, 0), input.data(), in.bytes);
  REQUIRE(bnn_interpreter_invoke(it) == BNN_OK);
  Run r;
  for (int i = 0; i < bnn_model_output_count(m); ++i) {
    bnn_tensor_info info;
    bnn_model_output_info(m, i, &info);
    const uint8_t* y = static_cast<const uint8_t*>(bnn_interpreter_output(it, i));
    r.outputs.emplace_back(y, y + info.bytes);
  }
  r.arena = bnn_interpreter_arena_bytes(it);
  for (int i = 0; i < bnn_model_op_count(m); ++i) {
    bnn_op_profile p;
    REQUIRE(bnn_interpreter_op_profile(it, i, &p) == BNN_OK);
    const std::string type = p.type;
    if (type == "BCONV2D+ADD") {
      ++r.fused_convs;
      CHECK(p.seconds > 0);
    }
    if (type == "ADD:fused") {
      ++r.fused_adds;
      CHECK(p.seconds == 0);
    }
  }
  bnn_interpreter_free(it);
  return r;
}

std::vector<float> RandomInput(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = g(rng);
  return v;
}

}  // namespace

TEST_CASE("a binary convolution fused with its residual ADD gives the bits of the two operators") {
  for (const int force_reference : {0, 1}) {
    for (const int c : {32, 48, 64}) {
      for (const int size : {7, 16}) {
        CAPTURE(force_reference, c, size);
        LoadedModel model(ResidualNet(Variant::kFusable, size, size + 1, c, 3 + static_cast<uint32_t>(c)));
        INFO(model.error);
        REQUIRE(model.status == BNN_OK);
        const std::vector<float> x = RandomInput(static_cast<size_t>(size) * (size + 1) * c, 5);
        const Run plain = Invoke(model.model, x, 1, force_reference, -1);
        const Run fused = Invoke(model.model, x, 0, force_reference, -1);
        CHECK(plain.fused_convs == 0);
        CHECK(plain.fused_adds == 0);
        CHECK(fused.fused_convs == 2);  // both blocks, the downsampling one too
        CHECK(fused.fused_adds == 2);
        CHECK(fused.outputs == plain.outputs);
        CHECK(fused.arena <= plain.arena);  // the convolutions' outputs are never stored
        // With patch-based inference asked for (nothing here is row-local
        // from the start, so it changes nothing): the same.
        CHECK(Invoke(model.model, x, 0, force_reference, 1).outputs == plain.outputs);
      }
    }
  }
}

TEST_CASE("residual fusion leaves alone what it would change") {
  const struct {
    Variant variant;
    const char* what;
  } cases[] = {
      {Variant::kConvClamped, "the convolution's own clamp comes before the add"},
      {Variant::kSecondReader, "another operator reads the convolution's output"},
      {Variant::kGraphOutput, "the caller reads the convolution's output"},
      {Variant::kBroadcastAdd, "the ADD broadcasts a per-channel constant"},
  };
  for (const auto& k : cases) {
    INFO(k.what);
    LoadedModel model(ResidualNet(k.variant, 9, 9, 32, 17));
    INFO(model.error);
    REQUIRE(model.status == BNN_OK);
    const std::vector<float> x = RandomInput(9 * 9 * 32, 23);
    const Run plain = Invoke(model.model, x, 1, 0, -1);
    const Run fused = Invoke(model.model, x, 0, 0, -1);
    CHECK(fused.fused_convs == 1);  // block 2 only
    CHECK(fused.fused_adds == 1);
    CHECK(fused.outputs == plain.outputs);
  }
}
