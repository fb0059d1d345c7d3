// Patch-based inference (bnn_interpreter_options.patch_based): a chain of
// row-local operators at the start of the graph runs band by band. Its
// outputs must be bit-identical to layer-by-layer execution on every
// geometry (kernels, strides, dilations, paddings, pools) and kernel table,
// and its arena must be smaller where the first layers dominate.
#include <catch2/catch.hpp>

#include <stdlib.h>
#include <string.h>

#include <random>
#include <string>
#include <vector>

#include "bnn/bnn.h"
#include "loaded_model.h"
#include "models.h"

using namespace bnn_test;

namespace {

struct Geometry {
  int kernel, stride, dilation;
  bnn::fb::Padding padding;
  int pool, pool_stride;
  bool pool_same;
};

std::vector<float> Random(std::mt19937* rng, size_t n, float scale = 1.0f) {
  std::normal_distribution<float> g(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = g(*rng);
  return v;
}

// U8 [1,H,W,1] -> NORMALIZE -> CONV2D (float, ReLU) -> MAXPOOL -> BITPACK
// (thresholds) -> BCONV2D 3x3 (bits out) -> BMAXPOOL -> BCONV2D 1x1 (F32
// out) -> GLOBAL_AVGPOOL: the shape of the person model, with the geometry of
// the first convolution and pool varied.
bnn::ModelBuilder StemNet(const Geometry& g, int h, int w, uint32_t seed) {
  std::mt19937 rng(seed);
  bnn::ModelBuilder b;
  const int c1 = 8, c2 = 40, c3 = 12;
  const int eff = (g.kernel - 1) * g.dilation + 1;
  auto out_size = [](int in, int k, int s, bool same, int pads) {
    return same ? (in + s - 1) / s : (in + pads - k) / s + 1;
  };
  const bool same = g.padding == bnn::fb::Padding::SAME;
  const int pads = g.padding == bnn::fb::Padding::EXPLICIT ? 2 : 0;
  const int h1 = out_size(h, eff, g.stride, same, pads), w1 = out_size(w, eff, g.stride, same, pads);
  const int h2 = out_size(h1, g.pool, g.pool_stride, g.pool_same, 0);
  const int w2 = out_size(w1, g.pool, g.pool_stride, g.pool_same, 0);
  const int h3 = (h2 + 1) / 2, w3 = (w2 + 1) / 2;  // BMAXPOOL 2x2/2 SAME

  const int frame = b.Tensor("frame", DataType::U8, {1, h, w, 1});
  const int x = b.Tensor("x", DataType::F32, {1, h, w, 1});
  const int y1 = b.Tensor("conv1", DataType::F32, {1, h1, w1, c1});
  const int p1 = b.Tensor("pool1", DataType::F32, {1, h2, w2, c1});
  const int s1 = b.Tensor("sign1", DataType::BITS, {1, h2, w2, c1});
  const int y2 = b.Tensor("bconv2", DataType::BITS, {1, h2, w2, c2});
  const int p2 = b.Tensor("bpool2", DataType::BITS, {1, h3, w3, c2});
  const int y3 = b.Tensor("bconv3", DataType::F32, {1, h3, w3, c3});
  const int out = b.Tensor("out", DataType::F32, {1, 1, 1, c3});
  b.Input(frame);
  b.Output(out);

  bnn::fb::NormalizeOptionsT n;
  n.channel_map = {0};
  n.scale = {1.0f / 64.0f};
  n.bias = {-2.0f};
  b.Op(OpType::NORMALIZE, {frame}, {x}, bnn::Options(n));
  bnn::fb::Conv2DOptionsT conv;
  conv.stride_h = conv.stride_w = g.stride;
  conv.dilation_h = conv.dilation_w = g.dilation;
  conv.padding = g.padding;
  if (g.padding == bnn::fb::Padding::EXPLICIT) {
    conv.pad_top = conv.pad_bottom = conv.pad_left = conv.pad_right = 1;
  }
  conv.activation = bnn::fb::Activation::RELU;
  b.Op(OpType::CONV2D,
       {x, b.ConstantF32("w1", {c1, g.kernel, g.kernel, 1}, Random(&rng, c1 * g.kernel * g.kernel)),
        b.ConstantF32("b1", {c1}, Random(&rng, c1, 0.3f))},
       {y1}, bnn::Options(conv));
  bnn::fb::PoolOptionsT pool;
  pool.kernel_h = pool.kernel_w = g.pool;
  pool.stride_h = pool.stride_w = g.pool_stride;
  pool.padding = g.pool_same ? bnn::fb::Padding::SAME : bnn::fb::Padding::VALID;
  b.Op(OpType::MAXPOOL2D, {y1}, {p1}, bnn::Options(pool));
  std::vector<float> thresholds = Random(&rng, c1, 0.5f);
  for (float& t : thresholds) t = fabsf(t);
  b.Op(OpType::BITPACK, {p1, b.ConstantF32("t1", {c1}, thresholds)}, {s1});

  std::bernoulli_distribution coin(0.5);
  auto signs = [&](size_t count) {
    std::vector<float> v(count);
    for (float& s : v) s = coin(rng) ? 1.0f : -1.0f;
    return v;
  };
  std::uniform_int_distribution<int32_t> thr(-20, 20);
  std::vector<int32_t> t2(c2), d2(c2);
  for (int c = 0; c < c2; ++c) {
    t2[c] = thr(rng);
    d2[c] = coin(rng) ? 1 : -1;
  }
  bnn::fb::Conv2DOptionsT bconv;
  bconv.padding = bnn::fb::Padding::SAME;
  b.Op(OpType::BCONV2D,
       {s1, b.ConstantBits("w2", {c2, 3, 3, c1}, signs(c2 * 9 * c1)), b.ConstantS32("t2", {c2}, t2),
        b.ConstantS32("d2", {c2}, d2)},
       {y2}, bnn::Options(bconv));
  bnn::fb::PoolOptionsT bpool;
  bpool.kernel_h = bpool.kernel_w = bpool.stride_h = bpool.stride_w = 2;
  bpool.padding = bnn::fb::Padding::SAME;
  b.Op(OpType::BMAXPOOL2D, {y2}, {p2}, bnn::Options(bpool));
  bnn::fb::Conv2DOptionsT pw;
  b.Op(OpType::BCONV2D,
       {p2, b.ConstantBits("w3", {c3, 1, 1, c2}, signs(c3 * c2)),
        b.ConstantF32("m3", {c3}, std::vector<float>(c3, 0.05f)), b.ConstantF32("b3", {c3}, Random(&rng, c3))},
       {y3}, bnn::Options(pw));
  b.Op(OpType::GLOBAL_AVGPOOL, {y3}, {out});
  return b;
}


struct Run {
  std::vector<uint8_t> output;
  size_t arena = 0;
  bnn_patch_info info{};
  int patched = 0;
};

Run Invoke(const bnn_model* m, const std::vector<uint8_t>& input, int patch, int force_reference) {
  bnn_interpreter_options o = bnn_interpreter_default_options();
  o.patch_based = patch;
  o.force_reference = force_reference;
  bnn_interpreter* it = nullptr;
  REQUIRE(bnn_interpreter_create(m, &o, &it) == BNN_OK);
  bnn_tensor_info in;
  bnn_model_input_info(m, 0, &in);
  REQUIRE(in.bytes == input.size());
  memcpy(bnn_interpreter_input(it, 0), input.data(), input.size());
  REQUIRE(bnn_interpreter_invoke(it) == BNN_OK);
  bnn_tensor_info out;
  bnn_model_output_info(m, 0, &out);
  const uint8_t* y = static_cast<const uint8_t*>(bnn_interpreter_output(it, 0));
  Run r;
  r.output.assign(y, y + out.bytes);
  r.arena = bnn_interpreter_arena_bytes(it);
  r.patched = bnn_interpreter_patch_info(it, &r.info);
  bnn_interpreter_free(it);
  return r;
}

std::vector<uint8_t> RandomPixels(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v(n);
  for (uint8_t& p : v) p = static_cast<uint8_t>(rng());
  return v;
}

}  // namespace

TEST_CASE("patch-based inference is bit-identical to layer-by-layer on every geometry") {
  const Geometry geometries[] = {
      {3, 2, 1, bnn::fb::Padding::SAME, 2, 2, false},     // the person model's stem
      {3, 1, 1, bnn::fb::Padding::SAME, 3, 2, true},      // overlapping pool windows, padded
      {5, 2, 1, bnn::fb::Padding::VALID, 2, 2, false},    // no padding
      {3, 1, 2, bnn::fb::Padding::EXPLICIT, 2, 1, false}, // dilation, explicit pads, stride-1 pool
      {7, 3, 1, bnn::fb::Padding::SAME, 3, 3, true},      // odd strides
  };
  for (const int force_reference : {0, 1}) {
    for (size_t gi = 0; gi < sizeof geometries / sizeof geometries[0]; ++gi) {
      for (const int size : {37, 64}) {
        CAPTURE(gi, size, force_reference);
        LoadedModel model(StemNet(geometries[gi], size, size + 3, 7 + static_cast<uint32_t>(gi)));
        INFO(model.error);
        REQUIRE(model.status == BNN_OK);
        const std::vector<uint8_t> frame = RandomPixels(static_cast<size_t>(size) * (size + 3), 11);
        const Run layer = Invoke(model.model, frame, -1, force_reference);
        const Run patch = Invoke(model.model, frame, 1, force_reference);
        CHECK(layer.patched == 0);
        REQUIRE(patch.patched == 1);
        CHECK(patch.info.first_op == 0);
        CHECK(patch.info.last_op >= 1);
        CHECK(patch.info.bands >= 2);
        // Rows shared by two bands are carried over, never recomputed: at
        // most 1, below it when layer-by-layer computes rows nothing reads
        // (VALID windows that skip the last rows); exactly 1 where windows
        // overlap and every row is read (geometry 1).
        CHECK(patch.info.recompute > 0.5);
        CHECK(patch.info.recompute <= 1.0);
        if (gi == 1) CHECK(patch.info.recompute == 1.0);
        CHECK(patch.info.layer_arena_bytes == layer.arena);
        CHECK(patch.arena < layer.arena);
        CHECK(patch.output == layer.output);
        // The default (patch_based = 0) is the patch-based plan.
        const Run plain = Invoke(model.model, frame, 0, force_reference);
        CHECK(plain.patched == 1);
        CHECK(plain.arena == patch.arena);
        CHECK(plain.output == layer.output);
      }
    }
  }
}

TEST_CASE("patch-based inference cuts the arena of a large first stage several times") {
  LoadedModel model(StemNet({3, 2, 1, bnn::fb::Padding::SAME, 2, 2, false}, 96, 96, 3));
  INFO(model.error);
  REQUIRE(model.status == BNN_OK);
  const Run layer = Invoke(model.model, RandomPixels(96 * 96, 5), -1, 0);
  const Run patch = Invoke(model.model, RandomPixels(96 * 96, 5), 1, 0);
  REQUIRE(patch.patched == 1);
  INFO("layer " << layer.arena << " bytes, patch " << patch.arena << " bytes, bands of " << patch.info.band_rows);
  // NORMALIZE's 36 KiB and the first convolution's 72 KiB F32 outputs shrink
  // to bands of rows; the input frame (9 KiB) and packed tensors remain.
  CHECK(patch.arena * 3 <= layer.arena);
}

TEST_CASE("patch-based inference leaves models without a row-local start alone") {
  // A fully-connected first layer: nothing to run in bands.
  bnn::ModelBuilder b;
  const int x = b.Tensor("x", DataType::F32, {1, 16});
  const int y = b.Tensor("y", DataType::F32, {1, 4});
  b.Input(x);
  b.Output(y);
  b.Op(OpType::FULLY_CONNECTED, {x, b.ConstantF32("w", {4, 16}, std::vector<float>(64, 0.5f)), -1}, {y});
  LoadedModel model(b);
  INFO(model.error);
  REQUIRE(model.status == BNN_OK);
  std::vector<uint8_t> input(64, 0);
  const Run layer = Invoke(model.model, input, -1, 0);
  const Run patch = Invoke(model.model, input, 1, 0);
  CHECK(patch.patched == 0);
  CHECK(patch.arena == layer.arena);
  CHECK(patch.info.layer_arena_bytes == layer.arena);
  CHECK(patch.output == layer.output);
}

TEST_CASE("patch-based inference gives the shipped detectors' outputs bit for bit") {
  for (const char* name : {"models/detect/detector.bnn", "models/facedet/face-detector.bnn"}) {
    CAPTURE(name);
    const std::string path = std::string(BNN_SOURCE_ROOT) + "/" + name;
    bnn_model* m = nullptr;
    INFO(bnn_last_load_error());
    REQUIRE(bnn_model_load_file(path.c_str(), &m) == BNN_OK);
    bnn_tensor_info in;
    bnn_model_input_info(m, 0, &in);
    std::mt19937 rng(1);
    std::normal_distribution<float> g(0.0f, 1.0f);
    std::vector<float> x(in.bytes / 4);
    for (float& v : x) v = g(rng);
    std::vector<uint8_t> bytes(in.bytes);
    memcpy(bytes.data(), x.data(), in.bytes);
    for (int o = 0; o < bnn_model_output_count(m); ++o) {
      // Every output, not only output 0.
      bnn_interpreter_options opt = bnn_interpreter_default_options();
      bnn_interpreter *a = nullptr, *p = nullptr;
      opt.patch_based = -1;  // layer by layer
      REQUIRE(bnn_interpreter_create(m, &opt, &a) == BNN_OK);
      opt.patch_based = 0;   // the default
      REQUIRE(bnn_interpreter_create(m, &opt, &p) == BNN_OK);
      CHECK(bnn_interpreter_patch_info(p, nullptr) == 1);
      CHECK(bnn_interpreter_arena_bytes(p) < bnn_interpreter_arena_bytes(a));
      memcpy(bnn_interpreter_input(a, 0), bytes.data(), in.bytes);
      memcpy(bnn_interpreter_input(p, 0), bytes.data(), in.bytes);
      REQUIRE(bnn_interpreter_invoke(a) == BNN_OK);
      REQUIRE(bnn_interpreter_invoke(p) == BNN_OK);
      bnn_tensor_info out;
      bnn_model_output_info(m, o, &out);
      CHECK(memcmp(bnn_interpreter_output(a, o), bnn_interpreter_output(p, o), out.bytes) == 0);
      bnn_interpreter_free(a);
      bnn_interpreter_free(p);
    }
    bnn_model_free(m);
  }
}
