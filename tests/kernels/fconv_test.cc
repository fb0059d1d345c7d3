// Float convolution: the reference against a naive double-precision
// convolution, and every optimised target against the reference, bit for bit
// (the float contract in bnn_kernels.h).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "helpers.h"

using namespace bnn_test;

namespace {

struct FConvCase {
  bnn_conv_shape shape;
  std::vector<float> input;    // NHWC
  std::vector<float> weights;  // OHWI (per group)
  std::vector<float> bias;     // [out_c]
};

size_t InputSize(const bnn_conv_shape& s) { return size_t(s.batch) * s.in_h * s.in_w * s.in_c; }
size_t WeightSize(const bnn_conv_shape& s) {
  return size_t(s.out_c) * s.kernel_h * s.kernel_w * (s.in_c / s.groups);
}
size_t OutputSize(const bnn_conv_shape& s) {
  return size_t(s.batch) * bnn_conv_out_h(&s) * bnn_conv_out_w(&s) * s.out_c;
}

FConvCase MakeCase(std::mt19937& rng, const bnn_conv_shape& s) {
  FConvCase c;
  c.shape = s;
  c.input = RandomFloats(rng, InputSize(s), -2.0f, 2.0f);
  c.weights = RandomFloats(rng, WeightSize(s));
  c.bias = RandomFloats(rng, s.out_c, -0.5f, 0.5f);
  return c;
}

struct Clamp {
  const char* name;
  float lo, hi;
};
const Clamp kClamps[] = {{"none", -HUGE_VALF, HUGE_VALF}, {"relu", 0.0f, HUGE_VALF}, {"relu6", 0.0f, 6.0f}};

// Double-precision convolution; also the sum of |x * w| per output (the
// error scale of a float dot product).
void NaiveConv(const FConvCase& c, const float* bias, std::vector<double>* out,
               std::vector<double>* magnitude) {
  const bnn_conv_shape& s = c.shape;
  const uint32_t oh = bnn_conv_out_h(&s), ow = bnn_conv_out_w(&s);
  const uint32_t cg = s.in_c / s.groups, ocg = s.out_c / s.groups;
  out->clear();
  magnitude->clear();
  for (uint32_t b = 0; b < s.batch; ++b)
    for (uint32_t oy = 0; oy < oh; ++oy)
      for (uint32_t ox = 0; ox < ow; ++ox)
        for (uint32_t oc = 0; oc < s.out_c; ++oc) {
          const uint32_t g = oc / ocg;
          double sum = bias ? bias[oc] : 0.0, mag = bias ? std::fabs(bias[oc]) : 0.0;
          for (uint32_t ky = 0; ky < s.kernel_h; ++ky)
            for (uint32_t kx = 0; kx < s.kernel_w; ++kx) {
              const long iy = long(oy * s.stride_h + ky * s.dilation_h) - long(s.pad_top);
              const long ix = long(ox * s.stride_w + kx * s.dilation_w) - long(s.pad_left);
              if (iy < 0 || iy >= long(s.in_h) || ix < 0 || ix >= long(s.in_w)) continue;
              for (uint32_t ci = 0; ci < cg; ++ci) {
                const double x = c.input[((size_t(b) * s.in_h + iy) * s.in_w + ix) * s.in_c + g * cg + ci];
                const double w = c.weights[((size_t(oc) * s.kernel_h + ky) * s.kernel_w + kx) * cg + ci];
                sum += x * w;
                mag += std::fabs(x * w);
              }
            }
          out->push_back(sum);
          magnitude->push_back(mag);
        }
}

bnn_conv_shape Shape(uint32_t h, uint32_t w, uint32_t in_c, uint32_t out_c, uint32_t k,
                     uint32_t stride, uint32_t dilation, uint32_t groups, bool same,
                     uint32_t batch = 1) {
  bnn_conv_shape s{};
  s.batch = batch;
  s.in_h = h;
  s.in_w = w;
  s.in_c = in_c;
  s.out_c = out_c;
  s.kernel_h = s.kernel_w = k;
  s.stride_h = s.stride_w = stride;
  s.dilation_h = s.dilation_w = dilation;
  s.groups = groups;
  bnn_conv_same_padding(&s, same);
  return s;
}

std::string Describe(const bnn_conv_shape& s) {
  char buf[256];
  snprintf(buf, sizeof buf, "N%u %ux%ux%u -> %u, k%ux%u s%ux%u d%ux%u g%u pad t%u l%u b%u r%u",
           s.batch, s.in_h, s.in_w, s.in_c, s.out_c, s.kernel_h, s.kernel_w, s.stride_h,
           s.stride_w, s.dilation_h, s.dilation_w, s.groups, s.pad_top, s.pad_left, s.pad_bottom,
           s.pad_right);
  return buf;
}

// Edge shapes: 1 and 3 input channels, odd counts, output channels around the
// 16-channel block and the vector widths, output pixels around the 6-row
// tile, every kernel size, strides, dilations, groups, depthwise (multiplier
// 1 and 2), SAME/VALID/asymmetric padding, batch, the first layer's 7x7/2.
std::vector<bnn_conv_shape> EdgeShapes() {
  std::vector<bnn_conv_shape> shapes;
  for (bool same : {true, false}) {
    for (uint32_t k : {1u, 3u, 5u, 7u})
      for (uint32_t stride : {1u, 2u}) shapes.push_back(Shape(9, 8, 3, 17, k, stride, 1, 1, same));
    for (uint32_t in_c : {1u, 3u, 7u, 16u, 33u})
      for (uint32_t out_c : {1u, 3u, 4u, 8u, 12u, 15u, 16u, 17u, 33u, 48u, 64u, 65u})
        shapes.push_back(Shape(5, 3, in_c, out_c, 3, 1, 1, 1, same));
    for (uint32_t hw : {1u, 2u, 3u, 5u, 7u, 11u}) shapes.push_back(Shape(hw, hw, 5, 20, 3, 1, 1, 1, same));
    shapes.push_back(Shape(13, 11, 8, 16, 3, 1, 2, 1, same));   // dilation
    shapes.push_back(Shape(12, 12, 6, 24, 5, 2, 2, 1, same));   // dilation + stride
    shapes.push_back(Shape(7, 7, 12, 18, 3, 1, 1, 3, same));    // groups of 4 -> 6
    shapes.push_back(Shape(6, 5, 32, 64, 3, 2, 1, 2, same));    // groups of 16 -> 32
    shapes.push_back(Shape(8, 7, 10, 40, 1, 1, 1, 2, same));    // grouped 1x1
    shapes.push_back(Shape(9, 9, 3, 3, 3, 1, 1, 3, same));      // depthwise, 3 channels
    shapes.push_back(Shape(9, 8, 37, 37, 3, 1, 1, 37, same));   // depthwise, odd channels
    shapes.push_back(Shape(10, 9, 64, 64, 3, 2, 1, 64, same));  // depthwise, stride 2
    shapes.push_back(Shape(11, 10, 20, 20, 5, 1, 2, 20, same)); // depthwise, dilation
    shapes.push_back(Shape(7, 6, 17, 17, 7, 1, 1, 17, same));   // depthwise, 7x7
    shapes.push_back(Shape(6, 7, 12, 24, 3, 1, 1, 12, same));   // depthwise, multiplier 2
    shapes.push_back(Shape(5, 21, 24, 24, 3, 1, 1, 24, same));  // depthwise, 4-pixel interior runs
    shapes.push_back(Shape(6, 30, 19, 19, 3, 2, 1, 19, same));  // the same, stride 2, odd channels
    shapes.push_back(Shape(4, 6, 19, 37, 1, 1, 1, 1, same, 3)); // batch, 1x1
    shapes.push_back(Shape(5, 6, 9, 21, 3, 2, 1, 1, same, 2));  // batch, 3x3/2
    shapes.push_back(Shape(40, 38, 3, 64, 7, 2, 1, 1, same));   // the first layer's kind
    shapes.push_back(Shape(16, 16, 64, 32, 1, 2, 1, 1, same));  // downsampling 1x1/2
  }
  // Asymmetric explicit padding, and a pad wider than the kernel (windows of only padding).
  bnn_conv_shape s = Shape(6, 9, 5, 21, 3, 1, 1, 1, false);
  s.pad_top = 2; s.pad_left = 0; s.pad_bottom = 1; s.pad_right = 2;
  shapes.push_back(s);
  s.pad_top = 4;
  shapes.push_back(s);
  s = Shape(8, 8, 16, 16, 3, 1, 1, 16, false);  // depthwise, asymmetric
  s.pad_top = 0; s.pad_left = 3; s.pad_bottom = 2; s.pad_right = 1;
  shapes.push_back(s);
  s = Shape(9, 7, 4, 12, 5, 1, 1, 1, false);  // non-square kernel
  s.kernel_w = 3;
  s.stride_w = 2;
  bnn_conv_same_padding(&s, 1);
  shapes.push_back(s);
  std::vector<bnn_conv_shape> valid;
  for (const bnn_conv_shape& v : shapes)
    if (bnn_fconv_shape_valid(&v)) valid.push_back(v);
  return valid;
}

std::vector<bnn_conv_shape> RandomShapes(std::mt19937& rng, int count) {
  std::vector<bnn_conv_shape> shapes;
  auto pick = [&](std::initializer_list<uint32_t> l) {
    return *(l.begin() + std::uniform_int_distribution<size_t>(0, l.size() - 1)(rng));
  };
  auto between = [&](uint32_t lo, uint32_t hi) { return std::uniform_int_distribution<uint32_t>(lo, hi)(rng); };
  while (static_cast<int>(shapes.size()) < count) {
    const bool depthwise = between(0, 4) == 0;
    const uint32_t groups = depthwise ? 0 : pick({1, 1, 1, 2, 3});
    const uint32_t cg = between(1, 24), ocg = between(1, 40);
    bnn_conv_shape s;
    if (depthwise) {
      const uint32_t c = between(2, 40);
      s = Shape(between(1, 14), between(1, 14), c, c * pick({1, 1, 2}), pick({3, 5}), pick({1, 2}),
                pick({1, 1, 2}), c, pick({0, 1}) != 0, pick({1, 1, 2}));
    } else {
      s = Shape(between(1, 14), between(1, 14), cg * groups, ocg * groups, pick({1, 3, 5, 7}),
                pick({1, 2}), pick({1, 1, 2}), groups, pick({0, 1}) != 0, pick({1, 1, 2}));
    }
    s.kernel_w = pick({1, 3, 5, 7});  // non-square kernels too
    bnn_conv_same_padding(&s, s.pad_top || s.pad_left || s.pad_bottom || s.pad_right);
    if (bnn_fconv_shape_valid(&s)) shapes.push_back(s);
  }
  return shapes;
}

// Runs one implementation with every buffer against a guard page.
std::vector<float> Run(const bnn_kernel_table* k, const bnn_conv_shape& s,
                       const std::vector<float>& input_v, const std::vector<float>& weights_v,
                       const float* bias_v, float lo, float hi) {
  GuardedBuffer input(input_v.size() * sizeof(float));
  memcpy(input.as<void>(), input_v.data(), input.size());
  GuardedBuffer canonical(weights_v.size() * sizeof(float), BNN_WEIGHT_ALIGN);
  memcpy(canonical.as<void>(), weights_v.data(), canonical.size());
  GuardedBuffer bias(s.out_c * sizeof(float));
  if (bias_v) memcpy(bias.as<void>(), bias_v, bias.size());
  const size_t wbytes = k->fconv2d_weights_size(&s);
  GuardedBuffer packed(wbytes ? wbytes : 1, BNN_WEIGHT_ALIGN);
  if (wbytes) k->fconv2d_pack_weights(&s, canonical.as<float>(), packed.as<void>());
  const size_t sbytes = k->fconv2d_scratch_size(&s);
  GuardedBuffer scratch(sbytes ? sbytes : 1, BNN_WEIGHT_ALIGN);
  const size_t out_n = OutputSize(s);
  GuardedBuffer out(out_n * sizeof(float));
  memset(out.as<void>(), 0xA5, out.size());  // garbage: every element must be written
  k->fconv2d(&s, input.as<float>(), wbytes ? packed.as<void>() : canonical.as<void>(),
             bias_v ? bias.as<float>() : nullptr, lo, hi, out.as<float>(),
             sbytes ? scratch.as<void>() : nullptr);
  const float* o = out.as<float>();
  return std::vector<float>(o, o + out_n);
}

std::vector<float> Run(const bnn_kernel_table* k, const FConvCase& c, bool with_bias, float lo, float hi) {
  return Run(k, c.shape, c.input, c.weights, with_bias ? c.bias.data() : nullptr, lo, hi);
}

}  // namespace

TEST_CASE("reference fconv2d equals a double-precision convolution", "[fconv][reference]") {
  std::mt19937 rng(2024);
  std::vector<bnn_conv_shape> shapes = EdgeShapes();
  for (const bnn_conv_shape& s : RandomShapes(rng, 60)) shapes.push_back(s);
  for (const bnn_conv_shape& s : shapes) {
    REQUIRE(bnn_fconv_shape_valid(&s));
    const FConvCase c = MakeCase(rng, s);
    for (bool with_bias : {false, true})
      for (const Clamp& clamp : kClamps) {
        INFO(Describe(s) << " bias " << with_bias << " clamp " << clamp.name);
        std::vector<double> expected, magnitude;
        NaiveConv(c, with_bias ? c.bias.data() : nullptr, &expected, &magnitude);
        const std::vector<float> got = Run(bnn_kernels_reference(), c, with_bias, clamp.lo, clamp.hi);
        REQUIRE(got.size() == expected.size());
        size_t bad = 0;
        for (size_t i = 0; i < got.size(); ++i) {
          const double want = std::min(std::max(expected[i], double(clamp.lo)), double(clamp.hi));
          if (!(std::fabs(got[i] - want) <= 1e-5 * magnitude[i] + 1e-30)) {
            if (bad == 0) UNSCOPED_INFO("first mismatch at " << i << ": " << got[i] << " vs " << want);
            ++bad;
          }
        }
        CHECK(bad == 0);
      }
  }
}

TEST_CASE("optimised fconv2d equals the reference bit for bit on every target", "[fconv][targets]") {
  const auto targets = OptimisedTables();
  REQUIRE_FALSE(targets.empty());
  std::mt19937 rng(77);
  std::vector<bnn_conv_shape> shapes = EdgeShapes();
  for (const bnn_conv_shape& s : RandomShapes(rng, 80)) shapes.push_back(s);
  for (const bnn_conv_shape& s : shapes) {
    const FConvCase c = MakeCase(rng, s);
    for (bool with_bias : {false, true})
      for (const Clamp& clamp : kClamps) {
        const std::vector<float> expected = Run(bnn_kernels_reference(), c, with_bias, clamp.lo, clamp.hi);
        for (const bnn_kernel_table* impl : targets) {
          INFO(impl->name << " " << Describe(s) << " bias " << with_bias << " clamp " << clamp.name);
          const std::vector<float> got = Run(impl, c, with_bias, clamp.lo, clamp.hi);
          REQUIRE(got.size() == expected.size());
          CHECK(memcmp(got.data(), expected.data(), got.size() * sizeof(float)) == 0);
        }
      }
  }
}

TEST_CASE("fconv2d special values give the same bits on every target", "[fconv][targets]") {
  // Subnormal products and sums, results that round to -0.0f (kept by a
  // missing bias and by ReLU), infinities and NaN. NaN outputs only need to
  // be NaN (payloads are outside the contract).
  std::mt19937 rng(5);
  const float specials[] = {0.0f, -0.0f, 1e-38f, -1e-38f, 3e-39f, -3e-39f, 1e-45f, -1e-45f,
                            1e-20f, -1e-20f, 1.0f, -1.0f, HUGE_VALF, -HUGE_VALF, NAN};
  std::uniform_int_distribution<size_t> pick(0, sizeof(specials) / sizeof(specials[0]) - 1);
  std::uniform_int_distribution<int> coin(0, 9);
  for (const bnn_conv_shape& s :
       {Shape(7, 9, 3, 33, 3, 1, 1, 1, true), Shape(6, 6, 20, 20, 3, 1, 1, 20, true),
        Shape(5, 8, 8, 16, 1, 1, 1, 1, false)}) {
    for (int variant = 0; variant < 3; ++variant) {
      FConvCase c = MakeCase(rng, s);
      // variant 0: tiny values only (subnormal arithmetic, -0.0f results);
      // 1: a mix; 2: a few infinities and NaNs among normal values.
      // Variant 0: inputs ~1e-23; odd output channels' weights ~1e-20 give
      // subnormal products, even ones ~1e-23 products below half the smallest
      // subnormal, which round to a zero of the exact value's sign.
      const size_t per_channel = c.weights.size() / s.out_c;
      for (float& x : c.input) {
        if (variant == 0) x *= 1e-23f;
        else if (variant == 1) x = coin(rng) < 5 ? specials[pick(rng) % 11] : x;
        else if (coin(rng) == 0 && coin(rng) < 2) x = specials[pick(rng)];
      }
      for (size_t i = 0; i < c.weights.size(); ++i) {
        float& w = c.weights[i];
        if (variant == 0) w *= (i / per_channel) % 2 ? 1e-20f : 1e-23f;
        else if (variant == 1) w = coin(rng) < 5 ? specials[pick(rng) % 11] : w;
      }
      if (variant == 0) for (float& b : c.bias) b = 0.0f;
      for (bool with_bias : {false, true})
        for (const Clamp& clamp : kClamps) {
          const std::vector<float> expected = Run(bnn_kernels_reference(), c, with_bias, clamp.lo, clamp.hi);
          if (variant == 0 && !with_bias && clamp.lo == -HUGE_VALF) {
            // The test exercises what it claims: subnormal results and -0.0f.
            size_t subnormal = 0, negative_zero = 0;
            for (float y : expected) {
              subnormal += std::fpclassify(y) == FP_SUBNORMAL;
              negative_zero += y == 0.0f && std::signbit(y);
            }
            CHECK(subnormal > 0);
            CHECK(negative_zero > 0);
          }
          for (const bnn_kernel_table* impl : OptimisedTables()) {
            INFO(impl->name << " " << Describe(s) << " variant " << variant << " bias " << with_bias
                            << " clamp " << clamp.name);
            const std::vector<float> got = Run(impl, c, with_bias, clamp.lo, clamp.hi);
            CHECK(FirstFloatDifference(got.data(), expected.data(), got.size()) == got.size());
          }
        }
    }
  }
}

TEST_CASE("fconv2d pads with zero and keeps the contract's order", "[fconv][reference]") {
  // All-ones 3x3 SAME: a corner sees 4 taps, an edge 6, the interior 9 (x8 channels).
  const bnn_conv_shape s = Shape(4, 4, 8, 1, 3, 1, 1, 1, true);
  const std::vector<float> input(4 * 4 * 8, 1.0f), weights(9 * 8, 1.0f);
  const float bias = 0.5f;
  for (const bnn_kernel_table* impl : AllTables()) {
    INFO(impl->name);
    const std::vector<float> out = Run(impl, s, input, weights, &bias, -HUGE_VALF, HUGE_VALF);
    CHECK(out[0] == 32.5f);
    CHECK(out[1] == 48.5f);
    CHECK(out[5] == 72.5f);
  }
  // fma, not multiply-then-add: (1 + 2^-12)^2 = 1 + 2^-11 + 2^-24; with acc
  // starting at -1 - 2^-11 the fused result is exactly 2^-24, a separately
  // rounded product would give 0 (1 + 2^-11 + 2^-24 rounds to 1 + 2^-11).
  bnn_conv_shape one = Shape(1, 1, 2, 1, 1, 1, 1, 1, false);
  const float e = 1.0f + 1.0f / 4096.0f;
  const std::vector<float> x = {1.0f, e}, w = {-1.0f - 1.0f / 2048.0f, e};
  for (const bnn_kernel_table* impl : AllTables()) {
    INFO(impl->name);
    CHECK(Run(impl, one, x, w, nullptr, -HUGE_VALF, HUGE_VALF)[0] == std::ldexp(1.0f, -24));
  }
}
