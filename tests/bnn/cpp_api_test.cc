// The C++ wrapper: ownership moves, failures leave empty objects, results
// equal the C API's.
#include <catch2/catch.hpp>

#include <string.h>

#include <vector>

#include "bnn/bnn.hpp"
#include "models.h"

TEST_CASE("bnn::Model and bnn::Interpreter wrap the C API", "[cpp]") {
  const std::vector<uint8_t> file = bnn_test::TinyBinaryNet().Build().Finish();
  void* p = nullptr;
  REQUIRE(posix_memalign(&p, 64, file.size()) == 0);
  memcpy(p, file.data(), file.size());

  bnn::Model bad;
  CHECK(bnn::Model::Load("/nonexistent.bnn", &bad) == BNN_ERROR_IO);
  CHECK_FALSE(bad);

  bnn::Model model;
  REQUIRE(bnn::Model::Load(p, file.size(), &model) == BNN_OK);
  REQUIRE(model);
  CHECK(model.input_count() == 1);
  CHECK(model.input_info(0).dims[3] == 40);
  CHECK(model.label_count() == 20);

  bnn::Model moved = std::move(model);
  CHECK_FALSE(model);
  REQUIRE(moved);

  bnn::Interpreter it;
  REQUIRE(bnn::Interpreter::Create(moved, &it) == BNN_OK);
  float* in = it.input<float>(0);
  for (int i = 0; i < 9 * 9 * 40; ++i) in[i] = (i % 7) - 3.0f;
  REQUIRE(it.Invoke() == BNN_OK);
  std::vector<float> first(it.output<float>(1), it.output<float>(1) + 320);

  // A second interpreter on the same model gives the same result.
  bnn::Interpreter other;
  REQUIRE(bnn::Interpreter::Create(moved, &other) == BNN_OK);
  memcpy(other.input<float>(0), in, 9 * 9 * 40 * sizeof(float));
  REQUIRE(other.Invoke() == BNN_OK);
  CHECK(memcmp(other.output<float>(1), first.data(), 320 * sizeof(float)) == 0);
  CHECK(it.arena_bytes() > 0);
  // Destruction order: interpreters (declared later) go first.
  other = bnn::Interpreter();
  it = bnn::Interpreter();
  moved = bnn::Model();
  free(p);
}
