// libFuzzer over bnn-convert's pipeline: ONNX import, shape inference by
// interpretation, the graph passes and lowering. Any input must end in a
// model or an error message; the converted model must load in the runtime.
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <string>
#include <vector>

#include "bnn/bnn.hpp"
#include "evaluator.h"
#include "lower.h"
#include "onnx_import.h"
#include "passes.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  bnnc::SetElementLimit(1 << 18);  // small tensors keep every run fast
  bnnc::Graph g;
  std::string error;
  if (!bnnc::ImportOnnxBytes(std::string(reinterpret_cast<const char*>(data), size), &g, &error)) {
    if (error.empty()) __builtin_trap();
    return 0;
  }
  bnnc::PassOptions options;
  bnnc::PassLog log;
  if (!bnnc::RunPasses(&g, options, &log, &error)) {
    if (error.empty()) __builtin_trap();
    return 0;
  }
  bnn::ModelBuilder b;
  if (!bnnc::Lower(g, bnnc::ModelInfo(), &b, &error)) {
    if (error.empty()) __builtin_trap();
    return 0;
  }
  const std::vector<uint8_t> bytes = b.Finish();
  static std::vector<uint8_t> storage;
  storage.assign(bytes.size() + 64, 0);
  uint8_t* aligned = storage.data() + (64 - reinterpret_cast<uintptr_t>(storage.data()) % 64) % 64;
  memcpy(aligned, bytes.data(), bytes.size());
  // bnn-convert loads every model it converts before writing it (and refuses
  // with the loader's message); here the load must end cleanly either way.
  bnn::Model model;
  if (bnn::Model::Load(aligned, bytes.size(), &model) != BNN_OK && !*bnn_last_load_error()) __builtin_trap();
  return 0;
}
