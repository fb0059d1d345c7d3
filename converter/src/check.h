// bnn-convert --check: the same inputs through the ONNX graph (the
// converter's float interpreter) and through the converted model.
#pragma once

#include <stdint.h>

#include <string>

#include "bnn/bnn.hpp"
#include "ir.h"

namespace bnnc {

struct CheckResult {
  int64_t items = 0;
  double max_difference = 0;  // largest |onnx - bnn| over every output element
  std::string worst_output;
  int64_t top1_agree = 0;     // items whose first output has the same argmax
  double agreement_percent() const { return items ? 100.0 * double(top1_agree) / double(items) : 0.0; }
};

// `npy_path`: float32, the model's single input in ONNX layout (normalised, also
// for a model with a pixel input: each value is turned back into its pixel), with a batch
// axis (or without one for a single item).
bool CheckModel(const Graph& reference, const bnn::Model& model, const std::string& npy_path, CheckResult* result,
                std::string* error);

}  // namespace bnnc
