// Float max-pool and average pool: the reference against plain definitions,
// every optimised target against the reference, bit for bit.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "helpers.h"

using namespace bnn_test;

namespace {

std::vector<bnn_pool_shape> Shapes() {
  std::vector<bnn_pool_shape> shapes;
  for (uint32_t channels : {1u, 3u, 4u, 7u, 8u, 15u, 16u, 17u, 33u, 64u, 100u})
    for (uint32_t k : {2u, 3u})
      for (uint32_t stride : {1u, 2u})
        for (uint32_t pad : {0u, 1u}) {
          bnn_pool_shape s{2, 7, 5, channels, k, k, stride, stride, pad, pad, pad, pad};
          if (bnn_pool_shape_valid(&s)) shapes.push_back(s);
        }
  shapes.push_back({1, 1, 1, 40, 1, 1, 1, 1, 0, 0, 0, 0});
  shapes.push_back({1, 6, 9, 65, 3, 2, 2, 3, 2, 1, 0, 1});   // asymmetric
  shapes.push_back({1, 112, 112, 64, 3, 3, 2, 2, 1, 1, 1, 1}); // ResNet's stem max-pool
  shapes.push_back(bnn_global_pool_shape(2, 7, 7, 512));      // global average pool
  shapes.push_back(bnn_global_pool_shape(1, 3, 5, 19));
  return shapes;
}

std::string Describe(const bnn_pool_shape& s) {
  char buf[200];
  snprintf(buf, sizeof buf, "N%u %ux%ux%u pool %ux%u stride %ux%u pad t%u l%u b%u r%u", s.batch,
           s.in_h, s.in_w, s.channels, s.pool_h, s.pool_w, s.stride_h, s.stride_w, s.pad_top,
           s.pad_left, s.pad_bottom, s.pad_right);
  return buf;
}

size_t OutSize(const bnn_pool_shape& s) {
  return size_t(s.batch) * bnn_pool_out_h(&s) * bnn_pool_out_w(&s) * s.channels;
}

// mode: -1 max-pool, 0/1 average pool with count_include_pad.
std::vector<float> Run(const bnn_kernel_table* k, const bnn_pool_shape& s, const std::vector<float>& in, int mode) {
  GuardedBuffer buf(in.size() * sizeof(float));
  memcpy(buf.as<void>(), in.data(), buf.size());
  GuardedBuffer out(OutSize(s) * sizeof(float));
  memset(out.as<void>(), 0xA5, out.size());
  if (mode < 0) k->maxpool_f32(&s, buf.as<float>(), out.as<float>());
  else k->avgpool_f32(&s, buf.as<float>(), mode, out.as<float>());
  return std::vector<float>(out.as<float>(), out.as<float>() + OutSize(s));
}

// Visits the valid positions of every output element's window.
template <class F>
void ForEachWindow(const bnn_pool_shape& s, const std::vector<float>& x, F f) {
  const uint32_t oh = bnn_pool_out_h(&s), ow = bnn_pool_out_w(&s);
  for (uint32_t b = 0; b < s.batch; ++b)
    for (uint32_t oy = 0; oy < oh; ++oy)
      for (uint32_t ox = 0; ox < ow; ++ox)
        for (uint32_t c = 0; c < s.channels; ++c) {
          std::vector<float> window;
          for (uint32_t ky = 0; ky < s.pool_h; ++ky)
            for (uint32_t kx = 0; kx < s.pool_w; ++kx) {
              const long iy = long(oy * s.stride_h + ky) - long(s.pad_top);
              const long ix = long(ox * s.stride_w + kx) - long(s.pad_left);
              if (iy < 0 || iy >= long(s.in_h) || ix < 0 || ix >= long(s.in_w)) continue;
              window.push_back(x[((size_t(b) * s.in_h + iy) * s.in_w + ix) * s.channels + c]);
            }
          f(window);
        }
}

}  // namespace

TEST_CASE("reference float pools equal their definitions", "[fpool][reference]") {
  std::mt19937 rng(11);
  for (const bnn_pool_shape& s : Shapes()) {
    INFO(Describe(s));
    const std::vector<float> x = RandomFloats(rng, size_t(s.batch) * s.in_h * s.in_w * s.channels, -5.0f, 5.0f);
    std::vector<float> max_expected;
    std::vector<double> avg_expected[2], magnitude;
    ForEachWindow(s, x, [&](const std::vector<float>& w) {
      max_expected.push_back(*std::max_element(w.begin(), w.end()));
      double sum = 0, mag = 0;
      for (float v : w) {
        sum += v;
        mag += std::fabs(v);
      }
      avg_expected[0].push_back(sum / double(w.size()));
      avg_expected[1].push_back(sum / double(s.pool_h * s.pool_w));
      magnitude.push_back(mag / double(w.size()));
    });
    CHECK(Run(bnn_kernels_reference(), s, x, -1) == max_expected);
    for (int include_pad : {0, 1}) {
      const std::vector<float> got = Run(bnn_kernels_reference(), s, x, include_pad);
      size_t bad = 0;
      for (size_t i = 0; i < got.size(); ++i)
        bad += !(std::fabs(got[i] - avg_expected[include_pad][i]) <= 1e-6 * magnitude[i] + 1e-30);
      CHECK(bad == 0);
    }
  }
}

TEST_CASE("count_include_pad divides by the whole window", "[fpool][reference]") {
  const bnn_pool_shape s{1, 2, 2, 1, 3, 3, 1, 1, 1, 1, 1, 1};  // 3x3 SAME on 2x2
  const std::vector<float> x = {1.0f, 2.0f, 3.0f, 6.0f};
  for (const bnn_kernel_table* k : AllTables()) {
    INFO(k->name);
    CHECK(Run(k, s, x, 0) == std::vector<float>(4, 3.0f));
    CHECK(Run(k, s, x, 1) == std::vector<float>(4, 12.0f / 9.0f));
    CHECK(Run(k, s, x, -1) == std::vector<float>(4, 6.0f));
  }
}

TEST_CASE("optimised float pools equal the reference bit for bit on every target", "[fpool][targets]") {
  const auto targets = OptimisedTables();
  REQUIRE_FALSE(targets.empty());
  std::mt19937 rng(12);
  const float specials[] = {0.0f, -0.0f, 1e-40f, -1e-40f, HUGE_VALF, -HUGE_VALF, NAN, -NAN};
  std::uniform_int_distribution<size_t> pick(0, 7);
  std::uniform_int_distribution<int> coin(0, 19);
  for (const bnn_pool_shape& s : Shapes())
    for (int variant = 0; variant < 4; ++variant) {
      // 0: random; 1: ties, signed zeros and subnormals (no NaN: sums of NaN
      // may carry either payload); 2: with NaNs and infinities (max-pool only);
      // 3: ties and a single NaN or infinity, so that windows with and without
      // one meet in one call (the optimised max-pool treats them apart).
      std::vector<float> x = RandomFloats(rng, size_t(s.batch) * s.in_h * s.in_w * s.channels, -5.0f, 5.0f);
      for (float& v : x) {
        if (variant == 1 || variant == 3) v = coin(rng) < 10 ? specials[pick(rng) % 4] : std::round(v);
        if (variant == 2 && coin(rng) == 0) v = specials[pick(rng)];
      }
      if (variant == 3)
        x[std::uniform_int_distribution<size_t>(0, x.size() - 1)(rng)] = specials[4 + pick(rng) % 4];
      for (int mode : {-1, 0, 1}) {
        if (variant >= 2 && mode >= 0) continue;
        const std::vector<float> expected = Run(bnn_kernels_reference(), s, x, mode);
        for (const bnn_kernel_table* impl : targets) {
          INFO(impl->name << " " << Describe(s) << " mode " << mode << " variant " << variant);
          const std::vector<float> got = Run(impl, s, x, mode);
          // Max-pool only selects, so even NaN payloads are kept: memcmp.
          CHECK(memcmp(got.data(), expected.data(), got.size() * sizeof(float)) == 0);
        }
      }
    }
}
