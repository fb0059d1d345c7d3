// The converter's own float interpreter for ONNX operators: it folds
// initializer-only subgraphs, infers every tensor's shape by running the
// graph, and is the float reference of `bnn-convert --check`. Written for
// clarity (double accumulation, plain loops), not speed.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ir.h"

namespace bnnc {

// Whether the interpreter implements `op` (an ONNX op type).
bool CanEvaluate(const std::string& op);

// Runs one node. `in` has one entry per node input (nullptr for an absent
// optional one); `out` receives one value per node output. False with
// `error` set when the node is malformed or unsupported.
bool EvaluateNode(const Node& node, int64_t opset, const std::vector<const Value*>& in, std::vector<Value>* out,
                  std::string* error);

// The explicit padding ([begin..., end...]) and output size of a Conv or
// pooling window over input `x` (NCHW) after auto_pad, strides, dilations and
// ceil_mode; false with `error` for inconsistent attributes.
bool ResolveWindow(const Node& node, const std::vector<int64_t>& x, const std::vector<int64_t>& kernel,
                   bool ceil_mode, std::vector<int64_t>* pads, std::vector<int64_t>* out_spatial, std::string* error);

// Runs the whole graph from `inputs` (by graph input name); `values` receives
// every tensor, constants included.
bool RunGraph(const Graph& graph, const std::map<std::string, Value>& inputs, std::map<std::string, Value>* values,
              std::string* error);

}  // namespace bnnc
