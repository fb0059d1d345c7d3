// Bit-packing: a one-hot test that pins every bit of the contract, and every
// target against the reference.
#include <catch2/catch.hpp>

#include <limits>

#include "helpers.h"

using namespace bnn_test;

TEST_CASE("one-hot: channel c lands at bit c % 32 of word c / 32, 1 meaning negative", "[bitpack]") {
  for (const bnn_kernel_table* impl : AllTables()) {
    for (size_t channels : {1u, 5u, 31u, 32u, 33u, 64u, 95u, 100u}) {
      INFO(impl->name << " channels " << channels);
      const size_t words = bnn_words(channels);
      for (size_t hot = 0; hot < channels; ++hot) {
        // Two rows: a negative one-hot in +1s, then a positive one-hot in -1s.
        std::vector<float> f(2 * channels, 1.0f);
        std::vector<int8_t> q(2 * channels, 5);
        for (size_t c = 0; c < channels; ++c) f[channels + c] = -1.0f, q[channels + c] = -5;
        f[hot] = -1.0f, q[hot] = -5;
        f[channels + hot] = 1.0f, q[channels + hot] = 5;
        std::vector<bnn_word> pf(2 * words, 0xDEADBEEF), pq(2 * words, 0xDEADBEEF);
        impl->bitpack_f32(f.data(), 2, channels, nullptr, pf.data());
        impl->bitpack_s8(q.data(), 2, channels, 0, pq.data());
        for (size_t w = 0; w < words; ++w) {
          const bnn_word one_hot = w == hot / 32 ? bnn_word{1} << (hot % 32) : 0;
          const size_t bits_here = channels - w * 32 < 32 ? channels - w * 32 : 32;
          const bnn_word valid = bits_here == 32 ? ~bnn_word{0} : (bnn_word{1} << bits_here) - 1;
          CHECK(pf[w] == one_hot);
          CHECK(pq[w] == one_hot);
          // All negative but one; padding bits stay 0.
          CHECK(pf[words + w] == (valid & ~one_hot));
          CHECK(pq[words + w] == (valid & ~one_hot));
        }
      }
    }
  }
}

TEST_CASE("zero, -0.0 and NaN map to +1; thresholds and zero points compare strictly", "[bitpack]") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (const bnn_kernel_table* impl : AllTables()) {
    INFO(impl->name);
    std::vector<float> f(32, 1.0f);
    f[0] = 0.0f, f[1] = -0.0f, f[2] = nan, f[3] = -1e-30f, f[4] = -std::numeric_limits<float>::infinity();
    bnn_word w = 0;
    impl->bitpack_f32(f.data(), 1, 32, nullptr, &w);
    CHECK(w == ((1u << 3) | (1u << 4)));
    // Per-channel thresholds: bit = x < threshold.
    std::vector<float> thr(32, 0.5f);
    std::vector<float> g(32, 0.5f);
    g[7] = 0.49f;
    impl->bitpack_f32(g.data(), 1, 32, thr.data(), &w);
    CHECK(w == (1u << 7));
    std::vector<int8_t> q(32, 3);
    q[9] = 2, q[10] = -128;
    impl->bitpack_s8(q.data(), 1, 32, 3, &w);
    CHECK(w == ((1u << 9) | (1u << 10)));
  }
}

#ifndef BNN_NO_SIMD
TEST_CASE("optimised bit-packing equals the reference on every target", "[bitpack][targets]") {
  const auto targets = OptimisedTables();
  REQUIRE_FALSE(targets.empty());
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_int_distribution<int> byte(-128, 127);
  for (size_t channels : {1u, 7u, 16u, 31u, 32u, 33u, 63u, 64u, 65u, 100u, 128u, 200u, 257u}) {
    for (size_t rows : {1u, 2u, 5u}) {
      std::vector<float> f(rows * channels), thr(channels);
      std::vector<int8_t> q(rows * channels);
      for (float& x : f) x = normal(rng);
      for (float& x : thr) x = 0.5f * normal(rng);
      for (int8_t& x : q) x = static_cast<int8_t>(byte(rng));
      const size_t n = rows * bnn_words(channels);
      std::vector<bnn_word> want_f(n), want_t(n), want_q(n);
      bnn_bitpack_f32_ref(f.data(), rows, channels, nullptr, want_f.data());
      bnn_bitpack_f32_ref(f.data(), rows, channels, thr.data(), want_t.data());
      bnn_bitpack_s8_ref(q.data(), rows, channels, -3, want_q.data());
      for (const bnn_kernel_table* impl : targets) {
        INFO(impl->name << " rows " << rows << " channels " << channels);
        GuardedBuffer in_f(f.size() * sizeof(float)), in_t(thr.size() * sizeof(float)), in_q(q.size());
        memcpy(in_f.as<void>(), f.data(), in_f.size());
        memcpy(in_t.as<void>(), thr.data(), in_t.size());
        memcpy(in_q.as<void>(), q.data(), in_q.size());
        std::vector<bnn_word> got(n, 0xFFFFFFFF);
        impl->bitpack_f32(in_f.as<float>(), rows, channels, nullptr, got.data());
        CHECK(got == want_f);
        std::fill(got.begin(), got.end(), 0xFFFFFFFF);
        impl->bitpack_f32(in_f.as<float>(), rows, channels, in_t.as<float>(), got.data());
        CHECK(got == want_t);
        std::fill(got.begin(), got.end(), 0xFFFFFFFF);
        impl->bitpack_s8(in_q.as<int8_t>(), rows, channels, -3, got.data());
        CHECK(got == want_q);
      }
    }
  }
}
#endif
