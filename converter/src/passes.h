// Graph passes over the IR, run in this order by RunPasses (each is exposed
// for its own tests). A pass returns false with `error` set only for input it
// cannot handle; otherwise it leaves what it does not recognise alone.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ir.h"

namespace bnnc {

struct PassOptions {
  // Shapes for graph inputs whose declared shape has dynamic dimensions.
  std::map<std::string, std::vector<int64_t>> input_shapes;
};

struct PassLog {
  std::vector<std::string> notes;  // what each pass did, for --verbose
  std::vector<std::string> warnings;
};

// Fixes the input shapes and runs the graph once on zeros with the float
// interpreter, recording every tensor's shape in graph->shapes.
bool InferShapes(Graph* graph, const PassOptions& options, std::string* error);
// Replaces every node whose inputs are all constants (and Shape nodes of
// known shapes) by its value.
bool FoldConstants(Graph* graph, PassLog* log, std::string* error);
// Identity, Dropout and same-type Cast forward their input.
void RemoveIdentities(Graph* graph, PassLog* log);
// The straight-through-estimator family `f.detach() - g.detach() + g`
// exports as Add(Sub(F, G), G) (or Add(G, Sub(F, G))): the value is F.
void StripSteResidue(Graph* graph, PassLog* log);
// Sign(Clip(x, lo < 0 < hi)) and Sign(Sign(x)) are Sign(x).
void SimplifySigns(Graph* graph, PassLog* log);
// Sign -> Flatten/Reshape becomes Flatten/Reshape -> Sign, so binary
// fully-connected layers see their packed input directly.
void MoveSignsPastReshapes(Graph* graph, PassLog* log);
// Sign(x + c) and Sign(x - c) with a per-channel constant c become
// bnn.Sign(x, thresholds) (ReActNet's RSign); plain Sign becomes bnn.Sign(x).
void FuseSignThresholds(Graph* graph, PassLog* log);
// Float Conv/Gemm followed by BatchNormalization or per-channel Mul/Add:
// folded into the weights and bias.
void FoldAffineIntoFloatLayers(Graph* graph, PassLog* log);
// Conv/Gemm/MatMul on a bnn.Sign output with weights +/-alpha per output
// channel become bnn.BinaryConv / bnn.BinaryGemm with a per-channel output
// transform (multiplier, bias) that absorbs the scale, bias, BatchNorm and
// per-channel Mul/Add/Sub/Div after it, and a ReLU/Clip as the clamp.
// A binary-input layer whose weights are not binary is an error.
bool FuseBinaryLayers(Graph* graph, PassLog* log, std::string* error);
// A binary layer whose only readers are bnn.Sign nodes with the same
// thresholds writes packed bits directly: integer thresholds per channel,
// exact for the runtime's float transform.
void FuseBitsOutputs(Graph* graph, PassLog* log);
// Removes nodes whose outputs nothing reads, and unused constants.
void RemoveDeadNodes(Graph* graph);

// All of the above in order.
bool RunPasses(Graph* graph, const PassOptions& options, PassLog* log, std::string* error);

// Per-channel values of a constant that broadcasts along axis 1 of a tensor
// of rank `rank` with `channels` channels (shapes [C], [1,C,1,1], [C,1,1],
// scalars...); false if it varies along any other axis.
bool PerChannel(const Value& v, size_t rank, int64_t channels, std::vector<double>* out);

// Integer thresholds for a binary layer's packed output: channel bit is
// sign(clamp(float(acc) * m + b) - t) < 0 for acc in [-k, k], written as the
// kernels' (threshold, direction) pair. Exact for the runtime's rounding.
void BitsThreshold(float m, float b, float lo, float hi, float t, int32_t k, int32_t* threshold, int32_t* direction);

}  // namespace bnnc
