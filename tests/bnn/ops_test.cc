// Each real-valued and data-movement operator, in a one-operator model,
// against a plain loop written here.
#include <catch2/catch.hpp>

#include <math.h>
#include <string.h>

#include <random>
#include <string>
#include <vector>

#include "bnn/bnn.h"
#include "bnn/model_builder.hpp"
#include "loaded_model.h"
#include "models.h"

using bnn::fb::DataType;
using bnn::fb::OpType;
using bnn_test::LoadedModel;

namespace {

std::vector<float> Random(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0.0f, 2.0f);
  std::vector<float> v(n);
  for (float& x : v) x = g(rng);
  return v;
}


// Builds, loads and runs a model on the inputs' bytes; returns output 0's bytes.
std::vector<uint8_t> RunModelBytes(const bnn::ModelBuilder& b, const std::vector<std::vector<uint8_t>>& inputs,
                                   int force_reference = 0) {
  LoadedModel lm(b);
  INFO(lm.error);
  REQUIRE(lm.status == BNN_OK);
  bnn_model* m = lm.model;
  bnn_interpreter_options o = bnn_interpreter_default_options();
  o.force_reference = force_reference;
  bnn_interpreter* it = nullptr;
  REQUIRE(bnn_interpreter_create(m, &o, &it) == BNN_OK);
  for (size_t i = 0; i < inputs.size(); ++i) {
    bnn_tensor_info in;
    bnn_model_input_info(m, static_cast<int>(i), &in);
    REQUIRE(inputs[i].size() == in.bytes);
    memcpy(bnn_interpreter_input(it, static_cast<int>(i)), inputs[i].data(), in.bytes);
  }
  REQUIRE(bnn_interpreter_invoke(it) == BNN_OK);
  bnn_tensor_info info;
  bnn_model_output_info(m, 0, &info);
  const uint8_t* out = static_cast<const uint8_t*>(bnn_interpreter_output(it, 0));
  std::vector<uint8_t> bytes(out, out + info.bytes);
  bnn_interpreter_free(it);
  return bytes;
}

// Loads the model; "" when it loads, else the loader's message (and status).
std::string LoadError(const bnn::ModelBuilder& b, bnn_status* status = nullptr) {
  LoadedModel lm(b);
  if (status) *status = lm.status;
  return lm.error;
}

// The same with F32 inputs.
std::vector<uint8_t> RunModel(const bnn::ModelBuilder& b, const std::vector<std::vector<float>>& inputs,
                              int force_reference = 0) {
  std::vector<std::vector<uint8_t>> bytes;
  for (const std::vector<float>& v : inputs) {
    const uint8_t* p = reinterpret_cast<const uint8_t*>(v.data());
    bytes.emplace_back(p, p + v.size() * sizeof(float));
  }
  return RunModelBytes(b, bytes, force_reference);
}

std::vector<float> Floats(const std::vector<uint8_t>& bytes) {
  std::vector<float> v(bytes.size() / 4);
  memcpy(v.data(), bytes.data(), bytes.size());
  return v;
}

// One unary F32 operator on [2,3,4,channels].
std::vector<float> Unary(OpType type, bnn::fb::OptionsUnion options, const std::vector<float>& x,
                         const std::vector<float>* slope = nullptr, int32_t channels = 5) {
  bnn::ModelBuilder b;
  const int in = b.Tensor("x", DataType::F32, {2, 3, 4, channels});
  const int out = b.Tensor("y", DataType::F32, {2, 3, 4, channels});
  std::vector<int32_t> ins = {in};
  if (slope) ins.push_back(b.ConstantF32("slope", {static_cast<int32_t>(slope->size())}, *slope));
  b.Input(in);
  b.Output(out);
  b.Op(type, ins, {out}, std::move(options));
  return Floats(RunModel(b, {x}));
}

}  // namespace

TEST_CASE("activations", "[ops]") {
  const std::vector<float> x = Random(120, 1);
  std::vector<float> y = Unary(OpType::RELU, {}, x);
  for (size_t i = 0; i < x.size(); ++i) CHECK(y[i] == (x[i] > 0 ? x[i] : 0.0f));

  bnn::fb::ClipOptionsT clip;
  clip.min = -1.0f;
  clip.max = 0.5f;
  y = Unary(OpType::CLIP, bnn::Options(clip), x);
  for (size_t i = 0; i < x.size(); ++i) CHECK(y[i] == fminf(fmaxf(x[i], -1.0f), 0.5f));

  bnn::fb::LeakyReluOptionsT leaky;
  leaky.alpha = 0.125f;
  y = Unary(OpType::LEAKY_RELU, bnn::Options(leaky), x);
  for (size_t i = 0; i < x.size(); ++i) CHECK(y[i] == (x[i] < 0 ? x[i] * 0.125f : x[i]));

  const std::vector<float> slope = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f};
  y = Unary(OpType::PRELU, {}, x, &slope);
  for (size_t i = 0; i < x.size(); ++i) CHECK(y[i] == (x[i] < 0 ? x[i] * slope[i % 5] : x[i]));
  // 40 channels: the kernel's vectors and a tail per pixel.
  const std::vector<float> x40 = Random(24 * 40, 6), slope40 = Random(40, 7);
  y = Unary(OpType::PRELU, {}, x40, &slope40, 40);
  for (size_t i = 0; i < x40.size(); ++i) CHECK(y[i] == (x40[i] < 0 ? x40[i] * slope40[i % 40] : x40[i]));

  y = Unary(OpType::SIGMOID, {}, x);
  for (size_t i = 0; i < x.size(); ++i) CHECK(y[i] == Approx(1.0 / (1.0 + exp(-x[i]))).epsilon(1e-6));

  y = Unary(OpType::SOFTMAX, {}, x);
  for (size_t r = 0; r < 24; ++r) {
    double sum = 0, m = -1e30;
    for (int c = 0; c < 5; ++c) m = std::max<double>(m, x[r * 5 + c]);
    for (int c = 0; c < 5; ++c) sum += exp(x[r * 5 + c] - m);
    for (int c = 0; c < 5; ++c) CHECK(y[r * 5 + c] == Approx(exp(x[r * 5 + c] - m) / sum).epsilon(1e-5));
  }
}

TEST_CASE("add and multiply broadcast a full, per-channel or scalar operand", "[ops]") {
  // 5 channels: shorter than any vector; 40: vectors and a tail per pixel.
  for (int32_t channels : {5, 40}) {
    const int32_t total = 24 * channels;
    const std::vector<float> a = Random(static_cast<size_t>(total), 2);
    for (int32_t n : {total, channels, 1}) {
      INFO("channels " << channels << " operand " << n);
      const std::vector<float> bv = Random(static_cast<size_t>(n), 3);
      for (OpType type : {OpType::ADD, OpType::MUL}) {
        bnn::ModelBuilder b;
        const std::vector<int32_t> shape = {2, 3, 4, channels};
        const int x = b.Tensor("a", DataType::F32, shape);
        const int y = b.Tensor("b", DataType::F32, n == total ? shape : std::vector<int32_t>{n});
        const int out = b.Tensor("y", DataType::F32, shape);
        b.Input(x);
        b.Input(y);
        b.Output(out);
        bnn::fb::ElementwiseOptionsT o;
        o.activation = bnn::fb::Activation::RELU6;
        b.Op(type, {x, y}, {out}, bnn::Options(o));
        const std::vector<float> got = Floats(RunModel(b, {a, bv}));
        for (size_t i = 0; i < a.size(); ++i) {
          const float v = type == OpType::ADD ? a[i] + bv[i % static_cast<size_t>(n)] : a[i] * bv[i % static_cast<size_t>(n)];
          CHECK(got[i] == fminf(fmaxf(v, 0.0f), 6.0f));
        }
      }
    }
  }
}

TEST_CASE("concat, transpose, pad, reshape", "[ops]") {
  const std::vector<float> a = Random(2 * 3 * 4, 4), c = Random(2 * 2 * 4, 5);
  {
    bnn::ModelBuilder b;
    const int x = b.Tensor("a", DataType::F32, {2, 3, 4});
    const int y = b.Tensor("c", DataType::F32, {2, 2, 4});
    const int out = b.Tensor("y", DataType::F32, {2, 5, 4});
    b.Input(x);
    b.Input(y);
    b.Output(out);
    bnn::fb::ConcatOptionsT o;
    o.axis = 1;
    b.Op(OpType::CONCAT, {x, y}, {out}, bnn::Options(o));
    const std::vector<float> got = Floats(RunModel(b, {a, c}));
    for (int n = 0; n < 2; ++n)
      for (int i = 0; i < 5; ++i)
        for (int k = 0; k < 4; ++k)
          CHECK(got[(n * 5 + i) * 4 + k] == (i < 3 ? a[(n * 3 + i) * 4 + k] : c[(n * 2 + i - 3) * 4 + k]));
  }
  {
    bnn::ModelBuilder b;
    const int x = b.Tensor("a", DataType::F32, {2, 3, 4});
    const int out = b.Tensor("y", DataType::F32, {4, 2, 3});
    b.Input(x);
    b.Output(out);
    bnn::fb::TransposeOptionsT o;
    o.perm = {2, 0, 1};
    b.Op(OpType::TRANSPOSE, {x}, {out}, bnn::Options(o));
    const std::vector<float> got = Floats(RunModel(b, {a}));
    for (int k = 0; k < 4; ++k)
      for (int n = 0; n < 2; ++n)
        for (int i = 0; i < 3; ++i) CHECK(got[(k * 2 + n) * 3 + i] == a[(n * 3 + i) * 4 + k]);
  }
  {
    bnn::ModelBuilder b;
    const int x = b.Tensor("a", DataType::F32, {2, 3, 4});
    const int out = b.Tensor("y", DataType::F32, {3, 3, 7});
    b.Input(x);
    b.Output(out);
    bnn::fb::PadOptionsT o;
    o.pads = {1, 0, 2, 0, 0, 1};
    o.value = -5.0f;
    b.Op(OpType::PAD, {x}, {out}, bnn::Options(o));
    const std::vector<float> got = Floats(RunModel(b, {a}));
    for (int n = 0; n < 3; ++n)
      for (int i = 0; i < 3; ++i)
        for (int k = 0; k < 7; ++k) {
          const bool inside = n >= 1 && k >= 2 && k < 6;
          CHECK(got[(n * 3 + i) * 7 + k] == (inside ? a[((n - 1) * 3 + i) * 4 + k - 2] : -5.0f));
        }
  }
  {
    bnn::ModelBuilder b;
    const int x = b.Tensor("a", DataType::F32, {2, 3, 4});
    const int out = b.Tensor("y", DataType::F32, {6, 4});
    b.Input(x);
    b.Output(out);
    b.Op(OpType::RESHAPE, {x}, {out});
    CHECK(Floats(RunModel(b, {a})) == a);
  }
}

TEST_CASE("resize nearest and bilinear", "[ops]") {
  const std::vector<float> a = Random(1 * 3 * 4 * 2, 6);
  for (bool bilinear : {false, true})
    for (int mode = 0; mode < 3; ++mode) {
      bnn::ModelBuilder b;
      const int x = b.Tensor("a", DataType::F32, {1, 3, 4, 2});
      const int out = b.Tensor("y", DataType::F32, {1, 6, 7, 2});
      b.Input(x);
      b.Output(out);
      bnn::fb::ResizeOptionsT o;
      o.out_h = 6;
      o.out_w = 7;
      o.mode = bilinear ? bnn::fb::ResizeMode::BILINEAR : bnn::fb::ResizeMode::NEAREST;
      o.align_corners = mode == 1;
      o.half_pixel_centers = mode == 2;
      b.Op(OpType::RESIZE, {x}, {out}, bnn::Options(o));
      const std::vector<float> got = Floats(RunModel(b, {a}));
      auto src = [&](int o_, int in, int out_) {
        double s = mode == 1 ? o_ * double(in - 1) / (out_ - 1) : mode == 2 ? (o_ + 0.5) * in / out_ - 0.5 : double(o_) * in / out_;
        return std::max(s, 0.0);
      };
      for (int oy = 0; oy < 6; ++oy)
        for (int ox = 0; ox < 7; ++ox)
          for (int k = 0; k < 2; ++k) {
            const double sy = src(oy, 3, 6), sx = src(ox, 4, 7);
            const int y0 = std::min(int(floor(sy)), 2), x0 = std::min(int(floor(sx)), 3);
            const int y1 = std::min(y0 + 1, 2), x1 = std::min(x0 + 1, 3);
            auto at = [&](int yy, int xx) { return double(a[(yy * 4 + xx) * 2 + k]); };
            double want = at(y0, x0);
            if (bilinear) {
              const double fy = sy - y0, fx = sx - x0;
              const double top = at(y0, x0) + (at(y0, x1) - at(y0, x0)) * fx;
              const double bottom = at(y1, x0) + (at(y1, x1) - at(y1, x0)) * fx;
              want = top + (bottom - top) * fy;
            }
            INFO("bilinear " << bilinear << " mode " << mode << " at " << oy << "," << ox);
            CHECK(got[(oy * 7 + ox) * 2 + k] == Approx(want).margin(1e-5));
          }
    }
}

TEST_CASE("quantize and dequantize round-trip through int8", "[ops]") {
  const std::vector<float> x = Random(40, 7);
  bnn::ModelBuilder b;
  const int in = b.Tensor("x", DataType::F32, {40});
  const int q = b.Tensor("q", DataType::S8, {40}, 0.05f, 3);
  const int out = b.Tensor("y", DataType::F32, {40});
  b.Input(in);
  b.Output(out);
  b.Op(OpType::QUANTIZE, {in}, {q});
  b.Op(OpType::DEQUANTIZE, {q}, {out});
  const std::vector<float> got = Floats(RunModel(b, {x}));
  for (size_t i = 0; i < x.size(); ++i) {
    const float qv = fminf(fmaxf(nearbyintf(x[i] / 0.05f) + 3.0f, -128.0f), 127.0f);
    CHECK(got[i] == (qv - 3.0f) * 0.05f);
  }
}

TEST_CASE("normalize: BGRA camera pixels into an RGB float input", "[ops]") {
  // A 3 x 5 BGRA frame (4 bytes a pixel) into RGB with ImageNet's normalisation.
  const float mean[3] = {0.485f, 0.456f, 0.406f}, std[3] = {0.229f, 0.224f, 0.225f};
  bnn::fb::NormalizeOptionsT o;
  o.channel_map = {2, 1, 0};
  for (int c = 0; c < 3; ++c) {
    o.scale.push_back(1.0f / (255.0f * std[c]));
    o.bias.push_back(-mean[c] / std[c]);
  }
  bnn::ModelBuilder b;
  const int in = b.Tensor("frame", DataType::U8, {1, 3, 5, 4});
  const int out = b.Tensor("x", DataType::F32, {1, 3, 5, 3});
  b.Input(in);
  b.Output(out);
  b.Op(OpType::NORMALIZE, {in}, {out}, bnn::Options(o));
  std::vector<uint8_t> frame(60);
  for (size_t i = 0; i < frame.size(); ++i) frame[i] = static_cast<uint8_t>(i * 37 + 11);
  const std::vector<float> got = Floats(RunModelBytes(b, {frame}));
  REQUIRE(got.size() == 45);
  for (int p = 0; p < 15; ++p)
    for (int c = 0; c < 3; ++c) {
      const float pixel = frame[size_t(p * 4 + 2 - c)];  // R is byte 2 of BGRA
      CHECK(got[size_t(p * 3 + c)] == Approx((pixel / 255.0f - mean[c]) / std[c]).margin(1e-5));
    }
}

TEST_CASE("normalize: malformed options are refused at load", "[ops]") {
  auto load = [](std::vector<int32_t> map, size_t params, int in_c, int out_c) {
    bnn::fb::NormalizeOptionsT o;
    o.channel_map = map;
    o.scale.assign(params, 1.0f);
    o.bias.assign(params, 0.0f);
    bnn::ModelBuilder b;
    const int in = b.Tensor("frame", DataType::U8, {1, 2, 2, in_c});
    const int out = b.Tensor("x", DataType::F32, {1, 2, 2, out_c});
    b.Input(in);
    b.Output(out);
    b.Op(OpType::NORMALIZE, {in}, {out}, bnn::Options(o));
    return LoadError(b);
  };
  CHECK(load({0, 1, 2}, 3, 3, 3).empty());
  CHECK(load({0, 1, 3}, 3, 3, 3).find("channel_map[2] = 3") != std::string::npos);
  CHECK(load({0, 1, 2}, 2, 3, 3).find("one scale and bias") != std::string::npos);
  CHECK(load({0, 1, 2}, 3, 3, 4).find("shape") != std::string::npos);
  CHECK(load({0}, 1, 5, 1).find("channels") != std::string::npos);
}

TEST_CASE("binary fully-connected with bit and float outputs", "[ops]") {
  std::mt19937 rng(8);
  std::bernoulli_distribution coin(0.5);
  std::vector<float> x(3 * 100), w(37 * 100);
  for (float& v : x) v = coin(rng) ? 1.0f : -1.0f;
  for (float& v : w) v = coin(rng) ? 1.0f : -1.0f;
  std::vector<float> mult(37, 0.5f), bias(37, -1.0f);
  bnn::ModelBuilder b;
  const int in = b.Tensor("x", DataType::F32, {3, 100});
  const int bits = b.Tensor("x.bits", DataType::BITS, {3, 100});
  const int wt = b.ConstantBits("w", {37, 100}, w);
  const int m = b.ConstantF32("m", {37}, mult);
  const int bi = b.ConstantF32("b", {37}, bias);
  const int out = b.Tensor("y", DataType::F32, {3, 37});
  b.Input(in);
  b.Output(out);
  b.Op(OpType::BITPACK, {in}, {bits});
  b.Op(OpType::BFULLY_CONNECTED, {bits, wt, m, bi}, {out});
  const std::vector<float> got = Floats(RunModel(b, {x}));
  for (int r = 0; r < 3; ++r)
    for (int j = 0; j < 37; ++j) {
      float dot = 0;
      for (int k = 0; k < 100; ++k) dot += x[r * 100 + k] * w[j * 100 + k];
      CHECK(got[r * 37 + j] == dot * 0.5f - 1.0f);
    }
}

TEST_CASE("a transpose of a scalar is refused at load (fuzzer regression)", "[ops]") {
  bnn::ModelBuilder b;
  const int x = b.Tensor("x", DataType::F32, {});
  const int y = b.Tensor("y", DataType::F32, {});
  b.Input(x);
  b.Output(y);
  bnn::fb::TransposeOptionsT o;
  b.Op(OpType::TRANSPOSE, {x}, {y}, bnn::Options(o));
  bnn_status s = BNN_OK;
  CHECK(LoadError(b, &s).find("scalar") != std::string::npos);
  CHECK(s == BNN_ERROR_INVALID_MODEL);
}

namespace {

// Naive double-precision NHWC convolution (zero padding, groups).
std::vector<double> NaiveConv(const std::vector<float>& x, int h, int w, int c, const std::vector<float>& wt, int oc,
                              int k, int stride, int pad, int groups, const std::vector<float>& bias, bool relu,
                              int* oh, int* ow) {
  *oh = (h + 2 * pad - k) / stride + 1;
  *ow = (w + 2 * pad - k) / stride + 1;
  const int cg = c / groups, ocg = oc / groups;
  std::vector<double> y(static_cast<size_t>(*oh) * *ow * oc);
  for (int oy = 0; oy < *oh; ++oy)
    for (int ox = 0; ox < *ow; ++ox)
      for (int o = 0; o < oc; ++o) {
        double s = bias.empty() ? 0.0 : bias[o];
        for (int ky = 0; ky < k; ++ky)
          for (int kx = 0; kx < k; ++kx)
            for (int i = 0; i < cg; ++i) {
              const int iy = oy * stride + ky - pad, ix = ox * stride + kx - pad;
              if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
              s += double(x[(iy * w + ix) * c + (o / ocg) * cg + i]) * wt[((o * k + ky) * k + kx) * cg + i];
            }
        y[(oy * *ow + ox) * oc + o] = relu && s < 0 ? 0.0 : s;
      }
  return y;
}

}  // namespace

TEST_CASE("float convolution, depthwise, pooling and fully-connected", "[ops]") {
  const std::vector<float> x = Random(11 * 11 * 3, 10);
  const std::vector<float> w1 = Random(8 * 3 * 3 * 3, 11), b1 = Random(8, 12);
  const std::vector<float> w2 = Random(8 * 3 * 3 * 1, 13);
  const std::vector<float> w3 = Random(5 * 8, 14), b3 = Random(5, 15);
  bnn::ModelBuilder b;
  const int in = b.Tensor("x", DataType::F32, {1, 11, 11, 3});
  const int c1 = b.Tensor("conv", DataType::F32, {1, 6, 6, 8});
  const int c2 = b.Tensor("dw", DataType::F32, {1, 6, 6, 8});
  const int p1 = b.Tensor("max", DataType::F32, {1, 3, 3, 8});
  const int p2 = b.Tensor("avg", DataType::F32, {1, 2, 2, 8});
  const int g = b.Tensor("gap", DataType::F32, {1, 1, 1, 8});
  const int f = b.Tensor("flat", DataType::F32, {1, 8});
  const int out = b.Tensor("fc", DataType::F32, {1, 5});
  b.Input(in);
  b.Output(out);
  b.Output(c2);
  bnn::fb::Conv2DOptionsT conv;
  conv.stride_h = conv.stride_w = 2;
  conv.padding = bnn::fb::Padding::SAME;
  conv.activation = bnn::fb::Activation::RELU;
  b.Op(OpType::CONV2D, {in, b.ConstantF32("w1", {8, 3, 3, 3}, w1), b.ConstantF32("b1", {8}, b1)}, {c1},
       bnn::Options(conv));
  bnn::fb::Conv2DOptionsT dw;
  dw.padding = bnn::fb::Padding::SAME;
  b.Op(OpType::DEPTHWISE_CONV2D, {c1, b.ConstantF32("w2", {8, 3, 3, 1}, w2), -1}, {c2}, bnn::Options(dw));
  bnn::fb::PoolOptionsT mp;
  mp.kernel_h = mp.kernel_w = mp.stride_h = mp.stride_w = 2;
  b.Op(OpType::MAXPOOL2D, {c2}, {p1}, bnn::Options(mp));
  bnn::fb::PoolOptionsT ap;
  ap.kernel_h = ap.kernel_w = 2;
  ap.stride_h = ap.stride_w = 2;
  ap.padding = bnn::fb::Padding::SAME;  // 3 -> 2 with one padded row/column
  b.Op(OpType::AVGPOOL2D, {p1}, {p2}, bnn::Options(ap));
  b.Op(OpType::GLOBAL_AVGPOOL, {p2}, {g});
  b.Op(OpType::RESHAPE, {g}, {f});
  b.Op(OpType::FULLY_CONNECTED, {f, b.ConstantF32("w3", {5, 8}, w3), b.ConstantF32("b3", {5}, b3)}, {out});

  // The expected values, in double.
  int oh, ow;
  std::vector<double> y1 = NaiveConv(x, 11, 11, 3, w1, 8, 3, 2, 1, 1, b1, true, &oh, &ow);
  REQUIRE((oh == 6 && ow == 6));
  const std::vector<float> y1f(y1.begin(), y1.end());
  const std::vector<double> y2 = NaiveConv(y1f, 6, 6, 8, w2, 8, 3, 1, 1, 8, {}, false, &oh, &ow);
  std::vector<double> m(3 * 3 * 8, -1e300), a(2 * 2 * 8, 0.0), gap(8, 0.0), fc(5);
  for (int yy = 0; yy < 6; ++yy)
    for (int xx = 0; xx < 6; ++xx)
      for (int c = 0; c < 8; ++c) m[((yy / 2) * 3 + xx / 2) * 8 + c] = std::max(m[((yy / 2) * 3 + xx / 2) * 8 + c], y2[(yy * 6 + xx) * 8 + c]);
  for (int yy = 0; yy < 2; ++yy)
    for (int xx = 0; xx < 2; ++xx)
      for (int c = 0; c < 8; ++c) {
        int n = 0;
        for (int dy = 0; dy < 2; ++dy)
          for (int dx = 0; dx < 2; ++dx) {
            const int sy = yy * 2 + dy, sx = xx * 2 + dx;  // SAME 3 -> 2: padding after
            if (sy < 3 && sx < 3) a[(yy * 2 + xx) * 8 + c] += m[(sy * 3 + sx) * 8 + c], ++n;
          }
        a[(yy * 2 + xx) * 8 + c] /= n;  // padded positions not counted (the default)
      }
  for (int p = 0; p < 4; ++p)
    for (int c = 0; c < 8; ++c) gap[c] += a[p * 8 + c] / 4;
  for (int o = 0; o < 5; ++o) {
    fc[o] = b3[o];
    for (int c = 0; c < 8; ++c) fc[o] += gap[c] * w3[o * 8 + c];
  }
  const std::vector<float> got = Floats(RunModel(b, {x}));
  REQUIRE(got.size() == 5);
  for (int o = 0; o < 5; ++o) CHECK(got[o] == Approx(fc[o]).epsilon(1e-4).margin(1e-4));
  // The float contract: the optimised kernels give the reference's bits.
  CHECK(RunModel(b, {x}, 1) == RunModel(b, {x}, 0));
}

TEST_CASE("int8 convolution: the first layer on quantised pixels, to floats or to bits", "[ops]") {
  std::mt19937 rng(21);
  std::uniform_int_distribution<int> q(-128, 127);
  std::vector<int8_t> x(9 * 10 * 3), w(6 * 3 * 3 * 3);
  for (int8_t& v : x) v = static_cast<int8_t>(q(rng));
  for (int8_t& v : w) v = static_cast<int8_t>(q(rng));
  const int32_t zp = -7;
  std::vector<float> mult(6), bias(6);
  for (int c = 0; c < 6; ++c) mult[c] = 0.001f * (c + 1), bias[c] = 0.25f * c - 0.5f;
  // Expected accumulators: stride 2, SAME (9 rows: pad 1 above; 10 columns: pad
  // 0 left, 1 right), padding is zero in real value.
  std::vector<int32_t> acc(5 * 5 * 6);
  for (int oy = 0; oy < 5; ++oy)
    for (int ox = 0; ox < 5; ++ox)
      for (int o = 0; o < 6; ++o) {
        int32_t a = 0;
        for (int ky = 0; ky < 3; ++ky)
          for (int kx = 0; kx < 3; ++kx)
            for (int i = 0; i < 3; ++i) {
              const int iy = oy * 2 + ky - 1, ix = ox * 2 + kx;
              if (iy < 0 || iy >= 9 || ix < 0 || ix >= 10) continue;
              a += (x[(iy * 10 + ix) * 3 + i] - zp) * w[((o * 3 + ky) * 3 + kx) * 3 + i];
            }
        acc[(oy * 5 + ox) * 6 + o] = a;
      }
  for (bool bits : {false, true}) {
    bnn::ModelBuilder b;
    const int in = b.Tensor("x", DataType::S8, {1, 9, 10, 3}, 0.02f, zp);
    const int wt = b.Constant("w", DataType::S8, {6, 3, 3, 3}, w.data(), w.size());
    std::vector<int32_t> thr(6, 100), dir(6, 1);
    const int t2 = bits ? b.ConstantS32("thr", {6}, thr) : b.ConstantF32("m", {6}, mult);
    const int t3 = bits ? b.ConstantS32("dir", {6}, dir) : b.ConstantF32("b", {6}, bias);
    const int out = b.Tensor("y", bits ? DataType::BITS : DataType::F32, {1, 5, 5, 6});
    b.Input(in);
    b.Output(out);
    bnn::fb::Conv2DOptionsT o;
    o.stride_h = o.stride_w = 2;
    o.padding = bnn::fb::Padding::SAME;
    b.Op(OpType::CONV2D, {in, wt, t2, t3}, {out}, bnn::Options(o));
    const std::vector<uint8_t> got = RunModelBytes(b, {std::vector<uint8_t>(x.begin(), x.end())});
    for (size_t i = 0; i < acc.size(); ++i) {
      const size_t c = i % 6;
      if (bits) {
        const uint32_t word = reinterpret_cast<const uint32_t*>(got.data())[i / 6];
        CHECK(((word >> c) & 1) == (acc[i] < 100 ? 1u : 0u));
      } else {
        CHECK(reinterpret_cast<const float*>(got.data())[i] == static_cast<float>(acc[i]) * mult[c] + bias[c]);
      }
    }
  }
}
