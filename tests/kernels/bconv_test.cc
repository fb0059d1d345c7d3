// Binary convolution: the reference against plain float arithmetic on +/-1
// tensors, and every optimised target against the reference, bit for bit.
#include <catch2/catch.hpp>

#include <algorithm>

#include "helpers.h"

using namespace bnn_test;

namespace {

struct ConvCase {
  bnn_conv_shape shape;
  std::vector<float> input;    // NHWC +/-1
  std::vector<float> weights;  // OHWI (per group) +/-1
  std::vector<bnn_word> packed_input, packed_weights;
};

ConvCase MakeCase(std::mt19937& rng, const bnn_conv_shape& s) {
  ConvCase c;
  c.shape = s;
  const size_t pixels = static_cast<size_t>(s.batch) * s.in_h * s.in_w;
  const size_t cg = s.in_c / s.groups, taps = static_cast<size_t>(s.kernel_h) * s.kernel_w;
  c.input = RandomSigns(rng, pixels * s.in_c);
  c.weights = RandomSigns(rng, static_cast<size_t>(s.out_c) * taps * cg);
  c.packed_input = Pack(c.input, pixels, s.in_c);
  // Canonical weights: each output channel's taps packed one after another.
  c.packed_weights = Pack(c.weights, static_cast<size_t>(s.out_c) * taps, cg);
  REQUIRE(c.packed_weights.size() == s.out_c * bnn_conv_weight_row_words(&s));
  return c;
}

// Plain float convolution: padded pixels are 0 (zero padding) or +1.
std::vector<float> NaiveConv(const ConvCase& c) {
  const bnn_conv_shape& s = c.shape;
  const uint32_t oh = bnn_conv_out_h(&s), ow = bnn_conv_out_w(&s);
  const uint32_t cg = s.in_c / s.groups, ocg = s.out_c / s.groups;
  std::vector<float> out(static_cast<size_t>(s.batch) * oh * ow * s.out_c);
  size_t o = 0;
  for (uint32_t b = 0; b < s.batch; ++b)
    for (uint32_t oy = 0; oy < oh; ++oy)
      for (uint32_t ox = 0; ox < ow; ++ox)
        for (uint32_t oc = 0; oc < s.out_c; ++oc, ++o) {
          const uint32_t g = oc / ocg;
          float sum = 0;
          for (uint32_t ky = 0; ky < s.kernel_h; ++ky)
            for (uint32_t kx = 0; kx < s.kernel_w; ++kx)
              for (uint32_t ci = 0; ci < cg; ++ci) {
                const long iy = long(oy * s.stride_h + ky * s.dilation_h) - long(s.pad_top);
                const long ix = long(ox * s.stride_w + kx * s.dilation_w) - long(s.pad_left);
                float a = s.pad_value == BNN_PAD_ONE ? 1.0f : 0.0f;
                if (iy >= 0 && iy < long(s.in_h) && ix >= 0 && ix < long(s.in_w))
                  a = c.input[((size_t(b) * s.in_h + iy) * s.in_w + ix) * s.in_c + g * cg + ci];
                const float w = c.weights[((size_t(oc) * s.kernel_h + ky) * s.kernel_w + kx) * cg + ci];
                sum += a * w;
              }
          out[o] = sum;
        }
  return out;
}

bnn_conv_shape Shape(uint32_t h, uint32_t w, uint32_t in_c, uint32_t out_c, uint32_t k,
                     uint32_t stride, uint32_t dilation, uint32_t groups, bool same,
                     bnn_pad_value pad_value, uint32_t batch = 1) {
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
  s.pad_value = pad_value;
  bnn_conv_same_padding(&s, same);
  return s;
}

std::string Describe(const bnn_conv_shape& s) {
  char buf[256];
  snprintf(buf, sizeof buf,
           "N%u %ux%ux%u -> %u, k%ux%u s%ux%u d%ux%u g%u pad t%u l%u b%u r%u %s", s.batch, s.in_h,
           s.in_w, s.in_c, s.out_c, s.kernel_h, s.kernel_w, s.stride_h, s.stride_w, s.dilation_h,
           s.dilation_w, s.groups, s.pad_top, s.pad_left, s.pad_bottom, s.pad_right,
           s.pad_value == BNN_PAD_ZERO ? "zero" : "one");
  return buf;
}

// Edge shapes: channels below, at and above a word and a 16-channel block,
// output pixels around the 4-row tile, prime sizes, every kernel size,
// strides, dilations, groups that split words, SAME/VALID, both pad values.
std::vector<bnn_conv_shape> EdgeShapes() {
  std::vector<bnn_conv_shape> shapes;
  for (bnn_pad_value pv : {BNN_PAD_ZERO, BNN_PAD_ONE})
    for (bool same : {true, false}) {
      for (uint32_t k : {1u, 3u, 5u, 7u})
        for (uint32_t stride : {1u, 2u}) shapes.push_back(Shape(9, 7, 33, 17, k, stride, 1, 1, same, pv));
      for (uint32_t in_c : {1u, 3u, 31u, 32u, 33u, 64u, 65u, 96u})
        for (uint32_t out_c : {1u, 15u, 16u, 17u, 32u, 33u})
          shapes.push_back(Shape(5, 3, in_c, out_c, 3, 1, 1, 1, same, pv));
      for (uint32_t hw : {1u, 2u, 3u, 5u, 11u, 13u}) shapes.push_back(Shape(hw, hw, 40, 20, 3, 1, 1, 1, same, pv));
      shapes.push_back(Shape(13, 11, 32, 16, 3, 1, 2, 1, same, pv));   // dilation
      shapes.push_back(Shape(12, 12, 24, 8, 5, 2, 2, 1, same, pv));    // dilation + stride
      shapes.push_back(Shape(7, 7, 60, 18, 3, 1, 1, 3, same, pv));     // groups of 20: split words
      shapes.push_back(Shape(6, 5, 64, 64, 3, 2, 1, 2, same, pv));     // groups of 32
      shapes.push_back(Shape(5, 5, 96, 48, 3, 1, 1, 48, same, pv));    // depthwise-like, 2 in per group
      shapes.push_back(Shape(4, 6, 37, 19, 1, 1, 1, 1, same, pv, 3));  // batch
    }
  // Asymmetric explicit padding, and a pad wider than the kernel (windows of only padding).
  bnn_conv_shape s = Shape(6, 9, 35, 21, 3, 1, 1, 1, false, BNN_PAD_ZERO);
  s.pad_top = 2; s.pad_left = 0; s.pad_bottom = 1; s.pad_right = 2;
  shapes.push_back(s);
  s.pad_top = 4; s.pad_value = BNN_PAD_ONE;
  shapes.push_back(s);
  s.pad_value = BNN_PAD_ZERO;
  shapes.push_back(s);
  // VALID on the tiniest images has no output: those are not convolutions.
  std::vector<bnn_conv_shape> valid;
  for (const bnn_conv_shape& v : shapes)
    if (bnn_conv_shape_valid(&v)) valid.push_back(v);
  return valid;
}

std::vector<bnn_conv_shape> RandomShapes(std::mt19937& rng, int count) {
  std::vector<bnn_conv_shape> shapes;
  auto pick = [&](std::initializer_list<uint32_t> l) {
    return *(l.begin() + std::uniform_int_distribution<size_t>(0, l.size() - 1)(rng));
  };
  while (static_cast<int>(shapes.size()) < count) {
    const uint32_t groups = pick({1, 1, 1, 2, 3, 4});
    const uint32_t cg = std::uniform_int_distribution<uint32_t>(1, 100)(rng);
    const uint32_t ocg = std::uniform_int_distribution<uint32_t>(1, 40)(rng);
    bnn_conv_shape s = Shape(std::uniform_int_distribution<uint32_t>(1, 17)(rng),
                             std::uniform_int_distribution<uint32_t>(1, 17)(rng), cg * groups,
                             ocg * groups, pick({1, 3, 5, 7}), pick({1, 2}), pick({1, 1, 2}), groups,
                             pick({0, 1}) != 0, pick({0, 1}) ? BNN_PAD_ZERO : BNN_PAD_ONE,
                             pick({1, 1, 2}));
    s.kernel_w = pick({1, 3, 5, 7});  // non-square kernels too
    bnn_conv_same_padding(&s, s.pad_top || s.pad_left || s.pad_bottom || s.pad_right);
    if (bnn_conv_shape_valid(&s)) shapes.push_back(s);
  }
  return shapes;
}

// Runs one implementation, with weights and input placed against guard pages.
std::vector<uint8_t> Run(const bnn_kernel_table* k, const ConvCase& c, const bnn_output_transform& t) {
  const bnn_conv_shape& s = c.shape;
  GuardedBuffer input(c.packed_input.size() * sizeof(bnn_word));
  memcpy(input.as<void>(), c.packed_input.data(), input.size());
  const size_t wbytes = k->bconv2d_weights_size(&s);
  GuardedBuffer canonical(c.packed_weights.size() * sizeof(bnn_word), BNN_WEIGHT_ALIGN);
  memcpy(canonical.as<void>(), c.packed_weights.data(), canonical.size());
  GuardedBuffer packed(wbytes ? wbytes : 1, BNN_WEIGHT_ALIGN);
  if (wbytes) k->bconv2d_pack_weights(&s, canonical.as<bnn_word>(), packed.as<void>());
  const size_t sbytes = k->bconv2d_scratch_size(&s);
  GuardedBuffer scratch(sbytes ? sbytes : 1, BNN_WEIGHT_ALIGN);
  const size_t rows = static_cast<size_t>(s.batch) * bnn_conv_out_h(&s) * bnn_conv_out_w(&s);
  const size_t out_bytes = rows * bnn_output_row_bytes(t.type, s.out_c);
  GuardedBuffer out(out_bytes);
  memset(out.as<void>(), 0xA5, out_bytes);  // garbage: every byte must be written
  std::unique_ptr<GuardedBuffer> residual;
  const bnn_output_transform guarded = GuardResidual(t, rows, s.out_c, &residual);
  k->bconv2d(&s, input.as<bnn_word>(), wbytes ? packed.as<void>() : canonical.as<void>(), &guarded,
             out.as<void>(), sbytes ? scratch.as<void>() : nullptr);
  const uint8_t* o = out.as<uint8_t>();
  return std::vector<uint8_t>(o, o + out_bytes);
}

// Outputs of an S32 convolution that differ from the float convolution's.
size_t WrongOutputs(const std::vector<int32_t>& got, const std::vector<float>& expected) {
  REQUIRE(got.size() == expected.size());
  size_t wrong = 0;
  for (size_t i = 0; i < got.size(); ++i) wrong += got[i] != static_cast<int32_t>(expected[i]);
  return wrong;
}

std::vector<int32_t> RunS32(const bnn_kernel_table* k, const ConvCase& c) {
  bnn_output_transform t{};
  t.type = BNN_OUTPUT_S32;
  std::vector<uint8_t> bytes = Run(k, c, t);
  std::vector<int32_t> out(bytes.size() / 4);
  memcpy(out.data(), bytes.data(), bytes.size());
  return out;
}

}  // namespace

TEST_CASE("reference bconv2d equals a float convolution of +1/-1 tensors", "[bconv][reference]") {
  std::mt19937 rng(1234);
  std::vector<bnn_conv_shape> shapes = EdgeShapes();
  for (const bnn_conv_shape& s : RandomShapes(rng, 60)) shapes.push_back(s);
  for (const bnn_conv_shape& s : shapes) {
    INFO(Describe(s));
    REQUIRE(bnn_conv_shape_valid(&s));
    const ConvCase c = MakeCase(rng, s);
    const std::vector<float> expected = NaiveConv(c);
    CHECK(WrongOutputs(RunS32(bnn_kernels_reference(), c), expected) == 0);
  }
}

TEST_CASE("optimised bconv2d equals the reference bit for bit on every target", "[bconv][targets]") {
  const auto targets = OptimisedTables();
  REQUIRE_FALSE(targets.empty());
  std::mt19937 rng(99);
  std::vector<bnn_conv_shape> shapes = EdgeShapes();
  for (const bnn_conv_shape& s : RandomShapes(rng, 80)) shapes.push_back(s);
  for (const bnn_conv_shape& s : shapes) {
    const ConvCase c = MakeCase(rng, s);
    const int32_t k = static_cast<int32_t>(s.kernel_h * s.kernel_w * (s.in_c / s.groups));
    const size_t rows = static_cast<size_t>(s.batch) * bnn_conv_out_h(&s) * bnn_conv_out_w(&s);
    const Transforms transforms(rng, s.out_c, k, rows);
    for (const bnn_output_transform* t : transforms.all()) {
      const std::vector<uint8_t> expected = Run(bnn_kernels_reference(), c, *t);
      for (const bnn_kernel_table* impl : targets) {
        INFO(impl->name << " " << TransformName(*t) << " " << Describe(s));
        CHECK(Run(impl, c, *t) == expected);
      }
    }
  }
}

TEST_CASE("a residual in the transform equals the unclamped output, then bnn_add_f32_ref with the clamp",
          "[bconv][residual]") {
  // The fused residual shortcut must give the bits of BCONV2D followed by ADD.
  std::mt19937 rng(2024);
  std::vector<bnn_conv_shape> shapes = EdgeShapes();
  for (const bnn_conv_shape& s : RandomShapes(rng, 20)) shapes.push_back(s);
  for (const bnn_conv_shape& s : shapes) {
    const ConvCase c = MakeCase(rng, s);
    const int32_t k = static_cast<int32_t>(s.kernel_h * s.kernel_w * (s.in_c / s.groups));
    const size_t rows = static_cast<size_t>(s.batch) * bnn_conv_out_h(&s) * bnn_conv_out_w(&s);
    const Transforms tr(rng, s.out_c, k, rows);
    const size_t n = rows * s.out_c;
    for (const bnn_kernel_table* impl : AllTables()) {
      const std::vector<uint8_t> plain = Run(impl, c, tr.f32);  // unclamped
      for (const bnn_output_transform* fused : {&tr.f32_residual, &tr.f32_relu_residual}) {
        INFO(impl->name << " clamp " << fused->clamp_min << ".." << fused->clamp_max << " " << Describe(s));
        std::vector<float> expected(n);
        bnn_add_f32_ref(reinterpret_cast<const float*>(plain.data()), tr.residual.data(), n, fused->clamp_min,
                        fused->clamp_max, expected.data());
        const std::vector<uint8_t> got = Run(impl, c, *fused);
        REQUIRE(got.size() == n * sizeof(float));
        CHECK(FirstFloatDifference(reinterpret_cast<const float*>(got.data()), expected.data(), n) == n);
      }
    }
  }
}

TEST_CASE("every target counts long runs of all-mismatching words exactly", "[bconv][targets]") {
  // Kernels that sum per-byte popcounts must widen them before a byte can
  // overflow (kernels/common/popcount-inl.h). All-+1 inputs against all--1
  // weights make every word of a row mismatch in all 32 bits, the largest
  // count a byte can take per word; rows of 90 to 147 words run past the
  // flush interval within and across kernel rows (in place, gathered and
  // direct rows). Channels cycle through all-mismatching, all-matching and
  // random weights.
  std::mt19937 rng(31);
  std::vector<bnn_conv_shape> shapes;
  for (bnn_pad_value pv : {BNN_PAD_ZERO, BNN_PAD_ONE}) {
    for (uint32_t in_c : {320u, 352u, 512u}) shapes.push_back(Shape(5, 5, in_c, 17, 3, 1, 1, 1, true, pv));
    shapes.push_back(Shape(3, 3, 2048, 33, 1, 1, 1, 1, false, pv));  // direct: 64 words
    shapes.push_back(Shape(5, 4, 704, 34, 3, 1, 1, 2, true, pv));    // grouped: gathered rows of 99 words
    shapes.push_back(Shape(9, 9, 96, 16, 7, 1, 1, 1, true, pv));     // 7 runs of 21 words
  }
  for (const bnn_conv_shape& s : shapes) {
    INFO(Describe(s));
    REQUIRE(bnn_conv_shape_valid(&s));
    ConvCase c;
    c.shape = s;
    const size_t pixels = static_cast<size_t>(s.batch) * s.in_h * s.in_w;
    const size_t row = static_cast<size_t>(s.kernel_h) * s.kernel_w * (s.in_c / s.groups);
    c.input.assign(pixels * s.in_c, 1.0f);
    c.weights = RandomSigns(rng, s.out_c * row);
    for (uint32_t oc = 0; oc < s.out_c; ++oc)
      if (oc % 3 != 2) std::fill_n(c.weights.begin() + oc * row, row, oc % 3 == 0 ? -1.0f : 1.0f);
    c.packed_input = Pack(c.input, pixels, s.in_c);
    c.packed_weights = Pack(c.weights, static_cast<size_t>(s.out_c) * s.kernel_h * s.kernel_w, s.in_c / s.groups);
    const std::vector<float> expected = NaiveConv(c);
    for (const bnn_kernel_table* impl : AllTables()) {
      INFO(impl->name);
      CHECK(WrongOutputs(RunS32(impl, c), expected) == 0);
    }
  }
}

TEST_CASE("zero padding differs from one padding exactly at the border", "[bconv][reference]") {
  // All-ones input and weights: interior outputs are K, a zero-padded corner
  // of a 3x3 SAME convolution sees 4 of 9 taps, a one-padded corner all 9.
  bnn_conv_shape s = Shape(4, 4, 8, 1, 3, 1, 1, 1, true, BNN_PAD_ZERO);
  ConvCase c;
  c.shape = s;
  c.input.assign(4 * 4 * 8, 1.0f);
  c.weights.assign(9 * 8, 1.0f);
  c.packed_input = Pack(c.input, 16, 8);
  c.packed_weights = Pack(c.weights, 9, 8);
  for (const bnn_kernel_table* impl : AllTables()) {
    INFO(impl->name);
    c.shape.pad_value = BNN_PAD_ZERO;
    std::vector<int32_t> zero = RunS32(impl, c);
    CHECK(zero[0] == 4 * 8);
    CHECK(zero[1] == 6 * 8);
    CHECK(zero[5] == 9 * 8);
    c.shape.pad_value = BNN_PAD_ONE;
    std::vector<int32_t> one = RunS32(impl, c);
    CHECK(one[0] == 9 * 8);
    CHECK(one[5] == 9 * 8);
  }
}
