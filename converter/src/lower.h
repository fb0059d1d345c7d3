// Turns the IR, after RunPasses, into a .bnn model: 4-D tensors become NHWC,
// bnn.* nodes become the binary operators, everything else the runtime's
// float operators. Nodes nothing can run are listed together in the error.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "bnn/model_builder.hpp"
#include "calibrate.h"
#include "ir.h"

namespace bnnc {

struct ModelInfo {
  std::string name, description;
  bnn::fb::Task task = bnn::fb::Task::OTHER;
  std::vector<float> mean, std;  // normalisation metadata (pixel/255 - mean) / std
  // --input-u8: the image input takes 8-bit NHWC pixels in this format and
  // the model normalises them itself (a NORMALIZE operator first).
  bnn::fb::PixelFormat input_pixels = bnn::fb::PixelFormat::NONE;
  std::vector<std::string> labels;
  std::vector<std::string> output_meaning;  // one per graph output
  // Detectors (--task detector): decoding scheme, anchors (cx, cy, w, h;
  // YOLO-style anchors have cx = cy = 0), strides and thresholds.
  std::string decoding;
  std::vector<std::vector<float>> anchors;
  std::vector<int32_t> strides;
  float score_threshold = 0.25f, iou_threshold = 0.45f;
  int32_t landmarks = 0;  // points per box ("yolo-landmarks")
  // Embedders (--task embedder): the calibrated cosine match threshold.
  std::optional<float> match_threshold;
};

struct LowerOptions {
  // Float Conv nodes to run in int8 (QUANTIZE, then the int8 convolution),
  // with the calibrated statistics of their inputs.
  std::set<std::string> int8_layers;
  std::map<std::string, TensorStats> stats;
};

bool Lower(const Graph& graph, const ModelInfo& info, bnn::ModelBuilder* builder, std::string* error,
           const LowerOptions& options = LowerOptions());

// ONNX ops (and bnn.* ops of the passes) Lower accepts, for the docs and
// the conformance tests.
const std::vector<std::string>& LoweredOps();

}  // namespace bnnc
