// Float element-wise add: the definition, and every optimised target against
// the reference, bit for bit.
#include <catch2/catch.hpp>

#include <cmath>

#include "helpers.h"

using namespace bnn_test;

namespace {

std::vector<float> Run(const bnn_kernel_table* k, const std::vector<float>& a_v,
                       const std::vector<float>& b_v, float lo, float hi, bool in_place) {
  const size_t n = a_v.size();
  GuardedBuffer a(n * sizeof(float)), b(n * sizeof(float)), out(n * sizeof(float));
  if (n) {
    memcpy(a.as<void>(), a_v.data(), a.size());
    memcpy(b.as<void>(), b_v.data(), b.size());
    memset(out.as<void>(), 0xA5, out.size());
  }
  float* dst = in_place ? a.as<float>() : out.as<float>();
  k->add_f32(a.as<float>(), b.as<float>(), n, lo, hi, dst);
  return std::vector<float>(dst, dst + n);
}

const size_t kSizes[] = {0, 1, 3, 4, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 1023, 56 * 56 * 64};

}  // namespace

TEST_CASE("reference add_f32 adds and clamps", "[felementwise][reference]") {
  std::mt19937 rng(21);
  for (size_t n : kSizes) {
    const std::vector<float> a = RandomFloats(rng, n, -8.0f, 8.0f), b = RandomFloats(rng, n, -8.0f, 8.0f);
    for (bool in_place : {false, true}) {
      const std::vector<float> got = Run(bnn_kernels_reference(), a, b, 0.0f, 6.0f, in_place);
      for (size_t i = 0; i < n; ++i) {
        const float y = a[i] + b[i];
        REQUIRE(got[i] == (y < 0.0f ? 0.0f : y > 6.0f ? 6.0f : y));
      }
    }
  }
  // NaN passes through the clamp; ReLU keeps -0.0f.
  const std::vector<float> got = Run(bnn_kernels_reference(), {NAN, -0.0f, -1.0f}, {1.0f, -0.0f, 0.5f}, 0.0f, HUGE_VALF, false);
  CHECK(std::isnan(got[0]));
  CHECK((got[1] == 0.0f && std::signbit(got[1])));
  CHECK((got[2] == 0.0f && !std::signbit(got[2])));
}

TEST_CASE("optimised add_f32 equals the reference bit for bit on every target", "[felementwise][targets]") {
  const auto targets = OptimisedTables();
  REQUIRE_FALSE(targets.empty());
  std::mt19937 rng(22);
  const float specials[] = {0.0f, -0.0f, 1e-40f, -1e-40f, 1e-38f, -1.2e-38f, HUGE_VALF, -HUGE_VALF, NAN};
  std::uniform_int_distribution<size_t> pick(0, 8);
  std::uniform_int_distribution<int> coin(0, 3);
  const float clamps[][2] = {{-HUGE_VALF, HUGE_VALF}, {0.0f, HUGE_VALF}, {0.0f, 6.0f}, {-1e-39f, 1e-39f}};
  for (size_t n : kSizes)
    for (int variant = 0; variant < 2; ++variant) {
      std::vector<float> a = RandomFloats(rng, n, -8.0f, 8.0f), b = RandomFloats(rng, n, -8.0f, 8.0f);
      if (variant == 1)
        for (size_t i = 0; i < n; ++i) {
          if (coin(rng) == 0) a[i] = specials[pick(rng)];
          if (coin(rng) == 0) b[i] = specials[pick(rng)];
        }
      for (const auto& c : clamps)
        for (bool in_place : {false, true}) {
          const std::vector<float> expected = Run(bnn_kernels_reference(), a, b, c[0], c[1], in_place);
          for (const bnn_kernel_table* impl : targets) {
            INFO(impl->name << " n " << n << " variant " << variant << " clamp " << c[0] << ".." << c[1]);
            const std::vector<float> got = Run(impl, a, b, c[0], c[1], in_place);
            CHECK(FirstFloatDifference(got.data(), expected.data(), n) == n);
          }
        }
    }
}
