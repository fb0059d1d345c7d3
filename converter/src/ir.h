// The converter's intermediate representation: an ONNX graph after import,
// with constants held as values, in ONNX's own layout (NCHW). The passes
// (passes.h) rewrite it; lower.h turns it into a .bnn model.
#pragma once

#include <stdint.h>

#include <map>
#include <string>
#include <vector>

namespace bnnc {

enum class DType { F32, I64 };

// A tensor's value, row-major. Integer tensors (shapes, indices, axes) are
// held as int64; every other element type is converted to float on import.
struct Value {
  DType type = DType::F32;
  std::vector<int64_t> shape;
  std::vector<float> f;
  std::vector<int64_t> i;

  static Value Float(std::vector<int64_t> shape, std::vector<float> data);
  static Value Int(std::vector<int64_t> shape, std::vector<int64_t> data);
  int64_t count() const;
  // Element k as double, whatever the type.
  double at(int64_t k) const { return type == DType::F32 ? double(f[k]) : double(i[k]); }
};

struct Attr {
  enum Kind { INT, FLOAT, INTS, FLOATS, STRING, TENSOR } kind = INT;
  int64_t i = 0;
  float f = 0;
  std::vector<int64_t> ints;
  std::vector<float> floats;
  std::string s;
  Value t;
};

struct Node {
  std::string op;    // ONNX op type, e.g. "Conv"
  std::string name;  // ONNX node name, or "<op>_<index>" when it had none
  std::string origin;  // the ONNX op a bnn.* node was made from (for messages)
  std::vector<std::string> inputs;   // "" for an absent optional input
  std::vector<std::string> outputs;
  std::map<std::string, Attr> attrs;

  bool has(const std::string& a) const { return attrs.count(a) != 0; }
  int64_t Int(const std::string& a, int64_t def) const;
  float Float(const std::string& a, float def) const;
  std::vector<int64_t> Ints(const std::string& a, std::vector<int64_t> def = {}) const;
  std::string String(const std::string& a, const std::string& def) const;
  // "Conv 'conv1'" for messages.
  std::string Describe() const;
};

struct Graph {
  std::vector<Node> nodes;  // in a valid execution order
  std::map<std::string, Value> constants;
  std::vector<std::string> inputs;   // graph inputs that are not constants
  std::vector<std::string> outputs;
  std::map<std::string, std::vector<int64_t>> input_shapes;  // as declared (-1 = dynamic)
  std::map<std::string, std::vector<int64_t>> shapes;  // every tensor, after InferShapes
  int64_t opset = 0;
  std::string producer;

  bool IsConstant(const std::string& t) const { return constants.count(t) != 0; }
  const Value* Constant(const std::string& t) const;
  // Index of the node producing `t`, or -1 (graph input, constant, absent).
  int Producer(const std::string& t) const;
  // Indices of the nodes reading `t`.
  std::vector<int> Consumers(const std::string& t) const;
  bool IsOutput(const std::string& t) const;
  // Renames every use of `from` (node inputs and graph outputs) to `to`.
  void ReplaceUses(const std::string& from, const std::string& to);
};

std::string ShapeString(const std::vector<int64_t>& shape);

// A double from an untrusted tensor as an integer: NaN is 0 and the range is
// clamped to +/-2^62 (a plain conversion of an out-of-range double is
// undefined behaviour).
inline int64_t SaturatingInt(double v) {
  if (!(v == v)) return 0;
  const double limit = 4611686018427387904.0;  // 2^62
  return v >= limit ? int64_t(1) << 62 : v <= -limit ? -(int64_t(1) << 62) : int64_t(v);
}

// The largest tensor (elements) the converter creates: an initializer, a
// graph input it interprets, an interpreted op's result. A damaged or
// hostile model that asks for more gets an error, not an out-of-memory
// abort. 2^28 (1 GiB of floats) by default; the fuzzer lowers it.
int64_t ElementLimit();
void SetElementLimit(int64_t max_elements);

// Whether `dims` has a negative dimension or more elements than the limit.
bool ExceedsElementLimit(const std::vector<int64_t>& dims);

}  // namespace bnnc
