// Float fully-connected: the reference against double precision, and every
// optimised target against the reference, bit for bit.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "helpers.h"

using namespace bnn_test;

namespace {

std::vector<bnn_gemm_shape> Shapes() {
  std::vector<bnn_gemm_shape> shapes;
  // Rows around the 6-row tile, outputs around the 16-channel block and the
  // vector widths, K from 1 to past a cache line.
  for (uint32_t m : {1u, 2u, 5u, 6u, 7u, 13u})
    for (uint32_t n : {1u, 4u, 15u, 16u, 17u, 63u, 64u, 65u, 100u})
      for (uint32_t k : {1u, 3u, 17u, 64u, 513u}) shapes.push_back({m, n, k});
  shapes.push_back({1, 1000, 512});  // ResNet-18's classifier
  return shapes;
}

std::vector<float> Run(const bnn_kernel_table* k, const bnn_gemm_shape& s, const std::vector<float>& a_v,
                       const std::vector<float>& w_v, const float* bias_v, float lo, float hi) {
  GuardedBuffer a(a_v.size() * sizeof(float));
  memcpy(a.as<void>(), a_v.data(), a.size());
  GuardedBuffer canonical(w_v.size() * sizeof(float), BNN_WEIGHT_ALIGN);
  memcpy(canonical.as<void>(), w_v.data(), canonical.size());
  GuardedBuffer bias(s.n * sizeof(float));
  if (bias_v) memcpy(bias.as<void>(), bias_v, bias.size());
  const size_t wbytes = k->ffc_weights_size(&s);
  GuardedBuffer packed(wbytes ? wbytes : 1, BNN_WEIGHT_ALIGN);
  if (wbytes) k->ffc_pack_weights(&s, canonical.as<float>(), packed.as<void>());
  GuardedBuffer out(size_t(s.m) * s.n * sizeof(float));
  memset(out.as<void>(), 0xA5, out.size());
  k->ffc(&s, a.as<float>(), wbytes ? packed.as<void>() : canonical.as<void>(),
         bias_v ? bias.as<float>() : nullptr, lo, hi, out.as<float>());
  return std::vector<float>(out.as<float>(), out.as<float>() + size_t(s.m) * s.n);
}

struct Clamp {
  float lo, hi;
};
const Clamp kClamps[] = {{-HUGE_VALF, HUGE_VALF}, {0.0f, HUGE_VALF}, {-1.0f, 1.0f}};

}  // namespace

TEST_CASE("reference ffc equals a double-precision product", "[ffc][reference]") {
  std::mt19937 rng(8);
  for (const bnn_gemm_shape& s : Shapes()) {
    const std::vector<float> a = RandomFloats(rng, size_t(s.m) * s.k, -3.0f, 3.0f);
    const std::vector<float> w = RandomFloats(rng, size_t(s.n) * s.k);
    const std::vector<float> bias = RandomFloats(rng, s.n);
    for (bool with_bias : {false, true})
      for (const Clamp& c : kClamps) {
        INFO("m " << s.m << " n " << s.n << " k " << s.k << " bias " << with_bias << " clamp " << c.lo << ".." << c.hi);
        const std::vector<float> got = Run(bnn_kernels_reference(), s, a, w, with_bias ? bias.data() : nullptr, c.lo, c.hi);
        size_t bad = 0;
        for (uint32_t m = 0; m < s.m; ++m)
          for (uint32_t n = 0; n < s.n; ++n) {
            double sum = with_bias ? bias[n] : 0.0, mag = with_bias ? std::fabs(bias[n]) : 0.0;
            for (uint32_t k = 0; k < s.k; ++k) {
              const double p = double(a[size_t(m) * s.k + k]) * w[size_t(n) * s.k + k];
              sum += p;
              mag += std::fabs(p);
            }
            const double want = std::min(std::max(sum, double(c.lo)), double(c.hi));
            bad += !(std::fabs(got[size_t(m) * s.n + n] - want) <= 1e-5 * mag + 1e-30);
          }
        CHECK(bad == 0);
      }
  }
}

TEST_CASE("optimised ffc equals the reference bit for bit on every target", "[ffc][targets]") {
  const auto targets = OptimisedTables();
  REQUIRE_FALSE(targets.empty());
  std::mt19937 rng(9);
  for (const bnn_gemm_shape& s : Shapes()) {
    const std::vector<float> a = RandomFloats(rng, size_t(s.m) * s.k, -3.0f, 3.0f);
    const std::vector<float> w = RandomFloats(rng, size_t(s.n) * s.k);
    const std::vector<float> bias = RandomFloats(rng, s.n);
    for (bool with_bias : {false, true})
      for (const Clamp& c : kClamps) {
        const std::vector<float> expected = Run(bnn_kernels_reference(), s, a, w, with_bias ? bias.data() : nullptr, c.lo, c.hi);
        for (const bnn_kernel_table* impl : targets) {
          INFO(impl->name << " m " << s.m << " n " << s.n << " k " << s.k << " bias " << with_bias);
          const std::vector<float> got = Run(impl, s, a, w, with_bias ? bias.data() : nullptr, c.lo, c.hi);
          CHECK(memcmp(got.data(), expected.data(), got.size() * sizeof(float)) == 0);
        }
      }
  }
}
