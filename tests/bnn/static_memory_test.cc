// Heap-free use: bnn_model_load_static and bnn_interpreter_options.memory
// take every table from caller buffers (the path the Cortex-M firmware
// uses). The results must equal the heap path's, too small a buffer must
// fail with the size it needs, and the compile-time bounds of bnn.h must
// hold for real models.
#include <catch2/catch.hpp>

#include <stdlib.h>
#include <string.h>

#include <string>
#include <vector>

#include "bnn/bnn.h"
#include "loaded_model.h"
#include "models.h"

using namespace bnn_test;

namespace {

std::vector<float> Input(size_t n) {
  std::vector<float> x(n);
  for (size_t i = 0; i < n; ++i) x[i] = static_cast<float>((i * 7919) % 23) - 11.0f;
  return x;
}

std::vector<uint8_t> RunOnce(bnn_interpreter* it, const bnn_model* m) {
  bnn_tensor_info in, out;
  bnn_model_input_info(m, 0, &in);
  const std::vector<float> x = Input(in.bytes / 4);
  memcpy(bnn_interpreter_input(it, 0), x.data(), in.bytes);
  REQUIRE(bnn_interpreter_invoke(it) == BNN_OK);
  bnn_model_output_info(m, 1, &out);
  const uint8_t* y = static_cast<const uint8_t*>(bnn_interpreter_output(it, 1));
  return std::vector<uint8_t>(y, y + out.bytes);
}

}  // namespace

TEST_CASE("a model and an interpreter in caller memory run as on the heap") {
  const std::vector<uint8_t> file = TinyBinaryNet().Build().Finish();
  const AlignedBytes bytes(file);

  bnn_model* heap_model = nullptr;
  REQUIRE(bnn_model_load_buffer(bytes.p, file.size(), &heap_model) == BNN_OK);
  bnn_interpreter* heap_it = nullptr;
  REQUIRE(bnn_interpreter_create(heap_model, nullptr, &heap_it) == BNN_OK);
  const std::vector<uint8_t> expected = RunOnce(heap_it, heap_model);
  const size_t model_need = bnn_model_memory_bytes(heap_model);
  const size_t interp_need = bnn_interpreter_memory_bytes(heap_it);
  const size_t arena = bnn_interpreter_arena_bytes(heap_it);
  CHECK(model_need > 0);
  CHECK(interp_need > arena);  // the arena is carved from options.memory when none is given

  // Exactly the bytes the heap path reported suffice: the model's tables...
  AlignedBytes model_memory(model_need, 0xA5);
  bnn_model* m = nullptr;
  INFO(bnn_last_load_error());
  REQUIRE(bnn_model_load_static(bytes.p, file.size(), model_memory.p, model_memory.size, &m) == BNN_OK);
  CHECK(static_cast<void*>(m) == model_memory.p);
  CHECK(bnn_model_memory_bytes(m) <= model_need);
  // ... and the interpreter with its arena.
  AlignedBytes memory(interp_need, 0x5A);
  bnn_interpreter_options o = bnn_interpreter_default_options();
  o.memory = memory.p;
  o.memory_bytes = memory.size;
  bnn_interpreter* it = nullptr;
  REQUIRE(bnn_interpreter_create(m, &o, &it) == BNN_OK);
  CHECK(static_cast<void*>(it) == memory.p);
  CHECK(bnn_interpreter_memory_bytes(it) <= interp_need);
  const uint8_t* out = static_cast<const uint8_t*>(bnn_interpreter_output(it, 1));
  CHECK(out >= static_cast<uint8_t*>(memory.p));
  CHECK(out < static_cast<uint8_t*>(memory.p) + memory.size);
  CHECK(RunOnce(it, m) == expected);

  // An arena of its own, the tables in memory: smaller memory needed.
  AlignedBytes own_arena(arena);
  AlignedBytes small(interp_need - arena);
  o.memory = small.p;
  o.memory_bytes = small.size;
  o.arena = own_arena.p;
  o.arena_bytes = own_arena.size;
  bnn_interpreter* it2 = nullptr;
  INFO(bnn_last_load_error());
  REQUIRE(bnn_interpreter_create(m, &o, &it2) == BNN_OK);
  CHECK(RunOnce(it2, m) == expected);
  bnn_interpreter_free(it2);

  bnn_interpreter_free(it);
  bnn_model_free(m);  // frees nothing: the memory is the caller's
  bnn_interpreter_free(heap_it);
  bnn_model_free(heap_model);
}

TEST_CASE("too little caller memory fails with the size it needs") {
  const std::vector<uint8_t> file = TinyBinaryNet().Build().Finish();
  const AlignedBytes bytes(file);

  bnn_model* m = nullptr;
  AlignedBytes tiny(64);
  CHECK(bnn_model_load_static(bytes.p, file.size(), tiny.p, tiny.size, &m) == BNN_ERROR_OUT_OF_MEMORY);
  CHECK(m == nullptr);
  CHECK(std::string(bnn_last_load_error()).find("the model memory has 64 bytes") != std::string::npos);

  AlignedBytes model_memory(BNN_MODEL_MEMORY_BYTES(32, 32));
  REQUIRE(bnn_model_load_static(bytes.p, file.size(), model_memory.p, model_memory.size, &m) == BNN_OK);
  // Too small for the interpreter: a clear message, and no interpreter.
  AlignedBytes little(2048);
  bnn_interpreter_options o = bnn_interpreter_default_options();
  o.memory = little.p;
  o.memory_bytes = little.size;
  bnn_interpreter* it = nullptr;
  CHECK(bnn_interpreter_create(m, &o, &it) == BNN_ERROR_OUT_OF_MEMORY);
  CHECK(it == nullptr);
  CHECK(std::string(bnn_last_load_error()).find("memory has 2048 bytes; this model needs at least") !=
        std::string::npos);
  // Misaligned memory is refused.
  o.memory = static_cast<uint8_t*>(little.p) + 4;
  CHECK(bnn_interpreter_create(m, &o, &it) == BNN_ERROR_INVALID_ARGUMENT);
  CHECK(bnn_model_load_static(bytes.p, file.size(), static_cast<uint8_t*>(tiny.p) + 4, 60, &m) ==
        BNN_ERROR_INVALID_ARGUMENT);
  bnn_model_free(m);
}

TEST_CASE("the compile-time bounds of bnn.h hold for the shipped models") {
  for (const char* name : {"models/detect/detector.bnn", "models/facedet/face-detector.bnn", "models/face/face-embed.bnn"}) {
    CAPTURE(name);
    const std::string path = std::string(BNN_SOURCE_ROOT) + "/" + name;
    bnn_model* m = nullptr;
    REQUIRE(bnn_model_load_file(path.c_str(), &m) == BNN_OK);
    bnn_interpreter_options o = bnn_interpreter_default_options();
    o.force_reference = 1;  // no packed weights: what the bounds cover
    bnn_interpreter* it = nullptr;
    REQUIRE(bnn_interpreter_create(m, &o, &it) == BNN_OK);
    // The counts bnn-to-c writes into a model's header; the arena (and its
    // alignment padding, up to 48 bytes) comes on top of the bound.
    const int tensors = bnn_model_tensor_count(m), ops = bnn_model_op_count(m), inputs = bnn_model_input_count(m);
    CHECK(bnn_model_memory_bytes(m) <= BNN_MODEL_MEMORY_BYTES(tensors, ops));
    CHECK(bnn_interpreter_memory_bytes(it) <= bnn_interpreter_arena_bytes(it) + 48 +
                                                  BNN_INTERPRETER_MEMORY_BYTES(tensors, ops, inputs));
    bnn_interpreter_free(it);
    bnn_model_free(m);
  }
}
