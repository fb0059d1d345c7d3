// Malformed arguments to the kernel entry points stop the program through
// assert() in debug builds (kernels never return errors: the runtime
// validates shapes at load). Each call runs in a child process, which must
// die with SIGABRT. Built only when assertions are enabled (b_ndebug=false).
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>

#include "helpers.h"

using namespace bnn_test;

namespace {

bool Aborts(const std::function<void()>& call) {
  fflush(nullptr);
  // A raw clone rather than fork(): glibc's fork() hangs under qemu-aarch64
  // 7.2 (the aarch64 cross tests), the bare system call does not.
  const pid_t pid = static_cast<pid_t>(syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0));
  if (pid == 0) {
    // Keep the expected assertion message out of the test log's way.
    if (!freopen("/dev/null", "w", stderr)) _exit(3);
    call();
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

bnn_conv_shape GoodShape() {
  bnn_conv_shape s{};
  s.batch = 1;
  s.in_h = s.in_w = 4;
  s.in_c = 64;
  s.out_c = 16;
  s.kernel_h = s.kernel_w = 3;
  s.stride_h = s.stride_w = s.dilation_h = s.dilation_w = s.groups = 1;
  bnn_conv_same_padding(&s, 1);
  return s;
}

}  // namespace

TEST_CASE("kernels assert their preconditions", "[preconditions]") {
  alignas(64) static bnn_word input[4 * 4 * 2], weights[16 * 18 * 4], out[4 * 4 * 16];
  alignas(64) static uint8_t scratch[1 << 16];
  bnn_output_transform t{};
  t.type = BNN_OUTPUT_S32;
  for (const bnn_kernel_table* k : AllTables()) {
    INFO(k->name);
    const bnn_conv_shape good = GoodShape();
    // The well-formed call runs to completion (so the checks below are not vacuous).
    CHECK_FALSE(Aborts([&] { k->bconv2d(&good, input, weights, &t, out, scratch); }));

    bnn_conv_shape bad = good;
    bad.groups = 3;  // does not divide 64 input channels
    CHECK(Aborts([&] { k->bconv2d(&bad, input, weights, &t, out, scratch); }));
    bad = good;
    bad.stride_h = 0;
    CHECK(Aborts([&] { k->bconv2d(&bad, input, weights, &t, out, scratch); }));
    CHECK(Aborts([&] { k->bconv2d(&good, nullptr, weights, &t, out, scratch); }));
    CHECK(Aborts([&] { k->bconv2d(&good, input, weights, &t, nullptr, scratch); }));
    if (k->bconv2d_weights_size(&good) != 0) {
      // Pre-packed weights must be aligned for vector loads.
      CHECK(Aborts([&] { k->bconv2d(&good, input, reinterpret_cast<const uint8_t*>(weights) + 4, &t, out, scratch); }));
    }

    const bnn_gemm_shape gemm_bad{1, 16, 0};  // k = 0
    CHECK(Aborts([&] { k->bgemm(&gemm_bad, input, weights, &t, out); }));

    const bnn_pool_shape pool_bad{1, 4, 4, 32, 2, 2, 2, 2, 2, 0, 0, 0};  // pad as large as the window
    CHECK(Aborts([&] { k->bmaxpool(&pool_bad, input, out); }));
    CHECK(Aborts([&] { k->bitpack_f32(nullptr, 1, 32, nullptr, out); }));
  }
}

TEST_CASE("float kernels assert their preconditions", "[preconditions]") {
  bnn_conv_shape good{};
  good.batch = 1;
  good.in_h = good.in_w = 4;
  good.in_c = 8;
  good.out_c = 16;
  good.kernel_h = good.kernel_w = 3;
  good.stride_h = good.stride_w = good.dilation_h = good.dilation_w = good.groups = 1;
  bnn_conv_same_padding(&good, 1);
  alignas(64) static float input[4 * 4 * 8], canonical[16 * 9 * 8], out[4 * 4 * 16], bias[16];
  alignas(64) static float packed[1 << 14];
  alignas(64) static uint8_t scratch[1 << 16];
  for (const bnn_kernel_table* k : AllTables()) {
    INFO(k->name);
    REQUIRE(k->fconv2d_weights_size(&good) <= sizeof(packed));
    REQUIRE(k->fconv2d_scratch_size(&good) <= sizeof(scratch));
    const void* w = canonical;
    if (k->fconv2d_weights_size(&good)) {
      k->fconv2d_pack_weights(&good, canonical, packed);
      w = packed;
    }
    const float inf = HUGE_VALF;
    CHECK_FALSE(Aborts([&] { k->fconv2d(&good, input, w, bias, -inf, inf, out, scratch); }));
    CHECK_FALSE(Aborts([&] { k->fconv2d(&good, input, w, nullptr, 0.0f, 0.0f, out, scratch); }));

    bnn_conv_shape bad = good;
    bad.groups = 3;  // does not divide 8 input channels
    CHECK(Aborts([&] { k->fconv2d(&bad, input, w, bias, -inf, inf, out, scratch); }));
    bad = good;
    bad.stride_w = 0;
    CHECK(Aborts([&] { k->fconv2d(&bad, input, w, bias, -inf, inf, out, scratch); }));
    CHECK(Aborts([&] { k->fconv2d(&good, nullptr, w, bias, -inf, inf, out, scratch); }));
    CHECK(Aborts([&] { k->fconv2d(&good, input, w, bias, -inf, inf, nullptr, scratch); }));
    CHECK(Aborts([&] { k->fconv2d(&good, input, w, bias, 1.0f, 0.0f, out, scratch); }));  // min > max
    CHECK(Aborts([&] { k->fconv2d(&good, input, w, bias, NAN, inf, out, scratch); }));
    if (k->fconv2d_weights_size(&good) != 0) {
      CHECK(Aborts([&] { k->fconv2d(&good, input, reinterpret_cast<const uint8_t*>(w) + 4, bias, -inf, inf, out, scratch); }));
    }

    const bnn_gemm_shape fc_good{2, 16, 8}, fc_bad{2, 16, 0};
    const void* fw = canonical;
    if (k->ffc_weights_size(&fc_good)) {
      k->ffc_pack_weights(&fc_good, canonical, packed);
      fw = packed;
    }
    CHECK_FALSE(Aborts([&] { k->ffc(&fc_good, input, fw, bias, -inf, inf, out); }));
    CHECK(Aborts([&] { k->ffc(&fc_bad, input, fw, bias, -inf, inf, out); }));
    CHECK(Aborts([&] { k->ffc(&fc_good, input, fw, bias, inf, -inf, out); }));

    const bnn_pool_shape pool_good{1, 4, 4, 8, 2, 2, 2, 2, 0, 0, 0, 0};
    const bnn_pool_shape pool_bad{1, 4, 4, 8, 2, 2, 2, 2, 2, 0, 0, 0};  // pad as large as the window
    CHECK_FALSE(Aborts([&] { k->maxpool_f32(&pool_good, input, out); }));
    CHECK_FALSE(Aborts([&] { k->avgpool_f32(&pool_good, input, 1, out); }));
    CHECK(Aborts([&] { k->maxpool_f32(&pool_bad, input, out); }));
    CHECK(Aborts([&] { k->avgpool_f32(&pool_bad, input, 0, out); }));
    CHECK(Aborts([&] { k->avgpool_f32(&pool_good, nullptr, 0, out); }));

    CHECK_FALSE(Aborts([&] { k->add_f32(input, input, 16, 0.0f, inf, out); }));
    CHECK(Aborts([&] { k->add_f32(input, nullptr, 16, 0.0f, inf, out); }));
    CHECK(Aborts([&] { k->add_f32(input, input, 16, 6.0f, 0.0f, out); }));
  }
}
