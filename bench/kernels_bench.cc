// Benchmarks of the binary kernels on every implementation this CPU runs
// (bnn_kernels_all: the C reference, then each compiled Highway target), and
// the popcount ceiling they are measured against.
//
//   bconv3x3/<HxWxC>/<target>       3x3, stride 1, SAME zero padding, batch 1,
//                                   C -> C channels, packed output (thresholds)
//   bconv3x3_f32/<HxWxC>/<target>   the same with float output (first stage)
//   bgemm/<MxKxN>/<target>          fully connected, M rows of K bits -> N
//   bitpack_f32/<HxWxC>/<target>    float NHWC -> packed bits
//   fconv/7x7s2_224x224x3->64/<target>
//                                   the float first layer (ResNet/Bi-Real-Net stem):
//                                   7x7, stride 2, pad 3, bias + ReLU; counter
//                                   GMAC_per_s (float MACs, per CPU second)
//   popcount_ceiling/<target>       popcount(a XOR b), 2 x 8 KiB in L1 (ceiling-hwy.cc):
//                                   the yardstick report.py divides by
//   popcount_broadcast/<target>     the convolution's loop shape (one weight vector
//                                   load per 4 broadcast rows) on L1 data:
//                                   bound by the vector ALUs, not by loads
//
// Counter bMACs: binary multiply-accumulates (one bit of a dot product) per
// second of CPU time; MACs: per iteration. For the ceiling one MAC is one bit
// of a XOR b.
// bench/report.py runs this binary with --benchmark_format=json and computes
// each kernel's fraction of the ceiling measured in the same run.
// No result here is checked against a time: these are measurements, not tests.
#include <benchmark/benchmark.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmath>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bnn_kernels.h"

#if BNN_BENCH_HAVE_CEILING
#include "hwy/highway.h"  // HWY_MAJOR / HWY_MINOR / HWY_PATCH

namespace bnn_bench {
// ceiling-hwy.cc (same declarations there).
using XorPopcountFn = uint64_t (*)(const uint64_t* a, const uint64_t* b, size_t words,
                                   size_t passes);
using BroadcastPopcountFn = uint64_t (*)(const uint32_t* rows, const uint32_t* w, size_t words,
                                         size_t passes);
struct CeilingKernel {
  const char* name;
  XorPopcountFn xor_popcount;
  BroadcastPopcountFn broadcast_popcount;
  size_t u32_lanes;
};
std::vector<CeilingKernel> CeilingKernels();
}  // namespace bnn_bench
#endif

namespace {

// ---------------------------------------------------------------------------
// Buffers

struct FreeDeleter {
  void operator()(void* p) const { free(p); }
};
using AlignedPtr = std::unique_ptr<void, FreeDeleter>;

// BNN_WEIGHT_ALIGN-aligned, zeroed, at least one alignment unit long.
AlignedPtr AlignedAlloc(size_t bytes) {
  const size_t size = (bytes == 0 ? 1 : (bytes + BNN_WEIGHT_ALIGN - 1) / BNN_WEIGHT_ALIGN) *
                      BNN_WEIGHT_ALIGN;
  void* p = aligned_alloc(BNN_WEIGHT_ALIGN, size);
  if (!p) abort();
  memset(p, 0, size);
  return AlignedPtr(p);
}

std::vector<bnn_word> RandomWords(std::mt19937& rng, size_t n) {
  std::vector<bnn_word> v(n);
  for (auto& w : v) w = static_cast<bnn_word>(rng());
  return v;
}

// Clears the bits past `channels` in every row of `words_per_row` words (the
// bit contract's zero padding).
void ClearPadding(std::vector<bnn_word>& v, size_t rows, size_t channels) {
  const size_t words = bnn_words(channels);
  if (channels % BNN_WORD_BITS == 0) return;
  const bnn_word mask = (bnn_word{1} << (channels % BNN_WORD_BITS)) - 1;
  for (size_t r = 0; r < rows; ++r) v[r * words + words - 1] &= mask;
}

// Per-channel output transform data for `channels` channels.
struct TransformData {
  std::vector<float> multiplier, bias;
  std::vector<int32_t> threshold, direction;

  TransformData(std::mt19937& rng, size_t channels, int32_t k)
      : multiplier(channels), bias(channels), threshold(channels), direction(channels) {
    std::uniform_real_distribution<float> scale(0.5f, 2.0f), shift(-1.0f, 1.0f);
    std::uniform_int_distribution<int32_t> thr(-k / 8, k / 8);
    for (size_t c = 0; c < channels; ++c) {
      multiplier[c] = scale(rng);
      bias[c] = shift(rng);
      threshold[c] = thr(rng);
      direction[c] = (c % 5 == 4) ? -1 : 1;  // a few negative BatchNorm scales
    }
  }

  bnn_output_transform Make(bnn_output_type type) const {
    bnn_output_transform t;
    memset(&t, 0, sizeof(t));
    t.type = type;
    t.multiplier = multiplier.data();
    t.bias = bias.data();
    t.clamp_min = -INFINITY;
    t.clamp_max = INFINITY;
    t.threshold = threshold.data();
    t.direction = direction.data();
    return t;
  }
};

// bMACs: binary MACs per CPU second (Google Benchmark's rate counters divide by
// CPU time); MACs: per iteration, so report.py can divide by wall time too.
void SetMacCounters(benchmark::State& state, double macs_per_iteration) {
  state.counters["MACs"] = benchmark::Counter(macs_per_iteration);
  state.counters["bMACs"] =
      benchmark::Counter(macs_per_iteration, benchmark::Counter::kIsIterationInvariantRate);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * macs_per_iteration));
}

// ---------------------------------------------------------------------------
// Binary 3x3 convolution

struct Stage {
  const char* name;
  uint32_t hw, channels;
};
// The four ResNet-18 stages.
const Stage kStages[] = {
    {"56x56x64", 56, 64},
    {"28x28x128", 28, 128},
    {"14x14x256", 14, 256},
    {"7x7x512", 7, 512},
};

bnn_conv_shape Conv3x3(const Stage& st) {
  bnn_conv_shape s;
  memset(&s, 0, sizeof(s));
  s.batch = 1;
  s.in_h = s.in_w = st.hw;
  s.in_c = s.out_c = st.channels;
  s.kernel_h = s.kernel_w = 3;
  s.stride_h = s.stride_w = 1;
  s.dilation_h = s.dilation_w = 1;
  s.groups = 1;
  s.pad_value = BNN_PAD_ZERO;
  bnn_conv_same_padding(&s, 1);
  return s;
}

// Inputs shared by every target for one shape: made once.
struct ConvData {
  bnn_conv_shape shape;
  std::vector<bnn_word> input, weights;  // packed NHWC, canonical OHWI
  TransformData transform;

  explicit ConvData(const bnn_conv_shape& s, std::mt19937&& rng)
      : shape(s),
        input(RandomWords(rng, static_cast<size_t>(s.batch) * s.in_h * s.in_w * bnn_words(s.in_c))),
        weights(RandomWords(rng, s.out_c * bnn_conv_weight_row_words(&s))),
        transform(rng, s.out_c, static_cast<int32_t>(s.kernel_h * s.kernel_w * s.in_c / s.groups)) {
    if (!bnn_conv_shape_valid(&s)) abort();
    ClearPadding(input, static_cast<size_t>(s.batch) * s.in_h * s.in_w, s.in_c);
    ClearPadding(weights, static_cast<size_t>(s.out_c) * s.kernel_h * s.kernel_w,
                 s.in_c / s.groups);
  }
};

const ConvData& GetConvData(const Stage& st) {
  static std::map<std::string, std::unique_ptr<ConvData>> cache;
  auto& slot = cache[st.name];
  if (!slot) slot.reset(new ConvData(Conv3x3(st), std::mt19937(st.channels)));
  return *slot;
}

double ConvMacs(const bnn_conv_shape& s) {
  return static_cast<double>(s.batch) * bnn_conv_out_h(&s) * bnn_conv_out_w(&s) * s.out_c *
         s.kernel_h * s.kernel_w * (s.in_c / s.groups);
}

void BM_Conv(benchmark::State& state, const bnn_kernel_table* k, Stage st, bnn_output_type type) {
  const ConvData& data = GetConvData(st);
  const bnn_conv_shape& s = data.shape;
  // Weights packed once, outside the timed loop, as the runtime does at load.
  const size_t weight_bytes = k->bconv2d_weights_size(&s);
  AlignedPtr weights;
  if (weight_bytes == 0) {  // reads canonical weights in place (the reference)
    weights = AlignedAlloc(data.weights.size() * sizeof(bnn_word));
    memcpy(weights.get(), data.weights.data(), data.weights.size() * sizeof(bnn_word));
  } else {
    weights = AlignedAlloc(weight_bytes);
    k->bconv2d_pack_weights(&s, data.weights.data(), weights.get());
  }
  AlignedPtr scratch = AlignedAlloc(k->bconv2d_scratch_size(&s));
  const size_t out_bytes = static_cast<size_t>(s.batch) * bnn_conv_out_h(&s) *
                           bnn_conv_out_w(&s) * bnn_output_row_bytes(type, s.out_c);
  AlignedPtr output = AlignedAlloc(out_bytes);
  const bnn_output_transform t = data.transform.Make(type);

  for (auto _ : state) {
    k->bconv2d(&s, data.input.data(), weights.get(), &t, output.get(), scratch.get());
    benchmark::DoNotOptimize(output.get());
    benchmark::ClobberMemory();
  }
  SetMacCounters(state, ConvMacs(s));
}

// ---------------------------------------------------------------------------
// Binary GEMM (fully connected)

struct GemmCase {
  const char* name;  // MxKxN
  bnn_gemm_shape shape;
  bnn_output_type type;
};
const GemmCase kGemms[] = {
    {"1x512x1000", {1, 1000, 512}, BNN_OUTPUT_F32},     // ResNet-18's classifier (logits)
    {"1x4096x4096", {1, 4096, 4096}, BNN_OUTPUT_BITS},  // a binary hidden layer
};

void BM_Gemm(benchmark::State& state, const bnn_kernel_table* k, GemmCase gc) {
  const bnn_gemm_shape& s = gc.shape;
  std::mt19937 rng(s.k + s.n);
  std::vector<bnn_word> a = RandomWords(rng, s.m * bnn_words(s.k));
  std::vector<bnn_word> canonical = RandomWords(rng, s.n * bnn_words(s.k));
  ClearPadding(a, s.m, s.k);
  ClearPadding(canonical, s.n, s.k);
  const TransformData td(rng, s.n, static_cast<int32_t>(s.k));
  const size_t weight_bytes = k->bgemm_weights_size(&s);
  AlignedPtr weights;
  if (weight_bytes == 0) {
    weights = AlignedAlloc(canonical.size() * sizeof(bnn_word));
    memcpy(weights.get(), canonical.data(), canonical.size() * sizeof(bnn_word));
  } else {
    weights = AlignedAlloc(weight_bytes);
    k->bgemm_pack_weights(&s, canonical.data(), weights.get());
  }
  AlignedPtr output = AlignedAlloc(s.m * bnn_output_row_bytes(gc.type, s.n));
  const bnn_output_transform t = td.Make(gc.type);

  for (auto _ : state) {
    k->bgemm(&s, a.data(), weights.get(), &t, output.get());
    benchmark::DoNotOptimize(output.get());
    benchmark::ClobberMemory();
  }
  SetMacCounters(state, static_cast<double>(s.m) * s.n * s.k);
}

// ---------------------------------------------------------------------------
// Bit-packing of a float activation (the first stage's input size)

void BM_BitpackF32(benchmark::State& state, const bnn_kernel_table* k, Stage st) {
  const size_t rows = static_cast<size_t>(st.hw) * st.hw, channels = st.channels;
  std::mt19937 rng(7);
  std::normal_distribution<float> dist;
  std::vector<float> in(rows * channels);
  for (auto& x : in) x = dist(rng);
  std::vector<bnn_word> out(rows * bnn_words(channels));
  for (auto _ : state) {
    k->bitpack_f32(in.data(), rows, channels, nullptr, out.data());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  const double elements = static_cast<double>(rows) * channels;
  state.counters["Gfloat_per_s"] =
      benchmark::Counter(elements * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * elements));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * elements * sizeof(float)));
}

// ---------------------------------------------------------------------------
// Float convolution (the real-valued first layer)

struct FConvCase {
  const char* name;
  bnn_conv_shape shape;
};

bnn_conv_shape FloatStem() {
  bnn_conv_shape s;
  memset(&s, 0, sizeof(s));
  s.batch = 1;
  s.in_h = s.in_w = 224;
  s.in_c = 3;
  s.out_c = 64;
  s.kernel_h = s.kernel_w = 7;
  s.stride_h = s.stride_w = 2;
  s.dilation_h = s.dilation_w = 1;
  s.groups = 1;
  s.pad_top = s.pad_left = s.pad_bottom = s.pad_right = 3;  // PyTorch's padding=3: 112x112
  return s;
}

void BM_FConv(benchmark::State& state, const bnn_kernel_table* k, FConvCase fc) {
  const bnn_conv_shape& s = fc.shape;
  if (!bnn_fconv_shape_valid(&s)) abort();
  std::mt19937 rng(17);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> input(static_cast<size_t>(s.batch) * s.in_h * s.in_w * s.in_c);
  std::vector<float> canonical(static_cast<size_t>(s.out_c) * s.kernel_h * s.kernel_w *
                               (s.in_c / s.groups));
  std::vector<float> bias(s.out_c);
  for (auto& x : input) x = dist(rng);
  for (auto& x : canonical) x = dist(rng) * 0.1f;
  for (auto& x : bias) x = dist(rng);
  const size_t weight_bytes = k->fconv2d_weights_size(&s);
  AlignedPtr weights;
  if (weight_bytes == 0) {  // canonical weights in place (the reference)
    weights = AlignedAlloc(canonical.size() * sizeof(float));
    memcpy(weights.get(), canonical.data(), canonical.size() * sizeof(float));
  } else {
    weights = AlignedAlloc(weight_bytes);
    k->fconv2d_pack_weights(&s, canonical.data(), weights.get());
  }
  AlignedPtr scratch = AlignedAlloc(k->fconv2d_scratch_size(&s));
  AlignedPtr output = AlignedAlloc(static_cast<size_t>(s.batch) * bnn_conv_out_h(&s) *
                                   bnn_conv_out_w(&s) * s.out_c * sizeof(float));
  for (auto _ : state) {
    k->fconv2d(&s, input.data(), weights.get(), bias.data(), 0.0f, INFINITY,
               static_cast<float*>(output.get()), scratch.get());
    benchmark::DoNotOptimize(output.get());
    benchmark::ClobberMemory();
  }
  const double macs = ConvMacs(s);
  state.counters["MACs"] = benchmark::Counter(macs);
  state.counters["GMAC_per_s"] =
      benchmark::Counter(macs * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * macs));
}

// ---------------------------------------------------------------------------
// The popcount ceiling

#if BNN_BENCH_HAVE_CEILING
constexpr size_t kCeilingWords = 8192 / sizeof(uint64_t);  // 8 KiB per operand
constexpr size_t kCeilingPasses = 64;                        // per iteration

void BM_Ceiling(benchmark::State& state, bnn_bench::CeilingKernel kernel) {
  AlignedPtr a = AlignedAlloc(kCeilingWords * sizeof(uint64_t));
  AlignedPtr b = AlignedAlloc(kCeilingWords * sizeof(uint64_t));
  std::mt19937_64 rng(3);
  uint64_t* pa = static_cast<uint64_t*>(a.get());
  uint64_t* pb = static_cast<uint64_t*>(b.get());
  for (size_t i = 0; i < kCeilingWords; ++i) {
    pa[i] = rng();
    pb[i] = rng();
  }
  uint64_t total = 0;
  for (auto _ : state) {
    total += kernel.xor_popcount(pa, pb, kCeilingWords, kCeilingPasses);
    benchmark::DoNotOptimize(total);
  }
  SetMacCounters(state, 64.0 * kCeilingWords * kCeilingPasses);
}

// The convolution's own loop shape on L1 data: 4 rows of 256 words, each word
// broadcast against a [256][lanes] weight block (16 KiB on AVX-512).
constexpr size_t kBroadcastWords = 256;
constexpr size_t kBroadcastPasses = 16;

void BM_BroadcastCeiling(benchmark::State& state, bnn_bench::CeilingKernel kernel) {
  const size_t lanes = kernel.u32_lanes;
  AlignedPtr rows = AlignedAlloc(4 * kBroadcastWords * sizeof(uint32_t));
  AlignedPtr w = AlignedAlloc(kBroadcastWords * lanes * sizeof(uint32_t));
  std::mt19937 rng(5);
  uint32_t* pr = static_cast<uint32_t*>(rows.get());
  uint32_t* pw = static_cast<uint32_t*>(w.get());
  for (size_t i = 0; i < 4 * kBroadcastWords; ++i) pr[i] = rng();
  for (size_t i = 0; i < kBroadcastWords * lanes; ++i) pw[i] = rng();
  uint64_t total = 0;
  for (auto _ : state) {
    total += kernel.broadcast_popcount(pr, pw, kBroadcastWords, kBroadcastPasses);
    benchmark::DoNotOptimize(total);
  }
  SetMacCounters(state, 4.0 * kBroadcastWords * lanes * 32 * kBroadcastPasses);
}
#endif

std::string Name(const char* op, const char* shape, const char* target) {
  std::string n = op;
  if (shape) n = n + "/" + shape;
  return n + "/" + target;
}

void RegisterAll() {
  const bnn_kernel_table* tables[32];
  size_t n = bnn_kernels_all(tables, 32);
  if (n > 32) n = 32;

  // The ceiling first: the yardstick for everything after it.
#if BNN_BENCH_HAVE_CEILING
  for (const bnn_bench::CeilingKernel& c : bnn_bench::CeilingKernels()) {
    benchmark::RegisterBenchmark(Name("popcount_ceiling", nullptr, c.name).c_str(), BM_Ceiling, c)
        ->Unit(benchmark::kMicrosecond);
  }
  for (const bnn_bench::CeilingKernel& c : bnn_bench::CeilingKernels()) {
    benchmark::RegisterBenchmark(Name("popcount_broadcast", nullptr, c.name).c_str(),
                                 BM_BroadcastCeiling, c)
        ->Unit(benchmark::kMicrosecond);
  }
#endif
  for (const Stage& st : kStages) {
    for (size_t i = 0; i < n; ++i) {
      const bnn_kernel_table* k = tables[i];
      benchmark::RegisterBenchmark(Name("bconv3x3", st.name, k->name).c_str(), BM_Conv, k, st,
                                   BNN_OUTPUT_BITS)
          ->Unit(benchmark::kMillisecond);
    }
  }
  for (size_t i = 0; i < n; ++i) {
    const bnn_kernel_table* k = tables[i];
    benchmark::RegisterBenchmark(Name("bconv3x3_f32", kStages[0].name, k->name).c_str(), BM_Conv,
                                 k, kStages[0], BNN_OUTPUT_F32)
        ->Unit(benchmark::kMillisecond);
  }
  for (const GemmCase& gc : kGemms) {
    for (size_t i = 0; i < n; ++i) {
      const bnn_kernel_table* k = tables[i];
      benchmark::RegisterBenchmark(Name("bgemm", gc.name, k->name).c_str(), BM_Gemm, k, gc)
          ->Unit(benchmark::kMicrosecond);
    }
  }
  for (size_t i = 0; i < n; ++i) {
    const bnn_kernel_table* k = tables[i];
    benchmark::RegisterBenchmark(Name("bitpack_f32", kStages[0].name, k->name).c_str(),
                                 BM_BitpackF32, k, kStages[0])
        ->Unit(benchmark::kMicrosecond);
  }

  const FConvCase stem = {"7x7s2_224x224x3->64", FloatStem()};
  for (size_t i = 0; i < n; ++i) {
    const bnn_kernel_table* k = tables[i];
    benchmark::RegisterBenchmark(Name("fconv", stem.name, k->name).c_str(), BM_FConv, k, stem)
        ->Unit(benchmark::kMillisecond);
  }

  std::string names;
  for (size_t i = 0; i < n; ++i) names += std::string(i ? "," : "") + tables[i]->name;
  benchmark::AddCustomContext("bnn_kernel_tables", names);
  benchmark::AddCustomContext("bnn_best_table", bnn_kernels_best()->name);
#ifdef __VERSION__
  benchmark::AddCustomContext("bnn_compiler", __VERSION__);
#endif
#if BNN_BENCH_HAVE_CEILING
  benchmark::AddCustomContext("bnn_highway_version", std::to_string(HWY_MAJOR) + "." +
                                                         std::to_string(HWY_MINOR) + "." +
                                                         std::to_string(HWY_PATCH));
#endif
}

}  // namespace

int main(int argc, char** argv) {
  RegisterAll();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
