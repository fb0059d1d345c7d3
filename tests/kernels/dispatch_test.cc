// Kernel selection: every target this CPU runs is listed, the best one is
// chosen, and the reference can be forced.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "helpers.h"

using namespace bnn_test;

TEST_CASE("bnn_kernels_all lists the reference first and each target once", "[dispatch]") {
  const auto all = AllTables();
  REQUIRE(!all.empty());
  CHECK(std::string(all[0]->name) == "reference");
  for (size_t i = 0; i < all.size(); ++i) {
    printf("kernel table %zu: %s\n", i, all[i]->name);
    for (size_t j = i + 1; j < all.size(); ++j) CHECK(std::string(all[i]->name) != all[j]->name);
    // Every entry is filled.
    CHECK(all[i]->bitpack_f32);
    CHECK(all[i]->bitpack_s8);
    CHECK(all[i]->bconv2d_weights_size);
    CHECK(all[i]->bconv2d_pack_weights);
    CHECK(all[i]->bconv2d_scratch_size);
    CHECK(all[i]->bconv2d);
    CHECK(all[i]->bgemm_weights_size);
    CHECK(all[i]->bgemm_pack_weights);
    CHECK(all[i]->bgemm);
    CHECK(all[i]->bmaxpool);
    CHECK(all[i]->fconv2d_weights_size);
    CHECK(all[i]->fconv2d_pack_weights);
    CHECK(all[i]->fconv2d_scratch_size);
    CHECK(all[i]->fconv2d);
    CHECK(all[i]->ffc_weights_size);
    CHECK(all[i]->ffc_pack_weights);
    CHECK(all[i]->ffc);
    CHECK(all[i]->maxpool_f32);
    CHECK(all[i]->avgpool_f32);
    CHECK(all[i]->add_f32);
  }
#if defined(__x86_64__) && !defined(BNN_NO_SIMD)
  // The build must have compiled the CPU's best target: AVX3_DL (AVX-512 with
  // VPOPCNTDQ) needs -DHWY_WANT_AVX3_DL, easy to lose.
  std::string flags;
  if (FILE* f = fopen("/proc/cpuinfo", "r")) {
    char line[8192];
    while (fgets(line, sizeof line, f))
      if (strncmp(line, "flags", 5) == 0) { flags = line; break; }
    fclose(f);
  }
  auto has = [&](const char* flag) { return flags.find(std::string(" ") + flag) != std::string::npos; };
  auto listed = [&](const char* name) {
    for (const bnn_kernel_table* t : all)
      if (std::string(t->name) == name) return true;
    return false;
  };
  if (has("avx2")) CHECK(listed("AVX2"));
  if (has("avx512f") && has("avx512bw") && has("avx512dq") && has("avx512vl")) CHECK(listed("AVX3"));
  if (has("avx512_vpopcntdq") && has("avx512_bitalg") && has("avx512_vnni")) CHECK(listed("AVX3_DL"));
#endif
}

TEST_CASE("every target named in BNN_EXPECT_TARGETS is compiled and runs here", "[dispatch]") {
  // Cross runs name what the emulated CPU must run (scripts/dev.sh), so a
  // target silently dropped from the build fails here.
  const char* env = std::getenv("BNN_EXPECT_TARGETS");
  if (!env) return;
  std::string names;
  for (const bnn_kernel_table* t : AllTables()) names += std::string(",") + t->name + ",";
  std::string list = env;
  for (size_t start = 0; start < list.size();) {
    const size_t end = list.find(',', start) == std::string::npos ? list.size() : list.find(',', start);
    const std::string want = list.substr(start, end - start);
    INFO("expected " << want << " among" << names);
    CHECK(names.find("," + want + ",") != std::string::npos);
    start = end + 1;
  }
}

TEST_CASE("the best table is the last listed, unless the reference is forced", "[dispatch]") {
  const auto all = AllTables();
  bnn_kernels_force_reference(0);
  CHECK(bnn_kernels_best() == all.back());
  bnn_kernels_force_reference(1);
  CHECK(bnn_kernels_best() == bnn_kernels_reference());
  bnn_kernels_force_reference(0);
}

TEST_CASE("float conv/FC are vectorised exactly on the targets with a fused multiply-add", "[dispatch]") {
  // The float contract needs fma; targets without one (or with flush-to-zero
  // vectors: armv7 NEON) run the reference, which reads canonical weights in
  // place (weights_size 0). A target that silently lost its SIMD path, or
  // gained one it cannot run exactly, fails here.
  bnn_conv_shape s{};
  s.batch = 1;
  s.in_h = s.in_w = 8;
  s.in_c = 3;
  s.out_c = 16;
  s.kernel_h = s.kernel_w = 3;
  s.stride_h = s.stride_w = s.dilation_h = s.dilation_w = s.groups = 1;
  const bnn_gemm_shape g{1, 16, 16};
  for (const bnn_kernel_table* t : AllTables()) {
    const std::string name = t->name;
    bool fma = name == "AVX2" || name == "AVX3" || name == "AVX3_DL" || name == "AVX3_ZEN4" ||
               name.rfind("SVE", 0) == 0;
#if defined(__aarch64__)
    fma = fma || name == "NEON";
#endif
    INFO(name);
    CHECK((t->fconv2d_weights_size(&s) != 0) == fma);
    CHECK((t->ffc_weights_size(&g) != 0) == fma);
  }
}
