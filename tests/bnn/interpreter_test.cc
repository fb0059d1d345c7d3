// The interpreter runs a model exactly as the kernels do by hand, gives the
// same bits with the reference kernels forced, honours a caller arena, and
// keeps the reference model's memory pinned.
#include <catch2/catch.hpp>

#include <math.h>
#include <string.h>

#include <random>
#include <vector>

#include "bnn/bnn.h"
#include "bnn_kernels.h"
#include "loaded_model.h"
#include "models.h"

using namespace bnn_test;

namespace {

std::vector<float> RandomInput(uint32_t seed, size_t n) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = g(rng);
  return v;
}

// The same network computed with the reference kernels called by hand.
struct Expected {
  std::vector<float> conv2, probabilities;
};

Expected RunByHand(const TinyBinaryNet& net, const std::vector<float>& x) {
  const bnn_kernel_table* k = bnn_kernels_reference();
  std::vector<bnn_word> xb(81 * 2), y1(81 * 2), p1(16 * 2);
  k->bitpack_f32(x.data(), 81, 40, nullptr, xb.data());
  std::vector<bnn_word> w1(33 * 9 * 2), w2(20 * 9 * 2);
  bnn_bitpack_f32_ref(net.w1.data(), 33 * 9, 40, nullptr, w1.data());
  bnn_bitpack_f32_ref(net.w2.data(), 20 * 9, 33, nullptr, w2.data());
  bnn_conv_shape s1{};
  s1.batch = 1; s1.in_h = s1.in_w = 9; s1.in_c = 40; s1.out_c = 33;
  s1.kernel_h = s1.kernel_w = 3; s1.stride_h = s1.stride_w = 1; s1.dilation_h = s1.dilation_w = 1; s1.groups = 1;
  bnn_conv_same_padding(&s1, 1);
  bnn_output_transform t1{};
  t1.type = BNN_OUTPUT_BITS;
  t1.threshold = net.thr1.data();
  t1.direction = net.dir1.data();
  bnn_bconv2d_ref(&s1, xb.data(), w1.data(), &t1, y1.data());
  const bnn_pool_shape ps{1, 9, 9, 33, 2, 2, 2, 2, 0, 0, 0, 0};
  bnn_bmaxpool_ref(&ps, y1.data(), p1.data());
  bnn_conv_shape s2 = s1;
  s2.in_h = s2.in_w = 4; s2.in_c = 33; s2.out_c = 20; s2.pad_value = BNN_PAD_ONE;
  bnn_conv_same_padding(&s2, 1);
  bnn_output_transform t2{BNN_OUTPUT_F32, net.mult2.data(), net.bias2.data(), 0.0f, INFINITY, nullptr, nullptr, nullptr};
  Expected e;
  e.conv2.resize(16 * 20);
  bnn_bconv2d_ref(&s2, p1.data(), w2.data(), &t2, e.conv2.data());
  for (int p = 0; p < 16; ++p) {
    float v[20], m = -INFINITY, sum = 0;
    for (int c = 0; c < 20; ++c) m = fmaxf(m, v[c] = e.conv2[p * 20 + c] + net.add_bias[c]);
    for (int c = 0; c < 20; ++c) sum += v[c] = expf(v[c] - m);
    for (int c = 0; c < 20; ++c) e.probabilities.push_back(v[c] / sum);
  }
  return e;
}

struct Run {
  std::vector<float> conv2, probabilities;
  size_t arena = 0, packed = 0;
  std::string kernels;
};

Run Invoke(const std::vector<uint8_t>& file, const std::vector<float>& x, int force_reference) {
  AlignedBytes bytes(file);
  bnn_model* model = nullptr;
  REQUIRE(bnn_model_load_buffer(bytes.p, bytes.size, &model) == BNN_OK);
  bnn_interpreter_options o = bnn_interpreter_default_options();
  o.force_reference = force_reference;
  bnn_interpreter* it = nullptr;
  REQUIRE(bnn_interpreter_create(model, &o, &it) == BNN_OK);
  memcpy(bnn_interpreter_input(it, 0), x.data(), x.size() * sizeof(float));
  REQUIRE(bnn_interpreter_invoke(it) == BNN_OK);
  Run r;
  const float* c2 = static_cast<const float*>(bnn_interpreter_output(it, 0));
  const float* pr = static_cast<const float*>(bnn_interpreter_output(it, 1));
  r.conv2.assign(c2, c2 + 16 * 20);
  r.probabilities.assign(pr, pr + 16 * 20);
  r.arena = bnn_interpreter_arena_bytes(it);
  r.packed = bnn_interpreter_packed_weights_bytes(it);
  r.kernels = bnn_interpreter_kernels(it);
  bnn_interpreter_free(it);
  bnn_model_free(model);
  return r;
}

std::vector<uint8_t> TinyFile(const TinyBinaryNet& net) { return net.Build().Finish(); }

}  // namespace

TEST_CASE("the interpreter computes what the kernels compute by hand", "[interpreter]") {
  const TinyBinaryNet net;
  const std::vector<uint8_t> file = TinyFile(net);
  for (uint32_t seed : {1u, 2u, 3u}) {
    const std::vector<float> x = RandomInput(seed, 81 * 40);
    const Expected want = RunByHand(net, x);
    for (int force : {0, 1}) {
      const Run got = Invoke(file, x, force);
      INFO("kernels " << got.kernels << " seed " << seed);
      CHECK(memcmp(got.conv2.data(), want.conv2.data(), want.conv2.size() * sizeof(float)) == 0);
      for (size_t i = 0; i < want.probabilities.size(); ++i)
        CHECK(got.probabilities[i] == Approx(want.probabilities[i]).epsilon(1e-6));
    }
  }
}

TEST_CASE("optimised and reference kernels give the same output bits", "[interpreter]") {
  const TinyBinaryNet net(7);
  const std::vector<uint8_t> file = TinyFile(net);
  const std::vector<float> x = RandomInput(11, 81 * 40);
  const Run best = Invoke(file, x, 0);
  const Run ref = Invoke(file, x, 1);
  CHECK(ref.kernels == "reference");
  CHECK(memcmp(best.conv2.data(), ref.conv2.data(), best.conv2.size() * sizeof(float)) == 0);
  CHECK(memcmp(best.probabilities.data(), ref.probabilities.data(), best.probabilities.size() * sizeof(float)) == 0);
}

TEST_CASE("a caller arena is used, and one too small is refused with the size needed", "[interpreter]") {
  const TinyBinaryNet net;
  const std::vector<uint8_t> file = TinyFile(net);
  AlignedBytes bytes(file);
  bnn_model* model = nullptr;
  REQUIRE(bnn_model_load_buffer(bytes.p, bytes.size, &model) == BNN_OK);
  bnn_interpreter* it = nullptr;
  REQUIRE(bnn_interpreter_create(model, nullptr, &it) == BNN_OK);
  const size_t need = bnn_interpreter_arena_bytes(it);
  bnn_interpreter_free(it);

  std::vector<uint8_t> storage(need + 64);
  uint8_t* arena = storage.data() + (64 - reinterpret_cast<uintptr_t>(storage.data()) % 64) % 64;
  bnn_interpreter_options o = bnn_interpreter_default_options();
  o.arena = arena;
  o.arena_bytes = need - 1;
  CHECK(bnn_interpreter_create(model, &o, &it) == BNN_ERROR_OUT_OF_MEMORY);
  CHECK(it == nullptr);
  CHECK(std::string(bnn_last_load_error()).find(std::to_string(need)) != std::string::npos);
  o.arena_bytes = need;
  REQUIRE(bnn_interpreter_create(model, &o, &it) == BNN_OK);
  const uint8_t* in = static_cast<const uint8_t*>(bnn_interpreter_input(it, 0));
  CHECK(in >= arena);
  CHECK(in < arena + need);
  o.arena = arena + 1;  // misaligned
  bnn_interpreter* bad = nullptr;
  CHECK(bnn_interpreter_create(model, &o, &bad) == BNN_ERROR_INVALID_ARGUMENT);
  bnn_interpreter_free(it);
  bnn_model_free(model);
}

TEST_CASE("the reference model's memory is pinned", "[interpreter][memory]") {
  // Regression pins: if a change makes these grow, look at why before
  // updating them. Weights are the packed constants in the file.
  const TinyBinaryNet net;
  const std::vector<uint8_t> file = TinyFile(net);
  const std::vector<float> x = RandomInput(1, 81 * 40);
  const Run ref = Invoke(file, x, 1);
  const Run best = Invoke(file, x, 0);
  AlignedBytes bytes(file);
  bnn_model* model = nullptr;
  REQUIRE(bnn_model_load_buffer(bytes.p, bytes.size, &model) == BNN_OK);
  // conv1 33x3x3x40 bits (33*9*2 words) + conv2 20x3x3x33 bits (20*9*2 words)
  // + 2*33 + 3*20 floats/ints.
  CHECK(bnn_model_weights_bytes(model) == (33 * 9 * 2 + 20 * 9 * 2) * 4 + (2 * 33 + 3 * 20) * 4);
  bnn_model_free(model);
  CHECK(ref.arena == 16832);  // the 12,960-byte input stays live through the invoke
  CHECK(ref.packed == 0);  // the reference reads the weights in place
  CHECK(best.arena == 16832);  // the optimised kernels' scratch fits in the plan's gaps
  CHECK(best.packed == (best.kernels == "reference" ? 0u : 8640u));
  printf("tiny net: arena %zu bytes (reference), %zu (%s); packed weights %zu\n", ref.arena, best.arena,
         best.kernels.c_str(), best.packed);
}

TEST_CASE("invoke leaves the inputs intact and repeats exactly", "[interpreter]") {
  const TinyBinaryNet net(3);
  const std::vector<uint8_t> file = TinyFile(net);
  AlignedBytes bytes(file);
  bnn_model* model = nullptr;
  REQUIRE(bnn_model_load_buffer(bytes.p, bytes.size, &model) == BNN_OK);
  bnn_interpreter* it = nullptr;
  REQUIRE(bnn_interpreter_create(model, nullptr, &it) == BNN_OK);
  const std::vector<float> x = RandomInput(5, 81 * 40);
  memcpy(bnn_interpreter_input(it, 0), x.data(), x.size() * sizeof(float));
  REQUIRE(bnn_interpreter_invoke(it) == BNN_OK);
  CHECK(memcmp(bnn_interpreter_input(it, 0), x.data(), x.size() * sizeof(float)) == 0);
  const std::vector<float> first(static_cast<const float*>(bnn_interpreter_output(it, 1)),
                                 static_cast<const float*>(bnn_interpreter_output(it, 1)) + 320);
  REQUIRE(bnn_interpreter_invoke(it) == BNN_OK);
  CHECK(memcmp(bnn_interpreter_output(it, 1), first.data(), 320 * sizeof(float)) == 0);
  bnn_interpreter_free(it);
  bnn_model_free(model);
}

TEST_CASE("a caller's input buffer is read in place, unchanged, and can be given back", "[interpreter]") {
  const TinyBinaryNet net(5);
  const std::vector<uint8_t> file = TinyFile(net);
  AlignedBytes bytes(file);
  bnn_model* model = nullptr;
  REQUIRE(bnn_model_load_buffer(bytes.p, bytes.size, &model) == BNN_OK);
  bnn_interpreter* it = nullptr;
  REQUIRE(bnn_interpreter_create(model, nullptr, &it) == BNN_OK);
  const size_t n = 81 * 40, out_bytes = 16 * 20 * sizeof(float);
  const std::vector<float> a = RandomInput(21, n), b = RandomInput(22, n);
  const std::vector<float> a_copy = a;
  void* arena_input = bnn_interpreter_input(it, 0);
  memcpy(arena_input, b.data(), n * sizeof(float));

  // Bound: the caller's `a`, not the arena's `b`, is what runs.
  REQUIRE(bnn_interpreter_set_input(it, 0, a.data(), n * sizeof(float)) == BNN_OK);
  CHECK(bnn_interpreter_input(it, 0) == static_cast<const void*>(a.data()));
  REQUIRE(bnn_interpreter_invoke(it) == BNN_OK);
  std::vector<uint8_t> bound(out_bytes);
  memcpy(bound.data(), bnn_interpreter_output(it, 0), out_bytes);
  CHECK(a == a_copy);  // read only
  const Run want_a = Invoke(file, a, 0);
  CHECK(memcmp(bound.data(), want_a.conv2.data(), out_bytes) == 0);

  // Given back: the arena buffer (still holding `b`) runs again.
  REQUIRE(bnn_interpreter_set_input(it, 0, nullptr, 0) == BNN_OK);
  CHECK(bnn_interpreter_input(it, 0) == arena_input);
  REQUIRE(bnn_interpreter_invoke(it) == BNN_OK);
  const Run want_b = Invoke(file, b, 0);
  CHECK(memcmp(bnn_interpreter_output(it, 0), want_b.conv2.data(), out_bytes) == 0);

  // Wrong size, misaligned, no such input.
  CHECK(bnn_interpreter_set_input(it, 0, a.data(), n * sizeof(float) - 4) == BNN_ERROR_INVALID_ARGUMENT);
  CHECK(std::string(bnn_interpreter_error(it)).find("bytes") != std::string::npos);
  CHECK(bnn_interpreter_set_input(it, 0, reinterpret_cast<const uint8_t*>(a.data()) + 1, n * sizeof(float)) ==
        BNN_ERROR_INVALID_ARGUMENT);
  CHECK(bnn_interpreter_set_input(it, 1, a.data(), n * sizeof(float)) == BNN_ERROR_INVALID_ARGUMENT);
  CHECK(bnn_interpreter_input(it, 0) == arena_input);  // a refused call changes nothing
  bnn_interpreter_free(it);
  bnn_model_free(model);
}
