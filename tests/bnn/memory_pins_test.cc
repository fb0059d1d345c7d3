// Memory pins on the reference network, a Bi-Real-Net-18-shaped model at
// 224x224 (bench/models/bireal18.cc, path in BNN_BIREAL18_MODEL): the peak
// arena and the file's weight bytes are pinned so they cannot silently grow.
// When a change moves them, find out why before updating the numbers.
#include <catch2/catch.hpp>

#include <stdlib.h>

#include <string>

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

}  // namespace

TEST_CASE("Bi-Real-Net-18 at 224x224: arena and weights are pinned", "[memory]") {
  const char* path = getenv("BNN_BIREAL18_MODEL");
  REQUIRE(path != nullptr);
  bnn_model* m = nullptr;
  INFO(bnn_last_load_error());
  REQUIRE(bnn_model_load_file(path, &m) == BNN_OK);
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
  CHECK(Arena(m, 0, 0) == 2233152);  // 5 bands of 13 stem rows
  bnn_model_free(m);
}
