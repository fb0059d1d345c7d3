// Memory pins on the reference network, a Bi-Real-Net-18-shaped model at
// 224x224 (bench/models/bireal18.cc, path in BNN_BIREAL18_MODEL; with its
// stem in int8, BNN_BIREAL18_INT8_STEM_MODEL): the peak arena and the file's
// weight bytes are pinned so they cannot silently grow. When a change moves
// them, find out why before updating the numbers.
#include <catch2/catch.hpp>

#include <stdlib.h>
#include <string.h>

#include <random>
#include <string>
#include <vector>

#include "bnn/bnn.h"

namespace {

// patch_based: 0 the default (patch-based where it lowers the arena), -1 layer by layer.
size_t Arena(const bnn_model* m, int force_reference, int patch_based) {
  bnn_interpreter_options o = bnn_interpreter_default_options();
  o.force_reference = force_reference;
  o.patch_based = patch_based;
  bnn_interpreter* it = nullptr;
  REQUIRE(bnn_interpreter_create(m, &o, &it) == BNN_OK);
  const size_t bytes = bnn_interpreter_arena_bytes(it);
  bnn_interpreter_free(it);
  return bytes;
}

// The model file the environment variable `var` names (set by tests/meson.build).
bnn_model* ModelFromEnv(const char* var) {
  const char* path = getenv(var);
  INFO(var);
  REQUIRE(path != nullptr);
  bnn_model* m = nullptr;
  INFO(bnn_last_load_error());
  REQUIRE(bnn_model_load_file(path, &m) == BNN_OK);
  return m;
}

}  // namespace

TEST_CASE("Bi-Real-Net-18 at 224x224: arena and weights are pinned", "[memory]") {
  bnn_model* m = ModelFromEnv("BNN_BIREAL18_MODEL");
  // 16 binary 3x3 convolutions (packed bits), the float stem, three 1x1
  // float shortcuts, the 512x1000 classifier and per-channel constants.
  CHECK(bnn_model_weights_bytes(m) == 4185504);
  // Layer by layer, the largest live set: the stem's 112x112x64 float output
  // next to the max-pool's 56x56x64 output and the input (kept intact
  // through invoke).
  CHECK(Arena(m, 1, -1) == 4616192);
  CHECK(Arena(m, 0, -1) == 4616192);  // the optimised kernels' scratch fits in the gaps
  // By default the stem (convolution and max-pool) runs in bands of rows:
  // its output never exists whole.
  CHECK(Arena(m, 1, 0) == 2232832);
  CHECK(Arena(m, 0, 0) == 2233152);  // 5 bands of 13 pooled rows
  bnn_model_free(m);
}

TEST_CASE("Bi-Real-Net-18 with an int8 stem: its QUANTIZE, stem and max-pool run in bands", "[memory]") {
  bnn_model* m = ModelFromEnv("BNN_BIREAL18_INT8_STEM_MODEL");
  // Layer by layer: the stem's float output (112x112x64) is the peak again.
  CHECK(Arena(m, 0, -1) == 4616192);
  CHECK(Arena(m, 0, 0) == 2233152);  // 5 bands of 12 pooled rows
  // And the outputs are the same bits.
  bnn_tensor_info in, out;
  REQUIRE(bnn_model_input_info(m, 0, &in) == BNN_OK);
  REQUIRE(bnn_model_output_info(m, 0, &out) == BNN_OK);
  std::mt19937 rng(3);
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> x(in.bytes / sizeof(float));
  for (float& v : x) v = g(rng);
  std::vector<float> y[2];
  for (int k = 0; k < 2; ++k) {
    bnn_interpreter_options o = bnn_interpreter_default_options();
    o.patch_based = k == 0 ? -1 : 0;
    bnn_interpreter* it = nullptr;
    REQUIRE(bnn_interpreter_create(m, &o, &it) == BNN_OK);
    CHECK(bnn_interpreter_patch_info(it, nullptr) == k);
    memcpy(bnn_interpreter_input(it, 0), x.data(), in.bytes);
    REQUIRE(bnn_interpreter_invoke(it) == BNN_OK);
    y[k].resize(out.bytes / sizeof(float));
    memcpy(y[k].data(), bnn_interpreter_output(it, 0), out.bytes);
    bnn_interpreter_free(it);
  }
  CHECK(memcmp(y[0].data(), y[1].data(), out.bytes) == 0);
  bnn_model_free(m);
}
