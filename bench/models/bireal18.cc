// bnn-make-bireal18 OUT.bnn [--size N] [--base-channels N | --width-multiplier F]
//                           [--classes N] [--pad-value zero|one] [--seed N] [--int8-stem]
//
// Writes a Bi-Real-Net-18-shaped binary network with deterministic random
// weights, for latency and memory measurements (bench/network_bench.py). The
// outputs mean nothing: only the shapes and the operators are those of the
// real network.
//
//   input F32 [1, S, S, 3] (NHWC)
//   conv1     CONV2D 7x7/2 SAME 3->C, bias, ReLU (BatchNorm folded); with
//             --int8-stem a QUANTIZE of the input to int8 and the same
//             convolution in int8 (weights per-channel symmetric, scales and
//             bias in its output transform), as bnn-convert --int8 writes it
//   maxpool   MAXPOOL2D 3x3/2 SAME
//   layer1..4 (C, 2C, 4C, 8C channels), 2 basic blocks each; every 3x3
//             convolution is Bi-Real style:
//               y = BCONV2D(BITPACK(x)) (F32 output, multiplier/bias = folded
//                   BatchNorm) + shortcut(x)          (ADD)
//             The first convolution of layer2..4 has stride 2; its shortcut is
//             AVGPOOL2D 2x2/2 then a 1x1 CONV2D (float, BatchNorm folded) to
//             the doubled channel count. Every other shortcut is the identity.
//   avgpool   GLOBAL_AVGPOOL
//   flatten   RESHAPE [1, 8C]
//   fc        FULLY_CONNECTED 8C -> classes (float)
//
// The defaults (S = 224, C = 64, 1000 classes) give Bi-Real-Net-18's shape.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "bnn/model_builder.hpp"

namespace {

using bnn::fb::DataType;
using bnn::fb::OpType;

const char kUsage[] =
    "usage: bnn-make-bireal18 OUT.bnn [--size N] [--base-channels N | --width-multiplier F]\n"
    "                         [--classes N] [--pad-value zero|one] [--seed N]\n"
    "Writes a Bi-Real-Net-18-shaped binary network with deterministic random weights.\n"
    "  --size N              input resolution N x N (default 224)\n"
    "  --base-channels N     channels of the first stage (default 64; stages N, 2N, 4N, 8N)\n"
    "  --width-multiplier F  base channels = round(64 * F)\n"
    "  --classes N           classifier outputs (default 1000)\n"
    "  --pad-value V         binary convolutions' padding: zero (PyTorch, default) or one (Larq)\n"
    "  --seed N              random seed of the weights (default 1)\n"
    "  --int8-stem           the first convolution in int8, after a QUANTIZE of the input\n";

class Net {
 public:
  Net(uint32_t seed, bnn::fb::PadValue pad_value) : rng_(seed), pad_value_(pad_value) {}

  bnn::ModelBuilder& builder() { return b_; }

  struct T {
    int id;
    int h, w, c;
  };

  T Input(int size) {
    const int id = b_.Tensor("input", DataType::F32, {1, size, size, 3});
    b_.Input(id);
    return {id, size, size, 3};
  }

  static int Out(int in, int stride) { return (in + stride - 1) / stride; }  // SAME

  // A k x k SAME convolution's options.
  static bnn::fb::Conv2DOptionsT ConvOptions(int k, int stride, bnn::fb::Activation act) {
    bnn::fb::Conv2DOptionsT o;
    o.kernel_h = o.kernel_w = k;
    o.stride_h = o.stride_w = stride;
    o.padding = bnn::fb::Padding::SAME;
    o.activation = act;
    return o;
  }

  // Float convolution with bias (folded BatchNorm), He-initialised weights.
  T Conv(const std::string& name, const T& x, int out_c, int k, int stride, bnn::fb::Activation act) {
    std::normal_distribution<float> normal(0.0f, sqrtf(2.0f / static_cast<float>(k * k * x.c)));
    std::vector<float> w(static_cast<size_t>(out_c) * k * k * x.c), bias(static_cast<size_t>(out_c));
    for (float& v : w) v = normal(rng_);
    for (float& v : bias) v = 0.1f * uniform_(rng_);
    const int wt = b_.ConstantF32(name + ".weight", {out_c, k, k, x.c}, w);
    const int bt = b_.ConstantF32(name + ".bias", {out_c}, bias);
    const T y = Activation(name, x, out_c, stride);
    b_.Op(OpType::CONV2D, {x.id, wt, bt}, {y.id}, bnn::Options(ConvOptions(k, stride, act)), name);
    return y;
  }

  // The same convolution in int8: QUANTIZE (the input's range, about +-4)
  // then CONV2D on int8 with int8 weights, F32 output through the transform.
  T Int8Conv(const std::string& name, const T& x, int out_c, int k, int stride, bnn::fb::Activation act) {
    const float in_scale = 4.0f / 127.0f;
    const int q = b_.Tensor(name + ".quantized", DataType::S8, {1, x.h, x.w, x.c}, in_scale, 0);
    b_.Op(OpType::QUANTIZE, {x.id}, {q}, {}, name + ".quantize");
    std::normal_distribution<float> normal(0.0f, 40.0f);
    std::vector<int8_t> w(static_cast<size_t>(out_c) * k * k * x.c);
    for (int8_t& v : w) v = static_cast<int8_t>(std::max(-127.0f, std::min(127.0f, roundf(normal(rng_)))));
    std::vector<float> multiplier(static_cast<size_t>(out_c)), bias(static_cast<size_t>(out_c));
    const float w_scale = sqrtf(2.0f / static_cast<float>(k * k * x.c)) / 40.0f;  // He-sized real weights
    for (float& v : multiplier) v = in_scale * w_scale;
    for (float& v : bias) v = 0.1f * uniform_(rng_);
    const int wt = b_.Constant(name + ".weight", DataType::S8, {out_c, k, k, x.c}, w.data(), w.size());
    const int mt = b_.ConstantF32(name + ".multiplier", {out_c}, multiplier);
    const int bt = b_.ConstantF32(name + ".bias", {out_c}, bias);
    const T y = Activation(name, x, out_c, stride);
    b_.Op(OpType::CONV2D, {q, wt, mt, bt}, {y.id}, bnn::Options(ConvOptions(k, stride, act)), name);
    return y;
  }

  // Bi-Real convolution: BITPACK -> BCONV2D 3x3 (F32 out, folded BatchNorm).
  T BinaryConv(const std::string& name, const T& x, int out_c, int stride) {
    const int bits = b_.Tensor(name + ".sign", DataType::BITS, {1, x.h, x.w, x.c});
    b_.Op(OpType::BITPACK, {x.id}, {bits}, {}, name + ".sign");
    const int k = 3;
    std::bernoulli_distribution coin(0.5);
    std::vector<float> w(static_cast<size_t>(out_c) * k * k * x.c), mult(static_cast<size_t>(out_c)),
        bias(static_cast<size_t>(out_c));
    for (float& v : w) v = coin(rng_) ? 1.0f : -1.0f;
    // BatchNorm after a sum of K = 9 * C products of +-1: scale ~ 1 / sqrt(K).
    const float scale = 1.0f / sqrtf(static_cast<float>(k * k * x.c));
    for (float& v : mult) v = scale * (0.5f + 0.5f * (uniform_(rng_) + 1.0f));
    for (float& v : bias) v = 0.1f * uniform_(rng_);
    const int wt = b_.ConstantBits(name + ".weight", {out_c, k, k, x.c}, w);
    const int mt = b_.ConstantF32(name + ".multiplier", {out_c}, mult);
    const int bt = b_.ConstantF32(name + ".bias", {out_c}, bias);
    const T y = Activation(name, x, out_c, stride);
    bnn::fb::Conv2DOptionsT o = ConvOptions(k, stride, bnn::fb::Activation::NONE);
    o.pad_value = pad_value_;
    b_.Op(OpType::BCONV2D, {bits, wt, mt, bt}, {y.id}, bnn::Options(o), name);
    return y;
  }

  T Pool(OpType type, const std::string& name, const T& x, int k, int stride) {
    const T y = Activation(name, x, x.c, stride);
    bnn::fb::PoolOptionsT o;
    o.kernel_h = o.kernel_w = k;
    o.stride_h = o.stride_w = stride;
    o.padding = bnn::fb::Padding::SAME;
    b_.Op(type, {x.id}, {y.id}, bnn::Options(o), name);
    return y;
  }

  T Add(const std::string& name, const T& a, const T& b) {
    const T y = Activation(name, a, a.c, 1);
    b_.Op(OpType::ADD, {a.id, b.id}, {y.id}, {}, name);
    return y;
  }

  // One Bi-Real convolution with its shortcut.
  T BiRealConv(const std::string& name, const T& x, int out_c, int stride) {
    const T y = BinaryConv(name, x, out_c, stride);
    T shortcut = x;
    if (stride != 1 || out_c != x.c) {
      const std::string ds = name.substr(0, name.rfind('.')) + ".downsample";
      shortcut = x;
      if (stride != 1) shortcut = Pool(OpType::AVGPOOL2D, ds + ".pool", x, stride, stride);
      shortcut = Conv(ds + ".conv", shortcut, out_c, 1, 1, bnn::fb::Activation::NONE);
    }
    return Add(name + ".add", y, shortcut);
  }

  T Head(const T& x, int classes) {
    const int g = b_.Tensor("avgpool", DataType::F32, {1, 1, 1, x.c});
    b_.Op(OpType::GLOBAL_AVGPOOL, {x.id}, {g}, {}, "avgpool");
    const int f = b_.Tensor("flatten", DataType::F32, {1, x.c});
    bnn::fb::ReshapeOptionsT r;
    r.shape = {1, x.c};
    b_.Op(OpType::RESHAPE, {g}, {f}, bnn::Options(r), "flatten");
    std::normal_distribution<float> normal(0.0f, sqrtf(1.0f / static_cast<float>(x.c)));
    std::vector<float> w(static_cast<size_t>(classes) * x.c), bias(static_cast<size_t>(classes));
    for (float& v : w) v = normal(rng_);
    for (float& v : bias) v = 0.01f * uniform_(rng_);
    const int wt = b_.ConstantF32("fc.weight", {classes, x.c}, w);
    const int bt = b_.ConstantF32("fc.bias", {classes}, bias);
    const int y = b_.Tensor("logits", DataType::F32, {1, classes});
    b_.Op(OpType::FULLY_CONNECTED, {f, wt, bt}, {y}, {}, "fc");
    b_.Output(y);
    return {y, 1, 1, classes};
  }

 private:
  // A new F32 activation tensor, `x` downsampled by `stride` with `c` channels.
  T Activation(const std::string& name, const T& x, int c, int stride) {
    const int h = Out(x.h, stride), w = Out(x.w, stride);
    return {b_.Tensor(name, DataType::F32, {1, h, w, c}), h, w, c};
  }

  bnn::ModelBuilder b_;
  std::mt19937 rng_;
  std::uniform_real_distribution<float> uniform_{-1.0f, 1.0f};
  bnn::fb::PadValue pad_value_;
};

bool ParseInt(const char* s, int lo, int hi, int* out) {
  char* end = nullptr;
  const long v = strtol(s, &end, 10);
  if (!*s || *end || v < lo || v > hi) return false;
  *out = static_cast<int>(v);
  return true;
}

int Fail(const std::string& message) {
  fprintf(stderr, "bnn-make-bireal18: %s\n", message.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string out;
  int size = 224, base = 64, classes = 1000, seed = 1;
  bnn::fb::PadValue pad_value = bnn::fb::PadValue::ZERO;
  bool int8_stem = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--help" || a == "-h") {
      fputs(kUsage, stdout);
      return 0;
    } else if (a == "--size" && has_value) {
      if (!ParseInt(argv[++i], 32, 4096, &size)) return Fail("--size takes a resolution from 32 to 4096");
    } else if (a == "--base-channels" && has_value) {
      if (!ParseInt(argv[++i], 1, 4096, &base)) return Fail("--base-channels takes a count from 1 to 4096");
    } else if (a == "--width-multiplier" && has_value) {
      char* end = nullptr;
      const double f = strtod(argv[++i], &end);
      if (!*argv[i] || *end || !(f > 0.0) || f * 64.0 > 4096.0) return Fail("--width-multiplier takes a positive factor");
      base = static_cast<int>(lround(64.0 * f));
      if (base < 1) base = 1;
    } else if (a == "--classes" && has_value) {
      if (!ParseInt(argv[++i], 1, 1000000, &classes)) return Fail("--classes takes a count");
    } else if (a == "--seed" && has_value) {
      if (!ParseInt(argv[++i], 0, 2147483647, &seed)) return Fail("--seed takes a non-negative integer");
    } else if (a == "--int8-stem") {
      int8_stem = true;
    } else if (a == "--pad-value" && has_value) {
      const std::string v = argv[++i];
      if (v == "zero")
        pad_value = bnn::fb::PadValue::ZERO;
      else if (v == "one")
        pad_value = bnn::fb::PadValue::ONE;
      else
        return Fail("--pad-value takes zero or one");
    } else if (!a.empty() && a[0] != '-' && out.empty()) {
      out = a;
    } else {
      fputs(kUsage, stderr);
      return Fail("unexpected argument '" + a + "'");
    }
  }
  if (out.empty()) {
    fputs(kUsage, stderr);
    return 2;
  }

  Net net(static_cast<uint32_t>(seed), pad_value);
  Net::T x = net.Input(size);
  x = int8_stem ? net.Int8Conv("conv1", x, base, 7, 2, bnn::fb::Activation::RELU)
                : net.Conv("conv1", x, base, 7, 2, bnn::fb::Activation::RELU);
  x = net.Pool(OpType::MAXPOOL2D, "maxpool", x, 3, 2);
  for (int stage = 0; stage < 4; ++stage) {
    const int channels = base << stage;
    for (int block = 0; block < 2; ++block) {
      const std::string prefix = "layer" + std::to_string(stage + 1) + "." + std::to_string(block) + ".";
      const int stride = stage > 0 && block == 0 ? 2 : 1;
      x = net.BiRealConv(prefix + "conv1", x, channels, stride);
      x = net.BiRealConv(prefix + "conv2", x, channels, 1);
    }
  }
  net.Head(x, classes);

  bnn::ModelBuilder& b = net.builder();
  bnn::fb::MetadataT& m = b.metadata();
  m.name = "bireal18-shaped-" + std::to_string(size) + "-c" + std::to_string(base) + (int8_stem ? "-int8-stem" : "");
  m.description = "Bi-Real-Net-18-shaped binary network with random weights (bench/models/bireal18.cc), " +
                  std::to_string(size) + "x" + std::to_string(size) + " input, base channels " +
                  std::to_string(base) + ": for benchmarks only";
  m.producer = "bnn-make-bireal18";
  m.task = bnn::fb::Task::CLASSIFIER;
  m.input_layout = bnn::fb::Layout::NHWC;
  m.output_meaning = {"logits"};
  std::string error;
  if (!b.Write(out, &error)) return Fail(error);
  return 0;
}
