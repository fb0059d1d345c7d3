// bnn::ModelBuilder: writes .bnn model files from code. The converter and the
// tests use it; so can users who build a network by hand. Not for the
// inference path (it allocates freely).
//
//   bnn::ModelBuilder b;
//   int x = b.Tensor("x", bnn::fb::DataType::F32, {1, 32, 32, 64});
//   int xb = b.Tensor("x.bits", bnn::fb::DataType::BITS, {1, 32, 32, 64});
//   b.Input(x);
//   b.Op(bnn::fb::OpType::BITPACK, {x}, {xb});
//   ...
//   b.Output(y);
//   std::vector<uint8_t> bytes = b.Finish();
#pragma once

#include <stdint.h>

#include <string>
#include <vector>

#include "bnn/bnn_generated.h"

namespace bnn {

class ModelBuilder {
 public:
  // An activation tensor (a graph input, output or intermediate).
  int Tensor(const std::string& name, fb::DataType type, std::vector<int32_t> shape, float scale = 0.0f,
             int32_t zero_point = 0);
  // A constant; its bytes are copied into the data section, 64-byte aligned.
  // `bytes` must equal what the type and shape need (the loader checks).
  int Constant(const std::string& name, fb::DataType type, std::vector<int32_t> shape, const void* data,
               size_t bytes);
  int ConstantF32(const std::string& name, std::vector<int32_t> shape, const std::vector<float>& values);
  int ConstantS32(const std::string& name, std::vector<int32_t> shape, const std::vector<int32_t>& values);
  // A packed-bit constant from real values through the kernels' bit contract
  // (x < 0 is -1): the last dimension is the packed one.
  int ConstantBits(const std::string& name, std::vector<int32_t> shape, const std::vector<float>& values);

  void Input(int tensor) { model_.inputs.push_back(tensor); }
  void Output(int tensor) { model_.outputs.push_back(tensor); }

  // Appends an operator (operators run in the order they are added).
  int Op(fb::OpType type, std::vector<int32_t> inputs, std::vector<int32_t> outputs,
         fb::OptionsUnion options = fb::OptionsUnion(), const std::string& name = "");

  fb::MetadataT& metadata();
  // Direct access for what the helpers above do not cover (tests use it to
  // write deliberately broken models).
  fb::ModelT& model() { return model_; }

  // The file: header, FlatBuffer, data section, CRCs.
  std::vector<uint8_t> Finish() const;
  // Writes Finish() to `path`; false with `error` set on failure.
  bool Write(const std::string& path, std::string* error) const;

  int tensor_count() const { return static_cast<int>(model_.tensors.size()); }

 private:
  fb::ModelT model_;
  std::vector<uint8_t> data_;
};

// An options union from one options struct: bnn::Options(conv_options).
template <class T>
fb::OptionsUnion Options(T options) {
  fb::OptionsUnion u;
  u.Set(std::move(options));
  return u;
}

}  // namespace bnn
