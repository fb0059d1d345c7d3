// bnn-benchmark MODEL.bnn: median latency over repeated runs after warm-up,
// a per-layer profile, peak arena and weight memory, and the kernels in use.
// Inputs are deterministic pseudo-random values (latency does not depend on them).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "bnn/bnn.h"

namespace {

const char kUsage[] =
    "usage: bnn-benchmark MODEL.bnn [--runs N] [--warmup N] [--force-reference] [--no-profile]\n"
    "                     [--layer-by-layer] [--no-fusion]\n"
    "Prints the median latency over N runs (default 50, after 5 warm-up runs), the\n"
    "per-operator profile, peak arena and weight memory, and the kernels in use.\n"
    "It runs with the runtime's defaults (patch-based inference where it lowers the\n"
    "arena, residual fusion); the arena is given for both execution modes.\n"
    "--layer-by-layer runs every intermediate tensor whole (options.patch_based = -1);\n"
    "--no-fusion runs every operator as the model lists it (no residual fusion).\n";

double Now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

int Fail(const std::string& message) {
  fprintf(stderr, "bnn-benchmark: %s\n", message.c_str());
  return 1;
}

bool ParseCount(const char* s, int* out) {
  char* end = nullptr;
  const long v = strtol(s, &end, 10);
  if (!*s || *end || v < 0 || v > 1000000) return false;
  *out = static_cast<int>(v);
  return true;
}

// The same pseudo-random inputs for every interpreter: run time depends on
// the data (signs, sparsity), so the profile must see what the timed runs saw.
void FillInputs(const bnn_model* model, bnn_interpreter* it) {
  std::mt19937 rng(1);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (int i = 0; i < bnn_model_input_count(model); ++i) {
    bnn_tensor_info t;
    bnn_model_input_info(model, i, &t);
    uint8_t* data = static_cast<uint8_t*>(bnn_interpreter_input(it, i));
    if (t.dtype == BNN_DTYPE_F32)
      for (size_t k = 0; k < t.bytes / 4; ++k) reinterpret_cast<float*>(data)[k] = normal(rng);
    else
      for (size_t k = 0; k < t.bytes; ++k) data[k] = static_cast<uint8_t>(rng());
  }
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  std::string path;
  int runs = 50, warmup = 5;
  bool force_reference = false, profile = true, layer_by_layer = false, no_fusion = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      fputs(kUsage, stdout);
      return 0;
    } else if (a == "--runs" && i + 1 < argc) {
      if (!ParseCount(argv[++i], &runs) || runs < 1) return Fail("--runs takes a count of at least 1");
    } else if (a == "--warmup" && i + 1 < argc) {
      if (!ParseCount(argv[++i], &warmup)) return Fail("--warmup takes a count");
    } else if (a == "--force-reference") {
      force_reference = true;
    } else if (a == "--no-profile") {
      profile = false;
    } else if (a == "--layer-by-layer") {
      layer_by_layer = true;
    } else if (a == "--no-fusion") {
      no_fusion = true;
    } else if (!a.empty() && a[0] != '-' && path.empty()) {
      path = a;
    } else {
      fputs(kUsage, stderr);
      return Fail("unexpected argument '" + a + "'");
    }
  }
  if (path.empty()) {
    fputs(kUsage, stderr);
    return 2;
  }
  bnn_model* model = nullptr;
  if (bnn_model_load_file(path.c_str(), &model) != BNN_OK) return Fail(bnn_last_load_error());
  bnn_interpreter_options options = bnn_interpreter_default_options();
  options.force_reference = force_reference;
  options.patch_based = layer_by_layer ? -1 : 0;
  options.no_fusion = no_fusion;
  bnn_interpreter* it = nullptr;
  if (bnn_interpreter_create(model, &options, &it) != BNN_OK) {
    bnn_model_free(model);
    return Fail(bnn_last_load_error());
  }
  FillInputs(model, it);

  for (int i = 0; i < warmup; ++i) bnn_interpreter_invoke(it);
  std::vector<double> latency;
  for (int i = 0; i < runs; ++i) {
    const double t0 = Now();
    bnn_interpreter_invoke(it);
    latency.push_back(Now() - t0);
  }
  const double median = Median(latency);
  const double lo = *std::min_element(latency.begin(), latency.end());
  const double hi = *std::max_element(latency.begin(), latency.end());

  printf("model:          %s (%s)\n", path.c_str(), bnn_model_name(model));
  if (*bnn_model_description(model)) printf("description:    %s\n", bnn_model_description(model));
  printf("kernels:        %s\n", bnn_interpreter_kernels(it));
  printf("latency:        %.3f ms median over %d runs (min %.3f, max %.3f), one core\n", median * 1e3, runs,
         lo * 1e3, hi * 1e3);
  printf("weights:        %zu bytes in the file, %zu bytes re-packed for these kernels\n",
         bnn_model_weights_bytes(model), bnn_interpreter_packed_weights_bytes(it));
  bnn_patch_info chosen;
  printf("arena:          %zu bytes (peak of all intermediate tensors and scratch), %s\n",
         bnn_interpreter_arena_bytes(it), bnn_interpreter_patch_info(it, &chosen) ? "patch-based" : "layer by layer");
  // Both peaks: the plan of the other execution mode, from a second interpreter.
  bnn_interpreter_options patched = options;
  patched.patch_based = 1;
  bnn_interpreter* pit = nullptr;
  bnn_patch_info info;
  if (bnn_interpreter_create(model, &patched, &pit) == BNN_OK) {
    if (bnn_interpreter_patch_info(pit, &info))
      printf("arena peaks:    %zu bytes layer by layer, %zu patch-based (operators %d-%d in %d bands of %d rows, "
             "%.1f%% more MACs there)\n",
             info.layer_arena_bytes, bnn_interpreter_arena_bytes(pit), info.first_op, info.last_op, info.bands,
             info.band_rows, (info.recompute - 1.0) * 100.0);
    else
      printf("arena peaks:    %zu bytes layer by layer; patch-based execution would not lower it\n",
             info.layer_arena_bytes);
    bnn_interpreter_free(pit);
  }

  if (profile) {
    // Profiled runs separately, so the timing calls do not touch the latency above.
    bnn_interpreter_free(it);
    options.profile = 1;
    if (bnn_interpreter_create(model, &options, &it) != BNN_OK) {
      bnn_model_free(model);
      return Fail(bnn_last_load_error());
    }
    FillInputs(model, it);
    const int n = bnn_interpreter_op_count(it);
    std::vector<std::vector<double>> per_op(static_cast<size_t>(n));
    const int profile_runs = std::min(runs, 20);
    for (int r = 0; r < warmup + profile_runs; ++r) {
      bnn_interpreter_invoke(it);
      if (r < warmup) continue;
      for (int i = 0; i < n; ++i) {
        bnn_op_profile p;
        bnn_interpreter_op_profile(it, i, &p);
        per_op[static_cast<size_t>(i)].push_back(p.seconds);
      }
    }
    double total = 0;
    std::vector<double> med(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) total += med[static_cast<size_t>(i)] = Median(per_op[static_cast<size_t>(i)]);
    printf("\nper-operator profile (median of %d runs):\n", profile_runs);
    printf("  %3s  %-18s %-28s %9s %7s %12s\n", "#", "type", "name", "ms", "share", "G(b)MAC/s");
    for (int i = 0; i < n; ++i) {
      bnn_op_profile p;
      bnn_interpreter_op_profile(it, i, &p);
      const double s = med[static_cast<size_t>(i)];
      char rate[32] = "";
      if (p.macs > 0 && s > 0) snprintf(rate, sizeof rate, "%.1f", p.macs / s / 1e9);
      printf("  %3d  %-18s %-28.28s %9.4f %6.1f%% %12s\n", i, p.type, p.name, s * 1e3,
             total > 0 ? 100.0 * s / total : 0.0, rate);
    }
  }
  bnn_interpreter_free(it);
  bnn_model_free(model);
  return 0;
}
