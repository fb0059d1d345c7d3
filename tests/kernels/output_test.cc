// Output transforms: the formulas of bnn_kernels.h on hand-computed values,
// on every implementation, through a fully-connected layer whose dot
// products are chosen: k = 32, channel j's weights have d_j bits set against
// an all-zero (+1) input row, so acc_j = 32 - 2 * d_j.
#include <catch2/catch.hpp>

#include "helpers.h"

using namespace bnn_test;

namespace {

constexpr uint32_t kChannels = 17;  // one full 16-channel chunk and one partial
const int32_t kAcc[kChannels] = {32, 30, 2, 6, -2, -6, 0, -32, 10, 12, 14, -10, 4, -4, 8, 20, 2};

std::vector<uint8_t> Run(const bnn_kernel_table* k, const bnn_output_transform& t) {
  const bnn_gemm_shape s{1, kChannels, 32};
  std::vector<bnn_word> a(1, 0), w(kChannels);
  for (uint32_t j = 0; j < kChannels; ++j) {
    const uint32_t d = static_cast<uint32_t>(32 - kAcc[j]) / 2;
    w[j] = d == 32 ? ~0u : (1u << d) - 1;
  }
  alignas(BNN_WEIGHT_ALIGN) static uint8_t packed[1 << 16];
  const size_t wbytes = k->bgemm_weights_size(&s);
  REQUIRE(wbytes <= sizeof packed);
  if (wbytes) k->bgemm_pack_weights(&s, w.data(), packed);
  std::vector<uint8_t> out(bnn_output_row_bytes(t.type, kChannels), 0xCC);
  k->bgemm(&s, a.data(), wbytes ? static_cast<const void*>(packed) : w.data(), &t, out.data());
  return out;
}

template <class T>
std::vector<T> As(const std::vector<uint8_t>& bytes) {
  std::vector<T> v(bytes.size() / sizeof(T));
  memcpy(v.data(), bytes.data(), bytes.size());
  return v;
}

}  // namespace

TEST_CASE("S32 is the dot product itself", "[output]") {
  for (const bnn_kernel_table* k : AllTables()) {
    INFO(k->name);
    bnn_output_transform t{};
    t.type = BNN_OUTPUT_S32;
    CHECK(As<int32_t>(Run(k, t)) == std::vector<int32_t>(kAcc, kAcc + kChannels));
  }
}

TEST_CASE("F32 multiplies, adds and clamps per channel", "[output]") {
  std::vector<float> mult(kChannels), bias(kChannels);
  for (uint32_t j = 0; j < kChannels; ++j) mult[j] = j % 2 ? -0.5f : 0.25f, bias[j] = float(j) - 4.0f;
  for (const bnn_kernel_table* k : AllTables()) {
    INFO(k->name);
    bnn_output_transform t{BNN_OUTPUT_F32, mult.data(), bias.data(), -HUGE_VALF, HUGE_VALF, nullptr, nullptr, nullptr};
    std::vector<float> got = As<float>(Run(k, t));
    for (uint32_t j = 0; j < kChannels; ++j) CHECK(got[j] == float(kAcc[j]) * mult[j] + bias[j]);
    t.clamp_min = 0.0f;  // ReLU6
    t.clamp_max = 6.0f;
    got = As<float>(Run(k, t));
    for (uint32_t j = 0; j < kChannels; ++j) {
      const float y = float(kAcc[j]) * mult[j] + bias[j];
      CHECK(got[j] == (y < 0 ? 0.0f : y > 6 ? 6.0f : y));
    }
  }
}

TEST_CASE("F32 with a residual adds it after the bias, then clamps", "[output][residual]") {
  // Channel 3 (acc 6) shows the order of the three roundings:
  // 6 * 2796202.75 = 2^24 + 0.5 -> 2^24, + 1 -> 2^24 (a tie, to even), + -2^24 -> 0,
  // where adding bias and residual first would give 1.
  std::vector<float> mult(kChannels, 0.25f), bias(kChannels, 1.0f), residual(kChannels);
  for (uint32_t j = 0; j < kChannels; ++j) residual[j] = float(j) - 8.0f;
  mult[3] = 2796202.75f;
  residual[3] = -16777216.0f;
  for (const bnn_kernel_table* k : AllTables()) {
    INFO(k->name);
    bnn_output_transform t{BNN_OUTPUT_F32, mult.data(), bias.data(), -HUGE_VALF, HUGE_VALF, nullptr, nullptr,
                           residual.data()};
    std::vector<float> got = As<float>(Run(k, t));
    for (uint32_t j = 0; j < kChannels; ++j) {
      const float product = float(kAcc[j]) * mult[j];
      const float affine = product + bias[j];
      CHECK(got[j] == affine + residual[j]);
    }
    CHECK(got[3] == 0.0f);
    t.clamp_min = 0.0f;  // ReLU6 after the add
    t.clamp_max = 6.0f;
    got = As<float>(Run(k, t));
    for (uint32_t j = 0; j < kChannels; ++j) {
      const float y = (float(kAcc[j]) * mult[j] + bias[j]) + residual[j];
      CHECK(got[j] == (y < 0 ? 0.0f : y > 6 ? 6.0f : y));
    }
  }
}

TEST_CASE("F32 clamps by compare and select: ReLU keeps -0.0 on every target", "[output]") {
  // Channel 6 has acc = 0: 0 * -1 = -0, -0 + -0 = -0, and -0 < 0 is false.
  std::vector<float> mult(kChannels, 1.0f), bias(kChannels, 0.0f);
  mult[6] = -1.0f;
  bias[6] = -0.0f;
  for (const bnn_kernel_table* k : AllTables()) {
    INFO(k->name);
    bnn_output_transform t{BNN_OUTPUT_F32, mult.data(), bias.data(), 0.0f, HUGE_VALF, nullptr, nullptr, nullptr};
    const std::vector<float> got = As<float>(Run(k, t));
    uint32_t bits;
    memcpy(&bits, &got[6], sizeof bits);
    CHECK(bits == 0x80000000u);
  }
}

TEST_CASE("S8 rounds half to even and saturates", "[output]") {
  std::vector<float> mult(kChannels, 0.25f), bias(kChannels, 0.0f);
  mult[0] = 10.0f;  // 320: saturates at 127
  mult[7] = 10.0f;  // -320: saturates at -128
  for (const bnn_kernel_table* k : AllTables()) {
    INFO(k->name);
    bnn_output_transform t{BNN_OUTPUT_S8, mult.data(), bias.data(), -HUGE_VALF, HUGE_VALF, nullptr, nullptr, nullptr};
    const std::vector<int8_t> got = As<int8_t>(Run(k, t));
    // acc * 0.25: 30 -> 7.5 -> 8, 2 -> 0.5 -> 0, 6 -> 1.5 -> 2, -2 -> -0.5 -> 0, -6 -> -1.5 -> -2,
    // 10 -> 2.5 -> 2, 14 -> 3.5 -> 4, -10 -> -2.5 -> -2.
    const std::vector<int8_t> want = {127, 8, 0, 2, 0, -2, 0, -128, 2, 3, 4, -2, 1, -1, 2, 5, 0};
    CHECK(got == want);
    t.clamp_min = -1.0f;
    t.clamp_max = 3.0f;
    const std::vector<int8_t> clamped = As<int8_t>(Run(k, t));
    for (uint32_t j = 0; j < kChannels; ++j) CHECK(clamped[j] == std::min<int8_t>(3, std::max<int8_t>(-1, want[j])));
  }
}

TEST_CASE("BITS thresholds in both directions, padding bits 0", "[output]") {
  std::vector<int32_t> thr(kChannels, 4), dir(kChannels, 1);
  for (uint32_t j = 0; j < kChannels; j += 2) dir[j] = -1;
  for (const bnn_kernel_table* k : AllTables()) {
    INFO(k->name);
    bnn_output_transform t{};
    t.type = BNN_OUTPUT_BITS;
    t.threshold = thr.data();
    t.direction = dir.data();
    const std::vector<bnn_word> got = As<bnn_word>(Run(k, t));
    bnn_word want = 0;
    for (uint32_t j = 0; j < kChannels; ++j)
      if (dir[j] >= 0 ? kAcc[j] < 4 : kAcc[j] > 4) want |= 1u << j;
    REQUIRE(got.size() == 1);
    CHECK(got[0] == want);
    CHECK((got[0] >> kChannels) == 0);
  }
}
