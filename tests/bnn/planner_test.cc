// The arena planner: no two simultaneously live buffers share bytes, every
// offset is aligned, and the plan is no larger than the buffers laid end to
// end, over random lifetimes (the property the interpreter relies on).
#include <catch2/catch.hpp>

#include <random>
#include <vector>

#include "planner.h"

using bnn::PlanBuffer;

TEST_CASE("greedy plans never overlap live buffers", "[planner]") {
  std::mt19937 rng(17);
  for (int trial = 0; trial < 500; ++trial) {
    const int n = 1 + static_cast<int>(rng() % 40);
    std::vector<PlanBuffer> b(static_cast<size_t>(n));
    size_t total = 0;
    for (PlanBuffer& x : b) {
      x.size = rng() % 4 == 0 ? 0 : 1 + rng() % 5000;
      x.first = static_cast<int>(rng() % 20) - 1;
      x.last = x.first + static_cast<int>(rng() % 8);
      total += (x.size + 63) / 64 * 64;
    }
    std::vector<int> order(b.size());
    const size_t peak = bnn::PlanArena(b.data(), n, order.data());
    REQUIRE_FALSE(bnn::AnyLiveOverlap(b.data(), n));
    CHECK(peak <= total);
    for (const PlanBuffer& x : b) {
      CHECK(x.offset % bnn::kArenaAlign == 0);
      CHECK(x.offset + x.size <= peak);
    }
    // The peak is at least the largest set of buffers alive at one moment.
    for (int t = -1; t < 30; ++t) {
      size_t live = 0;
      for (const PlanBuffer& x : b)
        if (x.first <= t && t <= x.last) live += x.size;
      CHECK(live <= peak);
    }
  }
}

TEST_CASE("buffers with disjoint lifetimes share memory", "[planner]") {
  std::vector<PlanBuffer> b = {{1000, 0, 1, 0}, {1000, 2, 3, 0}, {1000, 4, 5, 0}};
  std::vector<int> order(3);
  CHECK(bnn::PlanArena(b.data(), 3, order.data()) == 1024);
  b = {{1000, 0, 2, 0}, {1000, 1, 3, 0}, {1000, 2, 4, 0}};
  CHECK(bnn::PlanArena(b.data(), 3, order.data()) == 3 * 1024);
}

TEST_CASE("the overlap check detects an overlap", "[planner]") {
  std::vector<PlanBuffer> b = {{100, 0, 2, 0}, {100, 1, 3, 64}};
  CHECK(bnn::AnyLiveOverlap(b.data(), 2));
  b[1].offset = 128;
  CHECK_FALSE(bnn::AnyLiveOverlap(b.data(), 2));
}
