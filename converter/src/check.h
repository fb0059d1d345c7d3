// bnn-convert --check: the same inputs through the ONNX graph (the
// converter's float interpreter) and through the converted model.
#pragma once

#include <stdint.h>

#include <string>

#include "bnn/bnn.hpp"
#include "ir.h"

namespace bnnc {

struct CheckResult {
  std::string reference;      // what computed the expected outputs
  int64_t items = 0;
  double max_difference = 0;  // largest |onnx - bnn| over every output element
  std::string worst_output;
  int64_t top1_agree = 0;     // items whose first output has the same argmax
  double agreement_percent() const { return items ? 100.0 * double(top1_agree) / double(items) : 0.0; }
};

// `npy_path`: float32, the model's single input in ONNX layout (normalised, also
// for a model with a pixel input: each value is turned back into its pixel), with a batch
// axis (or without one for a single item).
// The reference is OpenCV DNN reading `onnx_path` (an implementation
// independent of both the runtime and the converter's importer) where it can
// run the model, else the converter's own float interpreter on `reference`;
// result->reference says which, and why OpenCV could not.
bool CheckModel(const Graph& reference, const std::string& onnx_path, const bnn::Model& model,
                const std::string& npy_path, CheckResult* result, std::string* error);

}  // namespace bnnc
