// Float element-wise add, PReLU and 8-bit quantisation: the definitions, and every
// optimised target against the reference, bit for bit.
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

namespace {

std::vector<uint8_t> Quantize(const bnn_kernel_table* k, const std::vector<float>& x, float scale, int32_t zp,
                              int u8) {
  GuardedBuffer in(x.size() * sizeof(float));
  if (!x.empty()) memcpy(in.as<float>(), x.data(), x.size() * sizeof(float));
  GuardedBuffer out(x.size() ? x.size() : 1);
  k->quantize_f32(in.as<const float>(), x.size(), scale, zp, u8, out.as<void>());
  return std::vector<uint8_t>(out.as<uint8_t>(), out.as<uint8_t>() + x.size());
}

}  // namespace

TEST_CASE("reference quantize_f32 rounds half to even and clamps, NaN to the low end", "[felementwise][reference]") {
  const std::vector<float> x = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 0.49f, 1000.0f, -1000.0f, NAN, INFINITY, -INFINITY, -0.0f};
  const std::vector<uint8_t> s8 = Quantize(bnn_kernels_reference(), x, 1.0f, 0, 0);
  const int8_t want_s8[] = {0, 2, 2, 0, -2, 0, 127, -128, -128, 127, -128, 0};
  CHECK(memcmp(s8.data(), want_s8, sizeof want_s8) == 0);
  const std::vector<uint8_t> u8 = Quantize(bnn_kernels_reference(), x, 1.0f, 10, 1);
  const uint8_t want_u8[] = {10, 12, 12, 10, 8, 10, 255, 0, 0, 255, 0, 10};
  CHECK(memcmp(u8.data(), want_u8, sizeof want_u8) == 0);
}

TEST_CASE("optimised quantize_f32 equals the reference bit for bit on every target", "[felementwise][targets]") {
  std::mt19937 rng(5);
  std::vector<float> x = RandomFloats(rng, 997, -6.0f, 6.0f);
  // Ties, specials and values past both ends, at scale 1/32: k + 0.5 steps.
  for (int i = 0; i < 64; ++i) x[static_cast<size_t>(i)] = (static_cast<float>(i - 32) + 0.5f) / 32.0f;
  x[70] = NAN;
  x[71] = INFINITY;
  x[72] = -INFINITY;
  x[73] = -0.0f;
  x[74] = 1e30f;
  x[75] = -1e30f;
  for (const size_t n : {size_t{0}, size_t{1}, size_t{15}, size_t{16}, size_t{17}, size_t{64}, x.size()})
    for (const float scale : {1.0f / 32.0f, 0.0472f, 3.0f})
      for (const int32_t zp : {-128, -3, 0, 17, 127})
        for (const int u8 : {0, 1}) {
          if (u8 && zp < 0) continue;
          const std::vector<float> part(x.begin(), x.begin() + static_cast<long>(n));
          const std::vector<uint8_t> want = Quantize(bnn_kernels_reference(), part, scale, zp, u8);
          for (const bnn_kernel_table* k : OptimisedTables()) {
            CAPTURE(k->name, n, scale, zp, u8);
            CHECK(Quantize(k, part, scale, zp, u8) == want);
          }
        }
}

namespace {

std::vector<float> PRelu(const bnn_kernel_table* k, const std::vector<float>& x, const std::vector<float>& slope,
                         bool in_place) {
  const size_t n = x.size();
  GuardedBuffer in(n * sizeof(float)), out(n * sizeof(float)), s(slope.size() * sizeof(float));
  if (n) memcpy(in.as<void>(), x.data(), in.size());
  memcpy(s.as<void>(), slope.data(), s.size());
  if (n) memset(out.as<void>(), 0xA5, out.size());
  float* dst = in_place ? in.as<float>() : out.as<float>();
  k->prelu_f32(in.as<const float>(), n, s.as<const float>(), slope.size(), dst);
  return std::vector<float>(dst, dst + n);
}

}  // namespace

TEST_CASE("reference prelu_f32 scales the negative values by their channel's slope", "[felementwise][reference]") {
  // Two pixels of three channels; NaN and -0.0f pass through, infinities scale.
  const std::vector<float> x = {-2.0f, 3.0f, -0.0f, NAN, -INFINITY, -4.0f};
  const std::vector<float> got = PRelu(bnn_kernels_reference(), x, {0.25f, -1.0f, 0.5f}, false);
  CHECK(got[0] == -0.5f);
  CHECK(got[1] == 3.0f);
  CHECK((got[2] == 0.0f && std::signbit(got[2])));
  CHECK(std::isnan(got[3]));
  CHECK(got[4] == INFINITY);  // -inf * -1
  CHECK(got[5] == -2.0f);
  // One shared slope (leaky ReLU), in place.
  const std::vector<float> leaky = PRelu(bnn_kernels_reference(), {-1.0f, 1.0f, -8.0f}, {0.125f}, true);
  CHECK(leaky == std::vector<float>({-0.125f, 1.0f, -1.0f}));
}

TEST_CASE("optimised prelu_f32 equals the reference bit for bit on every target", "[felementwise][targets]") {
  const auto targets = OptimisedTables();
  REQUIRE_FALSE(targets.empty());
  std::mt19937 rng(23);
  const float specials[] = {0.0f, -0.0f, 1e-40f, -1e-40f, -1.2e-38f, HUGE_VALF, -HUGE_VALF, NAN};
  std::uniform_int_distribution<size_t> pick(0, 7);
  std::uniform_int_distribution<int> coin(0, 3);
  for (size_t channels : {1u, 3u, 4u, 7u, 8u, 15u, 16u, 17u, 32u, 33u, 64u, 100u, 256u})
    for (size_t pixels : {0u, 1u, 2u, 5u, 13u, 64u}) {
      const size_t n = channels * pixels;
      std::vector<float> x = RandomFloats(rng, n, -8.0f, 8.0f);
      for (float& v : x)
        if (coin(rng) == 0) v = specials[pick(rng)];
      std::vector<float> slope = RandomFloats(rng, channels, -1.0f, 1.0f);
      slope[0] = 1e-30f;  // products that underflow to subnormals
      for (bool in_place : {false, true}) {
        const std::vector<float> expected = PRelu(bnn_kernels_reference(), x, slope, in_place);
        for (const bnn_kernel_table* impl : targets) {
          INFO(impl->name << " channels " << channels << " pixels " << pixels << " in place " << in_place);
          const std::vector<float> got = PRelu(impl, x, slope, in_place);
          CHECK(FirstFloatDifference(got.data(), expected.data(), n) == n);
        }
      }
    }
}
