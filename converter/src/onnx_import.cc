#include "onnx_import.h"

#include <string.h>

#include <fstream>
#include <set>
#include <sstream>

#include "onnx/onnx_pb.h"

namespace bnnc {
namespace {

// Element count of `dims`, or -1 if a dimension is negative or the count
// is over the converter's limit (ir.h).
int64_t CheckedCount(const std::vector<int64_t>& dims) {
  if (ExceedsElementLimit(dims)) return -1;
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

template <class T>
bool ReadRaw(const std::string& raw, int64_t n, std::vector<T>* out) {
  if (raw.size() != size_t(n) * sizeof(T)) return false;
  out->resize(n);
  if (n) memcpy(out->data(), raw.data(), raw.size());  // ONNX raw data is little-endian, as is every target
  return true;
}

float HalfToFloat(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000) << 16;
  int32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ff, bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      exp = 1;
      while (!(mant & 0x400)) { mant <<= 1; --exp; }
      mant &= 0x3ff;
      bits = sign | uint32_t(exp + 112) << 23 | (mant << 13);
    }
  } else {
    bits = sign | uint32_t(exp + 112) << 23 | (mant << 13);
  }
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

bool ConvertTensor(const onnx::TensorProto& t, Value* v, std::string* error) {
  const std::string what = "tensor '" + t.name() + "'";
  if (t.data_location() == onnx::TensorProto::EXTERNAL || t.external_data_size() > 0) {
    *error = what + " keeps its data in an external file, which is not supported (save the model with all "
                    "tensors inside the .onnx file)";
    return false;
  }
  std::vector<int64_t> dims(t.dims().begin(), t.dims().end());
  const int64_t n = CheckedCount(dims);
  if (n < 0) {
    *error = what + " has an invalid shape " + ShapeString(dims);
    return false;
  }
  v->shape = dims;
  const bool raw = t.has_raw_data();
  bool ok = true;
  auto ints = [&](auto&& field) {
    v->type = DType::I64;
    v->i.assign(field.begin(), field.end());
  };
  switch (t.data_type()) {
    case onnx::TensorProto::FLOAT:
      v->type = DType::F32;
      if (raw) ok = ReadRaw(t.raw_data(), n, &v->f);
      else v->f.assign(t.float_data().begin(), t.float_data().end());
      break;
    case onnx::TensorProto::DOUBLE: {
      v->type = DType::F32;
      std::vector<double> d;
      if (raw) ok = ReadRaw(t.raw_data(), n, &d);
      else d.assign(t.double_data().begin(), t.double_data().end());
      v->f.assign(d.begin(), d.end());
      break;
    }
    case onnx::TensorProto::FLOAT16: {
      v->type = DType::F32;
      std::vector<uint16_t> h;
      if (raw) ok = ReadRaw(t.raw_data(), n, &h);
      else for (int32_t x : t.int32_data()) h.push_back(uint16_t(x));
      for (uint16_t x : h) v->f.push_back(HalfToFloat(x));
      break;
    }
    case onnx::TensorProto::INT64:
      if (raw) { v->type = DType::I64; ok = ReadRaw(t.raw_data(), n, &v->i); }
      else ints(t.int64_data());
      break;
    case onnx::TensorProto::INT32: case onnx::TensorProto::INT16: case onnx::TensorProto::INT8:
    case onnx::TensorProto::UINT8: case onnx::TensorProto::UINT16: case onnx::TensorProto::BOOL: {
      if (!raw) { ints(t.int32_data()); break; }
      v->type = DType::I64;
      const int type = t.data_type();
      const size_t size = type == onnx::TensorProto::INT32 ? 4 : (type == onnx::TensorProto::INT16 || type == onnx::TensorProto::UINT16) ? 2 : 1;
      if (t.raw_data().size() != size_t(n) * size) { ok = false; break; }
      const char* p = t.raw_data().data();
      for (int64_t k = 0; k < n; ++k, p += size) {
        int64_t x = 0;
        if (type == onnx::TensorProto::INT32) { int32_t y; memcpy(&y, p, 4); x = y; }
        else if (type == onnx::TensorProto::INT16) { int16_t y; memcpy(&y, p, 2); x = y; }
        else if (type == onnx::TensorProto::UINT16) { uint16_t y; memcpy(&y, p, 2); x = y; }
        else if (type == onnx::TensorProto::INT8) x = int8_t(*p);
        else x = uint8_t(*p);
        v->i.push_back(x);
      }
      break;
    }
    default:
      *error = what + " has element type " + onnx::TensorProto::DataType_Name(onnx::TensorProto::DataType(t.data_type())) +
               ", which the converter does not read";
      return false;
  }
  if (!ok || (v->type == DType::F32 ? int64_t(v->f.size()) : int64_t(v->i.size())) != n) {
    *error = what + " holds a different number of elements than its shape " + ShapeString(dims) + " needs";
    return false;
  }
  return true;
}

bool ConvertAttr(const onnx::AttributeProto& a, Attr* out, std::string* error) {
  switch (a.type()) {
    case onnx::AttributeProto::INT: out->kind = Attr::INT; out->i = a.i(); return true;
    case onnx::AttributeProto::FLOAT: out->kind = Attr::FLOAT; out->f = a.f(); return true;
    case onnx::AttributeProto::INTS: out->kind = Attr::INTS; out->ints.assign(a.ints().begin(), a.ints().end()); return true;
    case onnx::AttributeProto::FLOATS: out->kind = Attr::FLOATS; out->floats.assign(a.floats().begin(), a.floats().end()); return true;
    case onnx::AttributeProto::STRING: out->kind = Attr::STRING; out->s = a.s(); return true;
    case onnx::AttributeProto::TENSOR: out->kind = Attr::TENSOR; return ConvertTensor(a.t(), &out->t, error);
    default:
      *error = "attribute '" + a.name() + "' has a type the converter does not read (graphs, sparse tensors)";
      return false;
  }
}

}  // namespace

bool ImportOnnxBytes(const std::string& bytes, Graph* graph, std::string* error) {
  onnx::ModelProto model;
  if (bytes.empty() || !model.ParseFromString(bytes)) {
    *error = "not a valid ONNX file (the protobuf does not parse)";
    return false;
  }
  if (!model.has_graph()) {
    *error = "the ONNX model has no graph";
    return false;
  }
  *graph = Graph();
  graph->producer = model.producer_name() + (model.producer_version().empty() ? "" : " " + model.producer_version());
  for (const auto& o : model.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx") graph->opset = o.version();
  if (graph->opset == 0 && model.opset_import_size() == 0) graph->opset = 1;  // ONNX: missing means 1
  if (graph->opset < kMinOpset || graph->opset > kMaxOpset) {
    *error = "the model uses ONNX opset " + std::to_string(graph->opset) + "; bnn-convert supports opsets " +
             std::to_string(kMinOpset) + " to " + std::to_string(kMaxOpset) +
             " (re-export with torch.onnx.export(..., opset_version=13))";
    return false;
  }
  const onnx::GraphProto& g = model.graph();
  std::set<std::string> known;
  for (const auto& t : g.initializer()) {
    Value v;
    if (!ConvertTensor(t, &v, error)) return false;
    graph->constants[t.name()] = std::move(v);
    known.insert(t.name());
  }
  for (const auto& in : g.input()) {
    if (graph->IsConstant(in.name())) continue;  // old exporters list initializers as inputs
    if (!in.type().has_tensor_type()) {
      *error = "graph input '" + in.name() + "' is not a tensor";
      return false;
    }
    if (!in.type().tensor_type().has_shape()) {
      *error = "graph input '" + in.name() + "' has no shape (not even a rank); re-export with a fixed input shape";
      return false;
    }
    std::vector<int64_t> dims;
    for (const auto& d : in.type().tensor_type().shape().dim()) dims.push_back(d.has_dim_value() ? d.dim_value() : -1);
    if (dims.empty()) {
      *error = "graph input '" + in.name() + "' is a scalar; bnn-convert takes tensor inputs";
      return false;
    }
    const int elem = in.type().tensor_type().elem_type();
    if (elem != onnx::TensorProto::FLOAT) {
      *error = "graph input '" + in.name() + "' has element type " +
               onnx::TensorProto::DataType_Name(onnx::TensorProto::DataType(elem)) +
               "; bnn-convert takes float32 inputs";
      return false;
    }
    graph->inputs.push_back(in.name());
    graph->input_shapes[in.name()] = dims;
    known.insert(in.name());
  }
  int index = 0;
  for (const auto& n : g.node()) {
    Node node;
    node.op = n.op_type();
    node.name = n.name().empty() ? n.op_type() + "_" + std::to_string(index) : n.name();
    ++index;
    if (!n.domain().empty() && n.domain() != "ai.onnx") node.op = n.domain() + "." + n.op_type();
    for (const std::string& i : n.input()) {
      if (!i.empty() && !known.count(i)) {
        *error = node.Describe() + " reads tensor '" + i +
                 "', which no earlier node, input or initializer defines (the graph is not in execution order, "
                 "or the file is damaged)";
        return false;
      }
      node.inputs.push_back(i);
    }
    for (const std::string& o : n.output()) {
      if (!o.empty() && known.count(o)) {
        *error = node.Describe() + " writes tensor '" + o + "', which is already defined";
        return false;
      }
      known.insert(o);
      node.outputs.push_back(o);
    }
    if (node.outputs.empty() || node.outputs[0].empty()) {
      *error = node.Describe() + " has no output";
      return false;
    }
    for (const auto& a : n.attribute()) {
      Attr attr;
      if (!ConvertAttr(a, &attr, error)) {
        *error = node.Describe() + ": " + *error;
        return false;
      }
      node.attrs[a.name()] = std::move(attr);
    }
    graph->nodes.push_back(std::move(node));
  }
  for (const auto& o : g.output()) {
    if (!known.count(o.name())) {
      *error = "graph output '" + o.name() + "' is not produced by any node";
      return false;
    }
    graph->outputs.push_back(o.name());
  }
  if (graph->inputs.empty()) {
    *error = "the graph has no (non-constant) inputs";
    return false;
  }
  if (graph->outputs.empty()) {
    *error = "the graph has no outputs";
    return false;
  }
  return true;
}

bool ImportOnnx(const std::string& path, Graph* graph, std::string* error) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    *error = "cannot open '" + path + "': " + strerror(errno);
    return false;
  }
  std::stringstream ss;
  ss << f.rdbuf();
  if (!ImportOnnxBytes(ss.str(), graph, error)) {
    *error = path + ": " + *error;
    return false;
  }
  return true;
}

}  // namespace bnnc
