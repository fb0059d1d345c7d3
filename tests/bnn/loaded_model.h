// A built model in 64-byte aligned memory, loaded (Catch2 tests only: it
// REQUIREs its allocation).
#pragma once

#include <stdlib.h>
#include <string.h>

#include <string>
#include <vector>

#include "bnn/bnn.h"
#include "bnn/model_builder.hpp"

namespace bnn_test {

// Status and error are kept for load-error checks; callers REQUIRE status ==
// BNN_OK to run it.
struct LoadedModel {
  explicit LoadedModel(const bnn::ModelBuilder& b) {
    const std::vector<uint8_t> file = b.Finish();
    REQUIRE(posix_memalign(&bytes, 64, file.size()) == 0);
    memcpy(bytes, file.data(), file.size());
    status = bnn_model_load_buffer(bytes, file.size(), &model);
    if (status != BNN_OK) error = bnn_last_load_error();
  }
  ~LoadedModel() {
    bnn_model_free(model);
    free(bytes);
  }
  void* bytes = nullptr;
  bnn_model* model = nullptr;
  bnn_status status = BNN_OK;
  std::string error;  // "" when it loaded
};

}  // namespace bnn_test
