#include "bnn/model_builder.hpp"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bnn_kernels.h"
#include "format.h"

namespace bnn {

int ModelBuilder::Tensor(const std::string& name, fb::DataType type, std::vector<int32_t> shape, float scale,
                         int32_t zero_point) {
  auto t = std::make_unique<fb::TensorT>();
  t->name = name;
  t->type = type;
  t->shape = std::move(shape);
  if (scale != 0.0f || zero_point != 0) {
    t->quantization = std::make_unique<fb::QuantizationT>();
    t->quantization->scale = scale;
    t->quantization->zero_point = zero_point;
  }
  model_.tensors.push_back(std::move(t));
  return static_cast<int>(model_.tensors.size()) - 1;
}

int ModelBuilder::Constant(const std::string& name, fb::DataType type, std::vector<int32_t> shape, const void* data,
                           size_t bytes) {
  const int index = Tensor(name, type, std::move(shape));
  data_.resize((data_.size() + kDataAlign - 1) / kDataAlign * kDataAlign);
  const size_t offset = data_.size();
  data_.resize(offset + bytes);
  if (bytes) memcpy(data_.data() + offset, data, bytes);
  model_.tensors[static_cast<size_t>(index)]->constant = std::make_unique<fb::BufferRef>(offset, bytes);
  return index;
}

int ModelBuilder::ConstantF32(const std::string& name, std::vector<int32_t> shape, const std::vector<float>& v) {
  return Constant(name, fb::DataType::F32, std::move(shape), v.data(), v.size() * sizeof(float));
}

int ModelBuilder::ConstantS32(const std::string& name, std::vector<int32_t> shape, const std::vector<int32_t>& v) {
  return Constant(name, fb::DataType::S32, std::move(shape), v.data(), v.size() * sizeof(int32_t));
}

int ModelBuilder::ConstantBits(const std::string& name, std::vector<int32_t> shape, const std::vector<float>& v) {
  const size_t channels = shape.empty() ? 1 : static_cast<size_t>(shape.back());
  const size_t rows = channels ? v.size() / channels : 0;
  std::vector<bnn_word> packed(rows * bnn_words(channels));
  if (rows) bnn_bitpack_f32_ref(v.data(), rows, channels, nullptr, packed.data());
  return Constant(name, fb::DataType::BITS, std::move(shape), packed.data(), packed.size() * sizeof(bnn_word));
}

int ModelBuilder::Op(fb::OpType type, std::vector<int32_t> inputs, std::vector<int32_t> outputs,
                     fb::OptionsUnion options, const std::string& name) {
  auto op = std::make_unique<fb::OperatorT>();
  op->type = type;
  op->inputs = std::move(inputs);
  op->outputs = std::move(outputs);
  op->options = std::move(options);
  op->name = name;
  model_.operators.push_back(std::move(op));
  return static_cast<int>(model_.operators.size()) - 1;
}

fb::MetadataT& ModelBuilder::metadata() {
  if (!model_.metadata) model_.metadata = std::make_unique<fb::MetadataT>();
  return *model_.metadata;
}

std::vector<uint8_t> ModelBuilder::Finish() const {
  flatbuffers::FlatBufferBuilder fbb;
  fbb.Finish(fb::Model::Pack(fbb, &model_), fb::ModelIdentifier());
  FileHeader h;
  memset(&h, 0, sizeof h);
  memcpy(h.magic, kFileMagic, sizeof h.magic);
  h.format_major = kFormatMajor;
  h.format_minor = kFormatMinor;
  h.graph_offset = sizeof(FileHeader);
  h.graph_size = fbb.GetSize();
  h.data_offset = (h.graph_offset + h.graph_size + kDataAlign - 1) / kDataAlign * kDataAlign;
  h.data_size = data_.size();
  h.graph_crc32 = Crc32(fbb.GetBufferPointer(), fbb.GetSize());
  h.data_crc32 = Crc32(data_.data(), data_.size());
  std::vector<uint8_t> file(h.data_offset + h.data_size, 0);
  memcpy(file.data(), &h, sizeof h);
  memcpy(file.data() + h.graph_offset, fbb.GetBufferPointer(), fbb.GetSize());
  if (!data_.empty()) memcpy(file.data() + h.data_offset, data_.data(), data_.size());
  return file;
}

bool ModelBuilder::Write(const std::string& path, std::string* error) const {
  const std::vector<uint8_t> bytes = Finish();
  // Write to a temporary name and rename, so a failed write never leaves a
  // half-written model under the real name.
  const std::string tmp = path + ".tmp";
  FILE* f = fopen(tmp.c_str(), "wb");
  if (!f) {
    if (error) *error = "cannot create " + tmp + ": " + strerror(errno);
    return false;
  }
  const bool ok = fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  const bool closed = fclose(f) == 0;
  if (!ok || !closed || rename(tmp.c_str(), path.c_str()) != 0) {
    if (error) *error = "cannot write " + path + ": " + strerror(errno);
    remove(tmp.c_str());
    return false;
  }
  return true;
}

}  // namespace bnn
