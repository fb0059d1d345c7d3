// Arena planning from tensor lifetimes, greedy by size (as TFLite Micro's
// GreedyMemoryPlanner): the largest buffer first, each at the lowest offset
// that overlaps no already-placed buffer alive at the same time.
#pragma once

#include <stddef.h>

namespace bnn {

struct PlanBuffer {
  size_t size;    // bytes (0: not placed)
  int first;      // first operator index using it (-1: before the first)
  int last;       // last operator index using it
  size_t offset;  // output: 64-byte aligned
};

constexpr size_t kArenaAlign = 64;

// Places every buffer; `order` is scratch for `count` ints. Returns the
// arena bytes needed (the highest end offset).
size_t PlanArena(PlanBuffer* buffers, int count, int* order);

// True when two buffers alive at the same time share bytes: the planner's
// proof, run by the interpreter in debug builds and by the tests.
bool AnyLiveOverlap(const PlanBuffer* buffers, int count);

}  // namespace bnn
