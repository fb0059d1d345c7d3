#include "ir.h"

#include <algorithm>

namespace bnnc {

Value Value::Float(std::vector<int64_t> shape, std::vector<float> data) {
  Value v;
  v.type = DType::F32;
  v.shape = std::move(shape);
  v.f = std::move(data);
  return v;
}

Value Value::Int(std::vector<int64_t> shape, std::vector<int64_t> data) {
  Value v;
  v.type = DType::I64;
  v.shape = std::move(shape);
  v.i = std::move(data);
  return v;
}

namespace {
int64_t element_limit = int64_t(1) << 28;
}  // namespace

int64_t ElementLimit() { return element_limit; }
void SetElementLimit(int64_t max_elements) { element_limit = max_elements; }

bool ExceedsElementLimit(const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t d : dims) {
    if (d < 0 || (d > 0 && n > element_limit / d)) return true;
    n *= d;
  }
  return n > element_limit;
}

int64_t Value::count() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

int64_t Node::Int(const std::string& a, int64_t def) const {
  auto it = attrs.find(a);
  return it == attrs.end() ? def : it->second.i;
}

float Node::Float(const std::string& a, float def) const {
  auto it = attrs.find(a);
  return it == attrs.end() ? def : it->second.f;
}

std::vector<int64_t> Node::Ints(const std::string& a, std::vector<int64_t> def) const {
  auto it = attrs.find(a);
  return it == attrs.end() ? def : it->second.ints;
}

std::string Node::String(const std::string& a, const std::string& def) const {
  auto it = attrs.find(a);
  return it == attrs.end() ? def : it->second.s;
}

std::string Node::Describe() const { return (origin.empty() ? op : origin) + " '" + name + "'"; }

const Value* Graph::Constant(const std::string& t) const {
  auto it = constants.find(t);
  return it == constants.end() ? nullptr : &it->second;
}

int Graph::Producer(const std::string& t) const {
  if (t.empty()) return -1;
  for (size_t n = 0; n < nodes.size(); ++n)
    for (const std::string& o : nodes[n].outputs)
      if (o == t) return static_cast<int>(n);
  return -1;
}

std::vector<int> Graph::Consumers(const std::string& t) const {
  std::vector<int> r;
  if (t.empty()) return r;
  for (size_t n = 0; n < nodes.size(); ++n)
    if (std::find(nodes[n].inputs.begin(), nodes[n].inputs.end(), t) != nodes[n].inputs.end())
      r.push_back(static_cast<int>(n));
  return r;
}

bool Graph::IsOutput(const std::string& t) const {
  return std::find(outputs.begin(), outputs.end(), t) != outputs.end();
}

void Graph::ReplaceUses(const std::string& from, const std::string& to) {
  for (Node& n : nodes)
    for (std::string& i : n.inputs)
      if (i == from) i = to;
  for (std::string& o : outputs)
    if (o == from) o = to;
}

std::string ShapeString(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t k = 0; k < shape.size(); ++k) s += (k ? "," : "") + std::to_string(shape[k]);
  return s + "]";
}

}  // namespace bnnc
