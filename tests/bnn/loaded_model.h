// Test helpers for models in memory: 64-byte aligned buffers (the loader
// reads weights in place with aligned loads) and a built model loaded from one.
#pragma once

#include <stdlib.h>
#include <string.h>

#include <string>
#include <vector>

#include "bnn/bnn.h"
#include "bnn/model_builder.hpp"

namespace bnn_test {

// 64-byte aligned bytes: a copy of a model file, or `n` bytes of `fill`
// (caller memory for arenas and tables).
struct AlignedBytes {
  explicit AlignedBytes(size_t n, uint8_t fill = 0) : size(n) {
    if (posix_memalign(&p, 64, n ? n : 1) != 0) abort();
    memset(p, fill, n);
  }
  explicit AlignedBytes(const std::vector<uint8_t>& v) : AlignedBytes(v.size()) {
    if (!v.empty()) memcpy(p, v.data(), v.size());
  }
  ~AlignedBytes() { free(p); }
  AlignedBytes(const AlignedBytes&) = delete;
  AlignedBytes& operator=(const AlignedBytes&) = delete;
  void* p = nullptr;
  size_t size;
};

// Status and error are kept for load-error checks; callers REQUIRE status ==
// BNN_OK to run it.
struct LoadedModel {
  explicit LoadedModel(const bnn::ModelBuilder& b) : bytes(b.Finish()) {
    status = bnn_model_load_buffer(bytes.p, bytes.size, &model);
    if (status != BNN_OK) error = bnn_last_load_error();
  }
  ~LoadedModel() { bnn_model_free(model); }
  AlignedBytes bytes;  // the file, read in place by the model
  bnn_model* model = nullptr;
  bnn_status status = BNN_OK;
  std::string error;  // "" when it loaded
};

}  // namespace bnn_test
