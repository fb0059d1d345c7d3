// Binary GEMM / fully-connected: the reference against float arithmetic, and
// every target against the reference for every output type.
#include <catch2/catch.hpp>

#include <algorithm>

#include "helpers.h"

using namespace bnn_test;

namespace {

std::vector<uint8_t> Run(const bnn_kernel_table* k, const bnn_gemm_shape& s,
                         const std::vector<bnn_word>& a, const std::vector<bnn_word>& w,
                         const bnn_output_transform& t) {
  GuardedBuffer in(a.size() * sizeof(bnn_word));
  memcpy(in.as<void>(), a.data(), in.size());
  GuardedBuffer canonical(w.size() * sizeof(bnn_word), BNN_WEIGHT_ALIGN);
  memcpy(canonical.as<void>(), w.data(), canonical.size());
  const size_t wbytes = k->bgemm_weights_size(&s);
  GuardedBuffer packed(wbytes ? wbytes : 1, BNN_WEIGHT_ALIGN);
  if (wbytes) k->bgemm_pack_weights(&s, canonical.as<bnn_word>(), packed.as<void>());
  const size_t out_bytes = s.m * bnn_output_row_bytes(t.type, s.n);
  GuardedBuffer out(out_bytes);
  memset(out.as<void>(), 0x5A, out_bytes);
  std::unique_ptr<GuardedBuffer> residual;
  const bnn_output_transform guarded = GuardResidual(t, s.m, s.n, &residual);
  k->bgemm(&s, in.as<bnn_word>(), wbytes ? packed.as<void>() : canonical.as<void>(), &guarded, out.as<void>());
  return std::vector<uint8_t>(out.as<uint8_t>(), out.as<uint8_t>() + out_bytes);
}

// Outputs of an S32 GEMM `got` that differ from the float dot products of
// the +1/-1 rows of a [m][k] and w [n][k].
size_t WrongDots(const bnn_gemm_shape& s, const std::vector<float>& a, const std::vector<float>& w,
                 const int32_t* got) {
  size_t wrong = 0;
  for (uint32_t i = 0; i < s.m; ++i)
    for (uint32_t j = 0; j < s.n; ++j) {
      float dot = 0;
      for (uint32_t x = 0; x < s.k; ++x) dot += a[size_t(i) * s.k + x] * w[size_t(j) * s.k + x];
      wrong += got[size_t(i) * s.n + j] != static_cast<int32_t>(dot);
    }
  return wrong;
}

std::vector<bnn_gemm_shape> Shapes() {
  std::vector<bnn_gemm_shape> shapes;
  for (uint32_t m : {1u, 3u, 4u, 5u, 9u})
    for (uint32_t n : {1u, 15u, 16u, 17u, 33u, 100u})
      for (uint32_t k : {1u, 31u, 32u, 33u, 64u, 255u, 512u, 1000u}) shapes.push_back({m, n, k});
  return shapes;
}

}  // namespace

TEST_CASE("reference bgemm equals float dot products of +1/-1 vectors", "[bgemm][reference]") {
  std::mt19937 rng(5);
  for (const bnn_gemm_shape& s : Shapes()) {
    INFO("m " << s.m << " n " << s.n << " k " << s.k);
    const std::vector<float> a = RandomSigns(rng, size_t(s.m) * s.k), w = RandomSigns(rng, size_t(s.n) * s.k);
    bnn_output_transform t{};
    t.type = BNN_OUTPUT_S32;
    const std::vector<uint8_t> bytes = Run(bnn_kernels_reference(), s, Pack(a, s.m, s.k), Pack(w, s.n, s.k), t);
    CHECK(WrongDots(s, a, w, reinterpret_cast<const int32_t*>(bytes.data())) == 0);
  }
}

TEST_CASE("every target counts long runs of all-mismatching words exactly", "[bgemm][targets]") {
  // As in bconv_test.cc: rows whose every word mismatches in all 32 bits,
  // longer than the byte-count flush interval (31 words) and not multiples
  // of it, against all-mismatching, all-matching and random weight rows.
  std::mt19937 rng(32);
  for (uint32_t k : {992u, 993u, 1024u, 1984u, 1989u, 4096u}) {
    const bnn_gemm_shape s{5, 19, k};
    INFO("k " << k);
    const std::vector<float> a(size_t(s.m) * k, 1.0f);
    std::vector<float> w = RandomSigns(rng, size_t(s.n) * k);
    for (uint32_t j = 0; j < s.n; ++j)
      if (j % 3 != 2) std::fill_n(w.begin() + size_t(j) * k, k, j % 3 == 0 ? -1.0f : 1.0f);
    bnn_output_transform t{};
    t.type = BNN_OUTPUT_S32;
    for (const bnn_kernel_table* impl : AllTables()) {
      INFO(impl->name);
      const std::vector<uint8_t> bytes = Run(impl, s, Pack(a, s.m, k), Pack(w, s.n, k), t);
      CHECK(WrongDots(s, a, w, reinterpret_cast<const int32_t*>(bytes.data())) == 0);
    }
  }
}

#ifndef BNN_NO_SIMD
TEST_CASE("optimised bgemm equals the reference bit for bit on every target", "[bgemm][targets]") {
  const auto targets = OptimisedTables();
  REQUIRE_FALSE(targets.empty());
  std::mt19937 rng(11);
  for (const bnn_gemm_shape& s : Shapes()) {
    const std::vector<bnn_word> a = Pack(RandomSigns(rng, size_t(s.m) * s.k), s.m, s.k);
    const std::vector<bnn_word> w = Pack(RandomSigns(rng, size_t(s.n) * s.k), s.n, s.k);
    const Transforms transforms(rng, s.n, static_cast<int32_t>(s.k), s.m);
    for (const bnn_output_transform* t : transforms.all()) {
      const std::vector<uint8_t> expected = Run(bnn_kernels_reference(), s, a, w, *t);
      for (const bnn_kernel_table* impl : targets) {
        INFO(impl->name << " " << TransformName(*t) << " m " << s.m << " n " << s.n << " k " << s.k);
        CHECK(Run(impl, s, a, w, *t) == expected);
      }
    }
  }
}
#endif
