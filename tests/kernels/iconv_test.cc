// Int8 convolution: the reference against plain integer sums, and every
// optimised implementation against the reference bit for bit (exact integer
// arithmetic, then the same output transform), over kernel sizes, strides,
// dilations, padding, zero points at the ends of the range, channel counts
// around the 16-channel vector and the 4-tap group, groups, and batches.
#include <catch2/catch.hpp>

#include <vector>

#include "helpers.h"

using namespace bnn_test;

namespace {

struct IConvCase {
  bnn_conv_shape s{};
  int32_t zero_point = 0;
  std::vector<int8_t> input, weights;
};

IConvCase MakeCase(std::mt19937& rng, uint32_t batch, uint32_t h, uint32_t w, uint32_t in_c, uint32_t out_c,
                   uint32_t k, uint32_t stride, uint32_t dilation, uint32_t groups, int same, int32_t zp) {
  IConvCase c;
  c.s.batch = batch;
  c.s.in_h = h;
  c.s.in_w = w;
  c.s.in_c = in_c;
  c.s.out_c = out_c;
  c.s.kernel_h = c.s.kernel_w = k;
  c.s.stride_h = c.s.stride_w = stride;
  c.s.dilation_h = c.s.dilation_w = dilation;
  c.s.groups = groups;
  bnn_conv_same_padding(&c.s, same);
  c.zero_point = zp;
  std::uniform_int_distribution<int> byte(-128, 127);
  c.input.resize(static_cast<size_t>(batch) * h * w * in_c);
  for (int8_t& v : c.input) v = static_cast<int8_t>(byte(rng));
  // Some extremes: -128 and 127 inputs, -128 weights (the widest products).
  if (!c.input.empty()) c.input[0] = -128;
  if (c.input.size() > 1) c.input[1] = 127;
  c.weights.resize(static_cast<size_t>(out_c) * k * k * (in_c / groups));
  for (int8_t& v : c.weights) v = static_cast<int8_t>(byte(rng));
  c.weights[0] = -128;
  return c;
}

// acc[pixel][oc] by plain loops over the padded input (padding is the real 0).
std::vector<int32_t> PlainSums(const IConvCase& c) {
  const bnn_conv_shape& s = c.s;
  const uint32_t oh = bnn_conv_out_h(&s), ow = bnn_conv_out_w(&s), cg = s.in_c / s.groups;
  std::vector<int32_t> out;
  for (uint32_t b = 0; b < s.batch; ++b)
    for (uint32_t oy = 0; oy < oh; ++oy)
      for (uint32_t ox = 0; ox < ow; ++ox)
        for (uint32_t oc = 0; oc < s.out_c; ++oc) {
          const uint32_t g = oc / (s.out_c / s.groups);
          int64_t acc = 0;
          for (uint32_t ky = 0; ky < s.kernel_h; ++ky)
            for (uint32_t kx = 0; kx < s.kernel_w; ++kx)
              for (uint32_t i = 0; i < cg; ++i) {
                const int64_t iy = int64_t(oy) * s.stride_h + ky * s.dilation_h - s.pad_top;
                const int64_t ix = int64_t(ox) * s.stride_w + kx * s.dilation_w - s.pad_left;
                const int64_t x = iy < 0 || ix < 0 || iy >= s.in_h || ix >= s.in_w
                                      ? 0
                                      : int64_t(c.input[((size_t(b) * s.in_h + size_t(iy)) * s.in_w + size_t(ix)) *
                                                            s.in_c + g * cg + i]) - c.zero_point;
                acc += x * c.weights[((size_t(oc) * s.kernel_h + ky) * s.kernel_w + kx) * cg + i];
              }
          out.push_back(static_cast<int32_t>(acc));
        }
  return out;
}

std::vector<uint8_t> Run(const bnn_kernel_table* k, const IConvCase& c, const bnn_output_transform* t) {
  const size_t pixels = size_t(c.s.batch) * bnn_conv_out_h(&c.s) * bnn_conv_out_w(&c.s);
  const size_t out_bytes = pixels * bnn_output_row_bytes(t->type, c.s.out_c);
  const size_t wbytes = k->iconv2d_weights_size(&c.s);
  GuardedBuffer packed(wbytes ? wbytes : 1, BNN_WEIGHT_ALIGN);
  const void* weights = c.weights.data();
  if (wbytes) {
    k->iconv2d_pack_weights(&c.s, c.weights.data(), packed.as<void>());
    weights = packed.as<void>();
  }
  const size_t sbytes = k->iconv2d_scratch_size(&c.s);
  GuardedBuffer scratch(sbytes ? sbytes : 1, BNN_WEIGHT_ALIGN);
  GuardedBuffer input(c.input.size());
  memcpy(input.as<int8_t>(), c.input.data(), c.input.size());
  std::vector<uint8_t> out(out_bytes, 0xA5);
  k->iconv2d(&c.s, input.as<const int8_t>(), c.zero_point, weights, t, out.data(), sbytes ? scratch.as<void>() : nullptr);
  return out;
}

}  // namespace

TEST_CASE("reference iconv2d equals plain integer sums", "[iconv][reference]") {
  std::mt19937 rng(3);
  for (const int32_t zp : {-128, -3, 0, 127}) {
    IConvCase c = MakeCase(rng, 2, 7, 6, 5, 9, 3, 2, 1, 1, 1, zp);
    bnn_output_transform s32{};
    s32.type = BNN_OUTPUT_S32;
    const std::vector<uint8_t> got = Run(bnn_kernels_reference(), c, &s32);
    const std::vector<int32_t> want = PlainSums(c);
    REQUIRE(got.size() == want.size() * 4);
    CHECK(memcmp(got.data(), want.data(), got.size()) == 0);
  }
}

TEST_CASE("optimised iconv2d equals the reference bit for bit on every target", "[iconv][targets]") {
  std::mt19937 rng(11);
  struct Shape {
    uint32_t batch, h, w, in_c, out_c, k, stride, dilation, groups;
    int same;
  };
  const Shape shapes[] = {
      {1, 23, 19, 3, 64, 7, 2, 1, 1, 1},   // the Bi-Real stem's shape, smaller image
      {1, 9, 9, 1, 16, 3, 2, 1, 1, 1},     // grey input, one vector of channels
      {2, 8, 11, 4, 17, 3, 1, 1, 1, 0},    // a channel past the vector, VALID, batch 2
      {1, 6, 7, 5, 70, 5, 1, 2, 1, 1},     // more than four vectors, dilation
      {1, 5, 5, 16, 33, 1, 1, 1, 1, 0},    // 1x1
      {1, 7, 7, 8, 8, 3, 1, 1, 4, 1},      // groups: the reference path
      {1, 4, 4, 2, 3, 3, 3, 1, 1, 1},      // stride larger than the image step
  };
  const std::vector<const bnn_kernel_table*> tables = OptimisedTables();
#if defined(__x86_64__)
  // The VNNI path is the one under test where the CPU has it.
  for (const bnn_kernel_table* k : tables)
    if (std::string(k->name) == "AVX3_DL" && __builtin_cpu_supports("avx512vnni")) {
      IConvCase c = MakeCase(rng, 1, 9, 9, 3, 64, 7, 2, 1, 1, 1, 0);
      CHECK(k->iconv2d_weights_size(&c.s) > 0);
    }
#endif
  for (const Shape& sh : shapes)
    for (const int32_t zp : {-128, -1, 0, 5, 127}) {
      IConvCase c = MakeCase(rng, sh.batch, sh.h, sh.w, sh.in_c, sh.out_c, sh.k, sh.stride, sh.dilation, sh.groups,
                             sh.same, zp);
      Transforms tr(rng, sh.out_c, 2000);
      for (const bnn_output_transform* t : tr.all()) {
        const std::vector<uint8_t> want = Run(bnn_kernels_reference(), c, t);
        for (const bnn_kernel_table* k : tables) {
          CAPTURE(k->name, sh.in_c, sh.out_c, sh.k, sh.stride, sh.groups, zp, TypeName(t->type));
          CHECK(Run(k, c, t) == want);
        }
      }
    }
}
