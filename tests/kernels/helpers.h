// Test helpers for the kernels: random data, packing, implementations to test,
// guard-page buffers that turn any over-read into a crash.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bnn_kernels.h"

namespace bnn_test {

// Every implementation this CPU (or QEMU) can run: the reference first.
inline std::vector<const bnn_kernel_table*> AllTables() {
  const bnn_kernel_table* tables[64];
  const size_t n = bnn_kernels_all(tables, 64);
  return std::vector<const bnn_kernel_table*>(tables, tables + (n < 64 ? n : 64));
}

// The optimised implementations only (everything but the reference).
inline std::vector<const bnn_kernel_table*> OptimisedTables() {
  std::vector<const bnn_kernel_table*> all = AllTables();
  all.erase(all.begin());
  return all;
}

// `bytes` of memory that end exactly (up to `align`) at a PROT_NONE page, so
// a read past the end faults (as ONNX Runtime's MLAS tests do).
class GuardedBuffer {
 public:
  explicit GuardedBuffer(size_t bytes, size_t align = 1) : bytes_(bytes) {
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    const size_t rounded = (bytes + align - 1) / align * align;
    map_bytes_ = (rounded + page - 1) / page * page + page;
    base_ = static_cast<uint8_t*>(mmap(nullptr, map_bytes_, PROT_READ | PROT_WRITE,
                                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (base_ == MAP_FAILED) std::abort();
    mprotect(base_ + map_bytes_ - page, page, PROT_NONE);
    data_ = base_ + (map_bytes_ - page - rounded);
  }
  ~GuardedBuffer() { munmap(base_, map_bytes_); }
  GuardedBuffer(const GuardedBuffer&) = delete;
  GuardedBuffer& operator=(const GuardedBuffer&) = delete;

  template <class T> T* as() { return reinterpret_cast<T*>(data_); }
  size_t size() const { return bytes_; }

 private:
  uint8_t* base_ = nullptr;
  uint8_t* data_ = nullptr;
  size_t bytes_ = 0, map_bytes_ = 0;
};

// +1/-1 floats.
inline std::vector<float> RandomSigns(std::mt19937& rng, size_t n) {
  std::vector<float> v(n);
  std::bernoulli_distribution neg(0.5);
  for (float& x : v) x = neg(rng) ? -1.0f : 1.0f;
  return v;
}

// Packs rows x channels +/-1 floats with the reference (the contract).
inline std::vector<bnn_word> Pack(const std::vector<float>& values, size_t rows, size_t channels) {
  std::vector<bnn_word> out(rows * bnn_words(channels));
  bnn_bitpack_f32_ref(values.data(), rows, channels, nullptr, out.data());
  return out;
}

// A transform of each type with per-channel parameters that exercise every
// path: negative multipliers, clamps, rounding ties, both threshold directions.
// Given the output's rows (pixels), also F32 with a residual, unclamped and
// clamped (the binary kernels' fused shortcut).
struct Transforms {
  std::vector<float> multiplier, bias, residual;
  std::vector<int32_t> threshold, direction;
  bnn_output_transform s32{}, f32{}, f32_relu{}, s8{}, bits{}, f32_residual{}, f32_relu_residual{};

  Transforms(std::mt19937& rng, size_t channels, int32_t k, size_t rows = 0) {
    std::uniform_real_distribution<float> m(-2.0f, 2.0f), b(-8.0f, 8.0f);
    std::uniform_int_distribution<int32_t> thr(-k, k);
    for (size_t c = 0; c < channels; ++c) {
      // Some multipliers of 0.5 put results exactly on .5 to test round-half-even.
      multiplier.push_back(c % 5 == 0 ? 0.5f : m(rng));
      bias.push_back(c % 7 == 0 ? 0.5f : b(rng));
      threshold.push_back(thr(rng));
      direction.push_back(c % 3 == 0 ? -1 : 1);
    }
    s32.type = BNN_OUTPUT_S32;
    f32 = {BNN_OUTPUT_F32, multiplier.data(), bias.data(), -HUGE_VALF, HUGE_VALF, nullptr, nullptr, nullptr};
    f32_relu = f32;
    f32_relu.clamp_min = 0.0f;
    f32_relu.clamp_max = 6.0f;
    s8 = {BNN_OUTPUT_S8, multiplier.data(), bias.data(), -100.0f, HUGE_VALF, nullptr, nullptr, nullptr};
    bits.type = BNN_OUTPUT_BITS;
    bits.threshold = threshold.data();
    bits.direction = direction.data();
    if (rows == 0) return;
    std::uniform_real_distribution<float> r(-8.0f, 8.0f);
    for (size_t i = 0; i < rows * channels; ++i) residual.push_back(i % 11 == 0 ? -0.0f : r(rng));
    f32_residual = f32;
    f32_residual.residual = residual.data();
    f32_relu_residual = f32_relu;
    f32_relu_residual.residual = residual.data();
  }

  std::vector<const bnn_output_transform*> all() const {
    std::vector<const bnn_output_transform*> v = {&s32, &f32, &f32_relu, &s8, &bits};
    if (!residual.empty()) v.insert(v.end(), {&f32_residual, &f32_relu_residual});
    return v;
  }
};

// Uniform floats in [lo, hi).
inline std::vector<float> RandomFloats(std::mt19937& rng, size_t n, float lo = -1.0f, float hi = 1.0f) {
  std::vector<float> v(n);
  std::uniform_real_distribution<float> dist(lo, hi);
  for (float& x : v) x = dist(rng);
  return v;
}

// Float outputs the float contract calls equal: the same bits, or both NaN
// (NaN payloads and signs are not part of the contract). Returns the index
// of the first difference, or n when there is none.
inline size_t FirstFloatDifference(const float* a, const float* b, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (std::isnan(a[i]) && std::isnan(b[i])) continue;
    if (memcmp(&a[i], &b[i], sizeof(float)) != 0) return i;
  }
  return n;
}

inline const char* TypeName(bnn_output_type t) {
  switch (t) {
    case BNN_OUTPUT_S32: return "s32";
    case BNN_OUTPUT_F32: return "f32";
    case BNN_OUTPUT_S8: return "s8";
    case BNN_OUTPUT_BITS: return "bits";
  }
  return "?";
}

inline std::string TransformName(const bnn_output_transform& t) {
  return std::string(TypeName(t.type)) + (t.residual ? "+residual" : "");
}

// A copy of `t` whose residual (rows x channels floats) sits against a guard
// page in `guarded`, so that a kernel reading past it crashes.
inline bnn_output_transform GuardResidual(const bnn_output_transform& t, size_t rows, size_t channels,
                                          std::unique_ptr<GuardedBuffer>* guarded) {
  bnn_output_transform g = t;
  if (!t.residual) return g;
  guarded->reset(new GuardedBuffer(rows * channels * sizeof(float), sizeof(float)));
  memcpy((*guarded)->as<void>(), t.residual, (*guarded)->size());
  g.residual = (*guarded)->as<const float>();
  return g;
}

}  // namespace bnn_test
