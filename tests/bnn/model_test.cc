// Loading untrusted files: every damaged, truncated, random or hostile model
// is refused with a status and a message naming the problem; none crashes
// (the test runs under ASan/UBSan in CI too).
#include <catch2/catch.hpp>

#include <string.h>
#include <sys/stat.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "bnn/bnn.h"
#include "models.h"

using namespace bnn_test;

namespace {

struct Result {
  bnn_status status;
  std::string message;
};

// Loads a copy placed in 64-byte aligned memory of exactly `bytes.size()`
// readable bytes... plus alignment slack before it, never after it.
Result Load(const std::vector<uint8_t>& bytes) {
  void* p = nullptr;
  const size_t n = bytes.size() ? bytes.size() : 1;
  if (posix_memalign(&p, 64, n) != 0) abort();
  if (!bytes.empty()) memcpy(p, bytes.data(), bytes.size());
  bnn_model* model = nullptr;
  const bnn_status s = bnn_model_load_buffer(p, bytes.size(), &model);
  Result r{s, s == BNN_OK ? "" : bnn_last_load_error()};
  if (s == BNN_OK) {
    // A loaded model must also give an interpreter that runs.
    bnn_interpreter* it = nullptr;
    if (bnn_interpreter_create(model, nullptr, &it) == BNN_OK) {
      bnn_interpreter_invoke(it);
      bnn_interpreter_free(it);
    }
    bnn_model_free(model);
  } else {
    CHECK(model == nullptr);
  }
  free(p);
  return r;
}

bool Contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

void SetConstant(bnn::ModelBuilder& b, int tensor, uint64_t offset, uint64_t size) {
  b.model().tensors[static_cast<size_t>(tensor)]->constant = std::make_unique<bnn::fb::BufferRef>(offset, size);
}
uint64_t ConstantOffset(bnn::ModelBuilder& b, int tensor) {
  return b.model().tensors[static_cast<size_t>(tensor)]->constant->offset();
}

std::vector<uint8_t> Valid() { return TinyBinaryNet().Build().Finish(); }

// A model loaded from a 64-byte aligned copy of `bytes` that must load;
// both are freed at the end of the scope.
struct LoadedCopy {
  explicit LoadedCopy(const std::vector<uint8_t>& bytes) {
    REQUIRE(posix_memalign(&memory, 64, bytes.size()) == 0);
    memcpy(memory, bytes.data(), bytes.size());
    INFO(bnn_last_load_error());
    REQUIRE(bnn_model_load_buffer(memory, bytes.size(), &m) == BNN_OK);
  }
  ~LoadedCopy() {
    bnn_model_free(m);
    free(memory);
  }
  LoadedCopy(const LoadedCopy&) = delete;
  LoadedCopy& operator=(const LoadedCopy&) = delete;
  void* memory = nullptr;
  bnn_model* m = nullptr;
};

}  // namespace

TEST_CASE("a valid model loads and describes itself", "[model]") {
  const std::vector<uint8_t> file = Valid();
  void* p = nullptr;
  REQUIRE(posix_memalign(&p, 64, file.size()) == 0);
  memcpy(p, file.data(), file.size());
  bnn_model* m = nullptr;
  REQUIRE(bnn_model_load_buffer(p, file.size(), &m) == BNN_OK);
  CHECK(bnn_model_input_count(m) == 1);
  CHECK(bnn_model_output_count(m) == 2);
  bnn_tensor_info info;
  REQUIRE(bnn_model_input_info(m, 0, &info) == BNN_OK);
  CHECK(std::string(info.name) == "input");
  CHECK(info.dtype == BNN_DTYPE_F32);
  CHECK(info.rank == 4);
  CHECK(info.dims[3] == 40);
  CHECK(info.bytes == 9 * 9 * 40 * 4);
  CHECK(bnn_model_input_info(m, 1, &info) == BNN_ERROR_INVALID_ARGUMENT);
  CHECK(bnn_model_task(m) == BNN_TASK_CLASSIFIER);
  CHECK(std::string(bnn_model_name(m)) == "tiny-binary-net");
  CHECK(std::string(bnn_model_description(m)) == "a tiny binary network for the tests");
  CHECK(bnn_model_label_count(m) == 20);
  CHECK(std::string(bnn_model_label(m, 19)) == "class19");
  CHECK(std::string(bnn_model_label(m, 20)).empty());
  bnn_model_free(m);
  free(p);
}

TEST_CASE("files on disk: missing, empty, valid", "[model]") {
  bnn_model* m = nullptr;
  CHECK(bnn_model_load_file("/nonexistent/model.bnn", &m) == BNN_ERROR_IO);
  CHECK(Contains(bnn_last_load_error(), "/nonexistent/model.bnn"));
  const std::string dir = "bnn_model_test_files";
  mkdir(dir.c_str(), 0755);
  const std::string empty = dir + "/empty.bnn", valid = dir + "/valid.bnn";
  FILE* f = fopen(empty.c_str(), "wb");
  REQUIRE(f);
  fclose(f);
  CHECK(bnn_model_load_file(empty.c_str(), &m) == BNN_ERROR_INVALID_MODEL);
  std::string error;
  REQUIRE(TinyBinaryNet().Build().Write(valid, &error));
  REQUIRE(bnn_model_load_file(valid.c_str(), &m) == BNN_OK);
  bnn_model_free(m);
  CHECK(bnn_model_load_file(dir.c_str(), &m) == BNN_ERROR_IO);  // a directory
}

TEST_CASE("every truncation is refused", "[model][robustness]") {
  const std::vector<uint8_t> file = Valid();
  for (size_t n = 0; n < file.size(); n += (n < 256 ? 1 : 61)) {
    const Result r = Load(std::vector<uint8_t>(file.begin(), file.begin() + static_cast<long>(n)));
    INFO("truncated to " << n << " of " << file.size() << ": " << r.message);
    CHECK(r.status == BNN_ERROR_INVALID_MODEL);
    CHECK(!r.message.empty());
  }
}

TEST_CASE("flipped bits are caught by the checksums", "[model][robustness]") {
  const std::vector<uint8_t> file = Valid();
  std::mt19937 rng(5);
  for (int i = 0; i < 300; ++i) {
    std::vector<uint8_t> bad = file;
    const size_t at = 64 + rng() % (file.size() - 64);
    bad[at] ^= static_cast<uint8_t>(1u << (rng() % 8));
    const Result r = Load(bad);
    INFO("byte " << at << ": " << r.message);
    CHECK(r.status == BNN_ERROR_INVALID_MODEL);
    CHECK((Contains(r.message, "damaged") || Contains(r.message, "header")));
  }
}

TEST_CASE("random bytes and wrong headers are refused", "[model][robustness]") {
  std::mt19937 rng(9);
  for (size_t n : {1u, 63u, 64u, 65u, 1000u, 100000u}) {
    std::vector<uint8_t> junk(n);
    for (uint8_t& b : junk) b = static_cast<uint8_t>(rng());
    const Result r = Load(junk);
    CHECK(r.status == BNN_ERROR_INVALID_MODEL);
    CHECK(Contains(r.message, n < 64 ? "shorter than" : "not a .bnn model"));
  }
  std::vector<uint8_t> file = Valid();
  file[8] = 2;  // format major 2
  Result r = Load(file);
  CHECK(r.status == BNN_ERROR_UNSUPPORTED);
  CHECK(Contains(r.message, "format version 2"));
  file = Valid();
  file.push_back(0);  // a trailing byte the header does not describe
  r = Load(file);
  CHECK(r.status == BNN_ERROR_INVALID_MODEL);
  CHECK(Contains(r.message, "truncated or padded"));
}

TEST_CASE("a misaligned or missing buffer is the caller's error", "[model]") {
  const std::vector<uint8_t> file = Valid();
  std::vector<uint8_t> storage(file.size() + 65);
  uint8_t* aligned = storage.data() + (64 - reinterpret_cast<uintptr_t>(storage.data()) % 64) % 64;
  memcpy(aligned + 1, file.data(), file.size());
  bnn_model* m = nullptr;
  CHECK(bnn_model_load_buffer(aligned + 1, file.size(), &m) == BNN_ERROR_INVALID_ARGUMENT);
  CHECK(Contains(bnn_last_load_error(), "aligned"));
  CHECK(bnn_model_load_buffer(nullptr, 100, &m) == BNN_ERROR_INVALID_ARGUMENT);
  CHECK(bnn_model_load_buffer(aligned, file.size(), nullptr) == BNN_ERROR_INVALID_ARGUMENT);
}

// Hostile files: well-formed containers with valid checksums whose content
// lies. Each edit is applied to the builder's model before Finish().
TEST_CASE("hostile graphs are refused with the problem named", "[model][robustness]") {
  struct Case {
    const char* what;
    void (*edit)(bnn::ModelBuilder&);
    bnn_status status;
    const char* message;
  };
  const Case cases[] = {
      {"huge dimension", [](bnn::ModelBuilder& b) { b.model().tensors[1]->shape[1] = 1 << 30; },
       BNN_ERROR_INVALID_MODEL, "dimension 1 is"},
      {"negative dimension", [](bnn::ModelBuilder& b) { b.model().tensors[0]->shape[2] = -9; },
       BNN_ERROR_INVALID_MODEL, "dimension 2 is -9"},
      {"rank 7", [](bnn::ModelBuilder& b) { b.model().tensors[0]->shape.assign(7, 1); },
       BNN_ERROR_INVALID_MODEL, "rank 7"},
      {"input index out of range", [](bnn::ModelBuilder& b) { b.model().operators[1]->inputs[0] = 999; },
       BNN_ERROR_INVALID_MODEL, "refers to tensor #999"},
      {"negative index", [](bnn::ModelBuilder& b) { b.model().operators[1]->inputs[0] = -7; },
       BNN_ERROR_INVALID_MODEL, "refers to tensor #-7"},
      {"cycle: reads what a later operator writes",
       [](bnn::ModelBuilder& b) { b.model().operators[1]->inputs[0] = b.model().operators[3]->outputs[0]; },
       BNN_ERROR_INVALID_MODEL, "before any operator writes it"},
      {"tensor written twice",
       [](bnn::ModelBuilder& b) { b.model().operators[2]->outputs[0] = b.model().operators[1]->outputs[0]; },
       BNN_ERROR_INVALID_MODEL, "written twice"},
      {"constant size mismatch", [](bnn::ModelBuilder& b) { SetConstant(b, 2, ConstantOffset(b, 2), 12); },
       BNN_ERROR_INVALID_MODEL, "constant has 12 bytes"},
      {"constant outside the data section",
       [](bnn::ModelBuilder& b) { SetConstant(b, 2, 1ull << 40, 33 * 9 * 2 * 4); },
       BNN_ERROR_INVALID_MODEL, "outside the"},
      {"misaligned constant",
       [](bnn::ModelBuilder& b) { SetConstant(b, 2, ConstantOffset(b, 2) + 4, 33 * 9 * 2 * 4); },
       BNN_ERROR_INVALID_MODEL, "not 64-byte aligned"},
      {"unknown data type", [](bnn::ModelBuilder& b) { b.model().tensors[3]->type = static_cast<bnn::fb::DataType>(77); },
       BNN_ERROR_INVALID_MODEL, "unknown data type 77"},
      {"unsupported operator", [](bnn::ModelBuilder& b) { b.model().operators[5]->type = static_cast<bnn::fb::OpType>(3000); },
       BNN_ERROR_UNSUPPORTED, "type 3000"},
      {"weights of the wrong type",
       [](bnn::ModelBuilder& b) {
         // Same bytes, declared as floats [33,3,3,2]: the container is consistent.
         b.model().tensors[2]->type = bnn::fb::DataType::F32;
         b.model().tensors[2]->shape = {33, 3, 3, 2};
       },
       BNN_ERROR_INVALID_MODEL, "is F32, expected BITS"},
      {"output shape that the operator does not produce",
       [](bnn::ModelBuilder& b) { b.model().tensors[5]->shape = {1, 8, 9, 33}; },
       BNN_ERROR_INVALID_MODEL, "the operator produces 1x9x9x33"},
      {"graph output never written",
       [](bnn::ModelBuilder& b) { b.model().outputs[1] = b.Tensor("orphan", bnn::fb::DataType::F32, {4}); },
       BNN_ERROR_INVALID_MODEL, "never written"},
      {"no operators", [](bnn::ModelBuilder& b) { b.model().operators.clear(); }, BNN_ERROR_INVALID_MODEL,
       "no operators"},
      {"graph input that is a constant", [](bnn::ModelBuilder& b) { b.model().inputs[0] = 2; },
       BNN_ERROR_INVALID_MODEL, "is a constant"},
      {"empty clip range on a convolution",
       [](bnn::ModelBuilder& b) {
         auto* o = b.model().operators[3]->options.AsConv2DOptions();
         o->activation = bnn::fb::Activation::CLIP;
         o->clip_min = 1;
         o->clip_max = -1;
       },
       BNN_ERROR_INVALID_MODEL, "clip range"},
      {"stride 0", [](bnn::ModelBuilder& b) { b.model().operators[1]->options.AsConv2DOptions()->stride_h = 0; },
       BNN_ERROR_INVALID_MODEL, "stride 0x1"},
      {"pool window larger than its padding allows",
       [](bnn::ModelBuilder& b) {
         auto* o = b.model().operators[2]->options.AsPoolOptions();
         o->padding = bnn::fb::Padding::EXPLICIT;
         o->pad_top = 5;
       },
       BNN_ERROR_INVALID_MODEL, "pool window"},
      {"missing options", [](bnn::ModelBuilder& b) { b.model().operators[1]->options.Reset(); },
       BNN_ERROR_INVALID_MODEL, "options are missing"},
      {"too few inputs for the transform", [](bnn::ModelBuilder& b) { b.model().operators[1]->inputs.resize(2); },
       BNN_ERROR_INVALID_MODEL, "threshold (input 2) is missing"},
  };
  for (const Case& c : cases) {
    bnn::ModelBuilder b = TinyBinaryNet().Build();
    c.edit(b);
    const Result r = Load(b.Finish());
    INFO(c.what << " -> " << r.message);
    CHECK(r.status == c.status);
    CHECK(Contains(r.message, c.message));
  }
}

TEST_CASE("detector metadata and output meanings through the C API", "[model]") {
  bnn::ModelBuilder b = TinyBinaryNet().Build();
  // The same graph, described as a detector.
  b.metadata().task = bnn::fb::Task::DETECTOR;
  b.metadata().output_meaning = {"boxes", "scores"};
  b.metadata().detector = std::make_unique<bnn::fb::DetectorInfoT>();
  b.metadata().detector->decoding = "yolo";
  for (float w : {10.0f, 23.0f, 37.0f}) {
    auto a = std::make_unique<bnn::fb::AnchorT>();
    a->w = w;
    a->h = w + 1;
    b.metadata().detector->anchors.push_back(std::move(a));
  }
  b.metadata().detector->strides = {8, 16};
  b.metadata().detector->score_threshold = 0.3f;
  const LoadedCopy detector(b.Finish());
  const bnn_model* m = detector.m;
  CHECK(bnn_model_task(m) == BNN_TASK_DETECTOR);
  CHECK(std::string(bnn_model_output_meaning(m, 1)) == "scores");
  CHECK(std::string(bnn_model_output_meaning(m, 2)).empty());
  CHECK(std::string(bnn_model_detector_decoding(m)) == "yolo");
  bnn_anchor anchors[2];
  CHECK(bnn_model_detector_anchors(m, anchors, 2) == 3);  // the count, even when more than fit
  CHECK(anchors[1].w == 23.0f);
  CHECK(anchors[1].h == 24.0f);
  CHECK(anchors[1].cx == 0.0f);
  int32_t strides[4];
  CHECK(bnn_model_detector_strides(m, strides, 4) == 2);
  CHECK(strides[1] == 16);
  CHECK(bnn_model_detector_score_threshold(m) == 0.3f);
  CHECK(bnn_model_detector_iou_threshold(m) == 0.45f);
  CHECK(bnn_model_detector_landmarks(m) == 0);  // a detector without landmarks (every file before 1.3)
  // A model without detector metadata answers with empty values.
  const LoadedCopy plain(Valid());
  CHECK(std::string(bnn_model_detector_decoding(plain.m)).empty());
  CHECK(bnn_model_detector_anchors(plain.m, anchors, 2) == 0);
  CHECK(bnn_model_detector_score_threshold(plain.m) == 0.25f);
  CHECK(bnn_model_detector_landmarks(plain.m) == 0);
}

TEST_CASE("a detector's landmark count through the C API, and a negative one refused", "[model]") {
  const auto with_landmarks = [](int n) {
    bnn::ModelBuilder b = TinyBinaryNet().Build();
    b.metadata().task = bnn::fb::Task::DETECTOR;
    b.metadata().detector = std::make_unique<bnn::fb::DetectorInfoT>();
    b.metadata().detector->decoding = "yolo-landmarks";
    b.metadata().detector->landmarks = n;
    return b.Finish();
  };
  const LoadedCopy five(with_landmarks(5));
  CHECK(bnn_model_detector_landmarks(five.m) == 5);
  CHECK(std::string(bnn_model_detector_decoding(five.m)) == "yolo-landmarks");
  const Result r = Load(with_landmarks(-1));
  CHECK(r.status == BNN_ERROR_INVALID_MODEL);
  CHECK(Contains(r.message, "detector landmarks -1"));
}

TEST_CASE("an embedder's match threshold through the C API, and out-of-range ones refused", "[model]") {
  const auto with_threshold = [](float t) {
    bnn::ModelBuilder b = TinyBinaryNet().Build();
    b.metadata().task = bnn::fb::Task::EMBEDDER;
    b.metadata().embedder = std::make_unique<bnn::fb::EmbedderInfoT>();
    b.metadata().embedder->match_threshold = t;
    return b.Finish();
  };
  const LoadedCopy embedder(with_threshold(0.7f));
  CHECK(bnn_model_task(embedder.m) == BNN_TASK_EMBEDDER);
  CHECK(bnn_model_embedder_match_threshold(embedder.m) == 0.7f);
  CHECK(Load(with_threshold(-1.0f)).status == BNN_OK);
  CHECK(Load(with_threshold(1.0f)).status == BNN_OK);
  for (float bad : {1.01f, -1.5f, std::nanf(""), std::numeric_limits<float>::infinity()}) {
    const Result r = Load(with_threshold(bad));
    INFO(bad << " -> " << r.message);
    CHECK(r.status == BNN_ERROR_INVALID_MODEL);
    CHECK(Contains(r.message, "embedder match threshold"));
  }
  // A model without one (every file before format 1.2) gives the default.
  const LoadedCopy plain(Valid());
  CHECK(bnn_model_embedder_match_threshold(plain.m) == BNN_DEFAULT_MATCH_THRESHOLD);
}
