// Calibration: activation statistics from a batch of real inputs, and the
// two modes that use them: int8 first/last convolutions (--int8) and
// post-training binarisation of a float model (--binarize).
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "ir.h"
#include "passes.h"

namespace bnnc {

struct TensorStats {
  float min = 0, max = 0;
  double mean = 0;
  double mean_abs_deviation = 0;  // mean |x - mean|
};

// Runs every item of `batch` ([B, ...] for a model input [1, ...]) through
// `graph` (shapes inferred) and records each tensor's range, mean and mean
// absolute deviation (two passes).
bool CollectStats(const Graph& graph, const Value& batch, std::map<std::string, TensorStats>* stats,
                  std::string* error);

// Post-training binarisation (XNOR-Net): the chosen float Conv/Gemm layers
// (`layers` = {"all"}: every one except the first and the last) get weights
// sign(W) * mean|W| per output channel and a binarised input
// x ~ mu + beta * sign(x - mu), with mu the calibrated mean and beta the mean
// absolute deviation (a post-ReLU input would otherwise binarise to all +1).
// beta scales the output and mu * sum(W) joins the bias (exact away from
// zero-padded borders). `chosen` receives the layer names.
bool BinarizeLayers(Graph* graph, const std::vector<std::string>& layers,
                    const std::map<std::string, TensorStats>& stats, std::vector<std::string>* chosen,
                    std::string* error);

struct Drift {
  double max_relative = 0;  // largest |float - binarised| / max |float|, first output
  double top1_agree = 0;    // percent
};

// How far `changed` drifts from `original` on the calibration batch.
bool MeasureDrift(const Graph& original, const Graph& changed, const Value& batch, Drift* drift, std::string* error);

// Int8 quantisation of a float convolution's input (asymmetric, from the
// calibrated range) and weights (symmetric per output channel).
struct Int8Input {
  float scale = 1;
  int32_t zero_point = 0;
};
Int8Input QuantizeRange(const TensorStats& s);

// The float Conv layers --int8 converts: the first (reading a graph input)
// and the last (writing a graph output), if they are Conv nodes.
std::set<std::string> Int8Layers(const Graph& graph);

}  // namespace bnnc
