// Binary max-pool: the reference against a float max-pool of +1/-1 values,
// and every target against the reference.
#include <catch2/catch.hpp>

#include <algorithm>

#include "helpers.h"

using namespace bnn_test;

namespace {

std::vector<bnn_pool_shape> Shapes() {
  std::vector<bnn_pool_shape> shapes;
  for (uint32_t channels : {1u, 32u, 33u, 64u, 100u, 512u, 700u})
    for (uint32_t k : {2u, 3u})
      for (uint32_t stride : {1u, 2u})
        for (uint32_t pad : {0u, 1u}) {
          bnn_pool_shape s{2, 7, 5, channels, k, k, stride, stride, pad, pad, pad, pad};
          if (bnn_pool_shape_valid(&s)) shapes.push_back(s);
        }
  shapes.push_back({1, 1, 1, 40, 1, 1, 1, 1, 0, 0, 0, 0});
  shapes.push_back({1, 6, 9, 65, 3, 2, 2, 3, 2, 1, 0, 1});  // asymmetric
  return shapes;
}

std::vector<bnn_word> Run(const bnn_kernel_table* k, const bnn_pool_shape& s, const std::vector<bnn_word>& in) {
  GuardedBuffer buf(in.size() * sizeof(bnn_word));
  memcpy(buf.as<void>(), in.data(), buf.size());
  std::vector<bnn_word> out(size_t(s.batch) * bnn_pool_out_h(&s) * bnn_pool_out_w(&s) * bnn_words(s.channels), 0xABABABAB);
  k->bmaxpool(&s, buf.as<bnn_word>(), out.data());
  return out;
}

}  // namespace

TEST_CASE("reference bmaxpool equals a float max-pool of +1/-1 values", "[bmaxpool][reference]") {
  std::mt19937 rng(3);
  std::bernoulli_distribution mostly_negative(0.85);  // so that some windows are all -1
  for (const bnn_pool_shape& s : Shapes()) {
    INFO("channels " << s.channels << " k " << s.pool_h << "x" << s.pool_w << " stride " << s.stride_h);
    std::vector<float> x(size_t(s.batch) * s.in_h * s.in_w * s.channels);
    for (float& v : x) v = mostly_negative(rng) ? -1.0f : 1.0f;
    const std::vector<bnn_word> got = Run(bnn_kernels_reference(), s, Pack(x, x.size() / s.channels, s.channels));
    const uint32_t oh = bnn_pool_out_h(&s), ow = bnn_pool_out_w(&s);
    std::vector<float> expected;
    for (uint32_t b = 0; b < s.batch; ++b)
      for (uint32_t oy = 0; oy < oh; ++oy)
        for (uint32_t ox = 0; ox < ow; ++ox)
          for (uint32_t c = 0; c < s.channels; ++c) {
            float m = -HUGE_VALF;
            for (uint32_t ky = 0; ky < s.pool_h; ++ky)
              for (uint32_t kx = 0; kx < s.pool_w; ++kx) {
                const long iy = long(oy * s.stride_h + ky) - long(s.pad_top);
                const long ix = long(ox * s.stride_w + kx) - long(s.pad_left);
                if (iy < 0 || iy >= long(s.in_h) || ix < 0 || ix >= long(s.in_w)) continue;
                m = std::max(m, x[((size_t(b) * s.in_h + iy) * s.in_w + ix) * s.channels + c]);
              }
            expected.push_back(m);
          }
    CHECK(got == Pack(expected, expected.size() / s.channels, s.channels));
  }
}

#ifndef BNN_NO_SIMD
TEST_CASE("optimised bmaxpool equals the reference on every target", "[bmaxpool][targets]") {
  const auto targets = OptimisedTables();
  REQUIRE_FALSE(targets.empty());
  std::mt19937 rng(4);
  for (const bnn_pool_shape& s : Shapes()) {
    const size_t pixels = size_t(s.batch) * s.in_h * s.in_w;
    std::vector<bnn_word> in = Pack(RandomSigns(rng, pixels * s.channels), pixels, s.channels);
    for (bnn_word& w : in) w |= static_cast<bnn_word>(rng()) & static_cast<bnn_word>(rng());  // more -1s
    // Keep the padding bits 0, as the contract requires.
    const size_t words = bnn_words(s.channels);
    if (s.channels % 32)
      for (size_t p = 0; p < pixels; ++p) in[p * words + words - 1] &= (1u << (s.channels % 32)) - 1;
    const std::vector<bnn_word> expected = Run(bnn_kernels_reference(), s, in);
    for (const bnn_kernel_table* impl : targets) {
      INFO(impl->name << " channels " << s.channels);
      CHECK(Run(impl, s, in) == expected);
    }
  }
}
#endif
