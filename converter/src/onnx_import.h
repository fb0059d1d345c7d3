// Reads an ONNX model file into the IR. Every field is untrusted: a damaged
// or unsupported file gives an error message, never a crash.
#pragma once

#include <string>

#include "ir.h"

namespace bnnc {

// Opsets of the default domain the converter accepts.
constexpr int64_t kMinOpset = 9;
constexpr int64_t kMaxOpset = 17;

bool ImportOnnx(const std::string& path, Graph* graph, std::string* error);
// The same from bytes in memory (the fuzzer and tests).
bool ImportOnnxBytes(const std::string& bytes, Graph* graph, std::string* error);

}  // namespace bnnc
