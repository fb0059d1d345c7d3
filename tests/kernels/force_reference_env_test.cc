// BNN_FORCE_REFERENCE in the environment (set by tests/meson.build) selects
// the reference at the first call.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <string>

#include "bnn_kernels.h"

TEST_CASE("BNN_FORCE_REFERENCE=1 forces the reference kernels", "[dispatch]") {
  REQUIRE(std::getenv("BNN_FORCE_REFERENCE") != nullptr);
  REQUIRE(std::string(std::getenv("BNN_FORCE_REFERENCE")) == "1");
  CHECK(bnn_kernels_best() == bnn_kernels_reference());
}
