// bnn-selfcheck: the main job until the runtime and apps exist. Lists the
// kernel implementations this CPU runs, checks each against the C reference
// on random convolutions (bit for bit), and times a ResNet-18 stage-1 binary
// 3x3 convolution on each (median of several runs).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "bnn_kernels.h"

namespace {

struct AlignedBuffer {
  explicit AlignedBuffer(size_t bytes)
      : p(bytes ? std::aligned_alloc(BNN_WEIGHT_ALIGN, (bytes + BNN_WEIGHT_ALIGN - 1) / BNN_WEIGHT_ALIGN * BNN_WEIGHT_ALIGN) : nullptr) {}
  ~AlignedBuffer() { std::free(p); }
  void* p;
};

struct Conv {
  bnn_conv_shape s{};
  std::vector<bnn_word> input, weights;
  std::vector<int32_t> threshold, direction;
  bnn_output_transform t{};

  Conv(std::mt19937& rng, uint32_t hw, uint32_t in_c, uint32_t out_c, uint32_t k, uint32_t stride,
       uint32_t groups, bnn_pad_value pad) {
    s.batch = 1;
    s.in_h = s.in_w = hw;
    s.in_c = in_c;
    s.out_c = out_c;
    s.kernel_h = s.kernel_w = k;
    s.stride_h = s.stride_w = stride;
    s.dilation_h = s.dilation_w = 1;
    s.groups = groups;
    s.pad_value = pad;
    bnn_conv_same_padding(&s, 1);
    input.resize(size_t(hw) * hw * bnn_words(in_c));
    weights.resize(out_c * bnn_conv_weight_row_words(&s));
    // Random bits with the padding bits of each pixel's last word cleared.
    const size_t iw = bnn_words(in_c), ww = bnn_words(in_c / groups);
    for (size_t i = 0; i < input.size(); ++i)
      input[i] = (i % iw == iw - 1 && in_c % 32) ? rng() & ((1u << (in_c % 32)) - 1) : rng();
    for (size_t i = 0; i < weights.size(); ++i)
      weights[i] = (i % ww == ww - 1 && (in_c / groups) % 32) ? rng() & ((1u << ((in_c / groups) % 32)) - 1) : rng();
    const int32_t kk = int32_t(k * k * (in_c / groups));
    for (uint32_t c = 0; c < out_c; ++c) {
      threshold.push_back(int32_t(rng() % (2 * kk + 1)) - kk);
      direction.push_back(c % 2 ? 1 : -1);
    }
    t.type = BNN_OUTPUT_BITS;
    t.threshold = threshold.data();
    t.direction = direction.data();
  }

  size_t out_bytes(bnn_output_type type) const {
    return size_t(bnn_conv_out_h(&s)) * bnn_conv_out_w(&s) * bnn_output_row_bytes(type, s.out_c);
  }

  // Runs `k` `repeats` times; returns the outputs and the median seconds.
  std::vector<uint8_t> run(const bnn_kernel_table* k, const bnn_output_transform& tr, int repeats,
                           double* median_seconds) const {
    AlignedBuffer packed(k->bconv2d_weights_size(&s)), scratch(k->bconv2d_scratch_size(&s));
    if (packed.p) k->bconv2d_pack_weights(&s, weights.data(), packed.p);
    std::vector<uint8_t> out(out_bytes(tr.type));
    std::vector<double> times;
    for (int r = 0; r < repeats; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      k->bconv2d(&s, input.data(), packed.p ? packed.p : weights.data(), &tr, out.data(), scratch.p);
      times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(times.begin(), times.end());
    if (median_seconds) *median_seconds = times[times.size() / 2];
    return out;
  }
};

}  // namespace

int main() {
  const bnn_kernel_table* tables[32];
  const size_t n = std::min<size_t>(bnn_kernels_all(tables, 32), 32);
  const bnn_kernel_table* best = bnn_kernels_best();
  printf("bnn-selfcheck: %zu kernel implementations on this CPU; selected: %s%s\n", n, best->name,
         best == bnn_kernels_reference() ? " (reference forced or no SIMD build)" : "");

  std::mt19937 rng(2026);
  std::vector<Conv> checks;
  checks.emplace_back(rng, 13, 64, 64, 3, 1, 1, BNN_PAD_ZERO);
  checks.emplace_back(rng, 9, 100, 40, 5, 2, 1, BNN_PAD_ZERO);
  checks.emplace_back(rng, 11, 96, 48, 3, 1, 3, BNN_PAD_ONE);
  checks.emplace_back(rng, 8, 33, 17, 7, 1, 1, BNN_PAD_ZERO);
  checks.emplace_back(rng, 7, 256, 128, 1, 2, 1, BNN_PAD_ZERO);
  int failures = 0;
  printf("\ncorrectness against the C reference (%zu convolutions, packed-bit and int32 outputs):\n", checks.size());
  for (size_t i = 1; i < n; ++i) {
    int bad = 0;
    for (const Conv& c : checks) {
      bnn_output_transform s32{};
      s32.type = BNN_OUTPUT_S32;
      bad += c.run(tables[i], c.t, 1, nullptr) != c.run(tables[0], c.t, 1, nullptr);
      bad += c.run(tables[i], s32, 1, nullptr) != c.run(tables[0], s32, 1, nullptr);
    }
    printf("  %-10s %s\n", tables[i]->name, bad ? "MISMATCH" : "bit-exact");
    failures += bad;
  }

  const Conv stage1(rng, 56, 64, 64, 3, 1, 1, BNN_PAD_ZERO);
  const double macs = 56.0 * 56 * 64 * 9 * 64;
  printf("\nbinary 3x3 convolution 56x56x64 -> 64 (ResNet-18 stage 1), one core, median:\n");
  printf("  %-10s %10s %14s\n", "kernels", "ms", "G binary MAC/s");
  for (size_t i = 0; i < n; ++i) {
    double seconds = 0;
    stage1.run(tables[i], stage1.t, i == 0 ? 3 : 21, &seconds);
    printf("  %-10s %10.3f %14.1f%s\n", tables[i]->name, seconds * 1e3, macs / seconds / 1e9,
           tables[i] == best ? "   <- selected" : "");
  }
  printf("\nFull benchmarks with the popcount ceiling and float baselines: see docs/kernel-benchmarks.md.\n");
  if (failures) {
    printf("\nSELF-CHECK FAILED: %d mismatches\n", failures);
    return 1;
  }
  printf("\nself-check passed\n");
  return 0;
}
