#include "planner.h"

namespace bnn {
namespace {

bool LiveTogether(const PlanBuffer& a, const PlanBuffer& b) { return a.first <= b.last && b.first <= a.last; }

size_t AlignUp(size_t n) { return (n + kArenaAlign - 1) / kArenaAlign * kArenaAlign; }

}  // namespace

size_t PlanArena(PlanBuffer* buffers, int count, int* order) {
  // Insertion sort by size, largest first; ties by first use for stable plans.
  for (int i = 0; i < count; ++i) {
    int j = i;
    while (j > 0) {
      const PlanBuffer& prev = buffers[order[j - 1]];
      const PlanBuffer& cur = buffers[i];
      if (prev.size > cur.size || (prev.size == cur.size && prev.first <= cur.first)) break;
      order[j] = order[j - 1];
      --j;
    }
    order[j] = i;
  }
  size_t peak = 0;
  for (int n = 0; n < count; ++n) {
    PlanBuffer& b = buffers[order[n]];
    if (b.size == 0) {
      b.offset = 0;
      continue;
    }
    const size_t need = AlignUp(b.size);
    // Candidate offsets: 0 and the end of every placed, simultaneously live
    // buffer; take the lowest that collides with none of them.
    size_t best = static_cast<size_t>(-1);
    for (int c = -1; c < n; ++c) {
      size_t candidate = 0;
      if (c >= 0) {
        const PlanBuffer& other = buffers[order[c]];
        if (other.size == 0 || !LiveTogether(b, other)) continue;
        candidate = other.offset + AlignUp(other.size);
      }
      if (candidate >= best) continue;
      bool fits = true;
      for (int o = 0; o < n && fits; ++o) {
        const PlanBuffer& other = buffers[order[o]];
        if (other.size == 0 || !LiveTogether(b, other)) continue;
        fits = candidate + need <= other.offset || other.offset + AlignUp(other.size) <= candidate;
      }
      if (fits) best = candidate;
    }
    b.offset = best;
    if (best + need > peak) peak = best + need;
  }
  return peak;
}

bool AnyLiveOverlap(const PlanBuffer* buffers, int count) {
  for (int i = 0; i < count; ++i)
    for (int j = i + 1; j < count; ++j) {
      const PlanBuffer& a = buffers[i];
      const PlanBuffer& b = buffers[j];
      if (a.size == 0 || b.size == 0 || !LiveTogether(a, b)) continue;
      if (a.offset < b.offset + b.size && b.offset < a.offset + a.size) return true;
    }
  return false;
}

}  // namespace bnn
