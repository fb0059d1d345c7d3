// Detector decoding (bnn/src/detect.cc, bnn_interpreter_detect and
// bnn_interpreter_detect_with_landmarks): YOLO boxes and landmarks from
// outputs written by hand, non-maximum suppression, a box buffer smaller than
// the candidates, and the metadata checks.
#include <catch2/catch.hpp>

#include <math.h>
#include <string.h>

#include <string>
#include <vector>

#include "bnn/bnn.h"
#include "bnn/model_builder.hpp"

using bnn::fb::DataType;
using bnn::fb::OpType;

namespace {

float Logit(float p) { return logf(p / (1 - p)); }

constexpr int kClasses = 3, kPerStride = 2;

// A 32 x 64 detector with strides 8 and 16, two anchors each: outputs
// [1, 4, 8, 2 x fields] and [1, 2, 4, 2 x fields], fields = 5 + 3 classes +
// 2 x landmarks (computed by convolutions whose values the tests overwrite).
struct Detector {
  explicit Detector(int outputs = 2, const char* decoding = "yolo", int anchors = 4, int landmarks = 0,
                    int output_landmarks = -1)
      : kFields(5 + kClasses + 2 * (output_landmarks >= 0 ? output_landmarks : landmarks)) {
    bnn::ModelBuilder b;
    const int x = b.Tensor("x", DataType::F32, {1, 32, 64, 3});
    b.Input(x);
    for (int s = 0; s < outputs; ++s) {
      const int stride = s == 0 ? 8 : 16;
      bnn::fb::Conv2DOptionsT o;
      o.kernel_h = o.kernel_w = o.stride_h = o.stride_w = stride;
      const int y = b.Tensor("y" + std::to_string(stride), DataType::F32,
                             {1, 32 / stride, 64 / stride, kPerStride * kFields});
      const int w = b.ConstantF32("w" + std::to_string(stride), {kPerStride * kFields, stride, stride, 3},
                                  std::vector<float>(size_t(kPerStride * kFields * stride * stride * 3), 0.0f));
      const int bias = b.ConstantF32("b" + std::to_string(stride), {kPerStride * kFields},
                                     std::vector<float>(kPerStride * kFields, -20.0f));
      b.Op(OpType::CONV2D, {x, w, bias}, {y}, bnn::Options(o));
      b.Output(y);
    }
    bnn::fb::MetadataT& m = b.metadata();
    m.task = bnn::fb::Task::DETECTOR;
    m.detector = std::make_unique<bnn::fb::DetectorInfoT>();
    m.detector->decoding = decoding;
    const float sizes[4][2] = {{10, 14}, {20, 20}, {40, 30}, {60, 80}};
    for (int a = 0; a < anchors; ++a) {
      auto an = std::make_unique<bnn::fb::AnchorT>();
      an->w = sizes[a % 4][0];
      an->h = sizes[a % 4][1];
      m.detector->anchors.push_back(std::move(an));
    }
    m.detector->strides = {8, 16};
    m.detector->score_threshold = 0.3f;
    m.detector->landmarks = landmarks;
    const std::vector<uint8_t> file = b.Finish();
    REQUIRE(posix_memalign(&bytes, 64, file.size()) == 0);
    memcpy(bytes, file.data(), file.size());
    REQUIRE(bnn_model_load_buffer(bytes, file.size(), &model) == BNN_OK);
    REQUIRE(bnn_interpreter_create(model, nullptr, &it) == BNN_OK);
    memset(bnn_interpreter_input(it, 0), 0, 32 * 64 * 3 * sizeof(float));
    REQUIRE(bnn_interpreter_invoke(it) == BNN_OK);  // every output field -20: nothing found
  }
  ~Detector() {
    bnn_interpreter_free(it);
    bnn_model_free(model);
    free(bytes);
  }
  // The raw fields of one cell and anchor of output `s` (written by the test).
  float* Cell(int s, int x, int y, int a) {
    float* out = static_cast<float*>(const_cast<void*>(bnn_interpreter_output(it, s)));
    const int w = s == 0 ? 8 : 4;
    return out + ((y * w + x) * kPerStride + a) * kFields;
  }
  const int kFields;
  void* bytes = nullptr;
  bnn_model* model = nullptr;
  bnn_interpreter* it = nullptr;
};

}  // namespace

TEST_CASE("YOLO decoding puts a box where its cell, anchor and offsets say", "[detect]") {
  Detector d;
  REQUIRE(bnn_model_detector_check(d.model) == BNN_OK);
  CHECK(bnn_model_detector_classes(d.model) == 3);
  CHECK(bnn_model_detector_max_boxes(d.model) == 4 * 8 * 2 + 2 * 4 * 2);
  bnn_box boxes[80];
  CHECK(bnn_interpreter_detect(d.it, -1, -1, boxes, 80) == 0);
  // Stride 8, cell (x=5, y=2), anchor 1 (20 x 20): centre offsets 0.5, height x 1.5, class 2.
  float* p = d.Cell(0, 5, 2, 1);
  p[0] = p[1] = p[2] = 0;
  p[3] = logf(1.5f);
  p[4] = Logit(0.9f);
  p[7] = Logit(0.8f);
  // Stride 16, cell (x=1, y=0), anchor 0: 0.5 x 0.5, below the model's 0.3.
  float* q = d.Cell(1, 1, 0, 0);
  q[4] = q[5] = 0;
  REQUIRE(bnn_interpreter_detect(d.it, -1, -1, boxes, 80) == 1);
  const bnn_box& b = boxes[0];
  CHECK(b.label == 2);
  CHECK(b.score == Approx(0.72f));
  CHECK((b.x0 + b.x1) / 2 == Approx((0.5f + 5) * 8));
  CHECK((b.y0 + b.y1) / 2 == Approx((0.5f + 2) * 8));
  CHECK(b.x1 - b.x0 == Approx(20));
  CHECK(b.y1 - b.y0 == Approx(30));
  // A lower threshold than the model's finds the second box too, best first.
  REQUIRE(bnn_interpreter_detect(d.it, 0.2f, -1, boxes, 80) == 2);
  CHECK(boxes[0].score == Approx(0.72f));
  CHECK(boxes[1].score == Approx(0.25f));
  CHECK(boxes[1].label == 0);
}

TEST_CASE("suppression keeps the best box per overlapping group and class", "[detect]") {
  Detector d;
  // Two anchors of one stride-16 cell, both 20 x 20 around the same centre
  // after scaling: anchor 0 is 40 x 30 -> scaled to 20 x 20; anchor 1 is 60 x 80.
  auto set = [&](int s, int x, int y, int a, float obj, int cls, float w_scale, float h_scale) {
    float* p = d.Cell(s, x, y, a);
    p[0] = p[1] = 0;
    p[2] = logf(w_scale);
    p[3] = logf(h_scale);
    p[4] = Logit(obj);
    for (int k = 0; k < kClasses; ++k) p[5 + k] = k == cls ? 20.0f : -20.0f;
  };
  set(1, 2, 1, 0, 0.9f, 0, 0.5f, 20.0f / 30);   // 20 x 20 at (40, 24), class 0, 0.9
  set(1, 2, 1, 1, 0.6f, 0, 1.0f / 3, 0.25f);    // 20 x 20 at the same place, class 0, 0.6: suppressed
  set(0, 5, 2, 1, 0.7f, 1, 1.0f, 1.0f);         // 20 x 20 at (44, 20), class 1: another class, kept
  set(0, 0, 0, 0, 0.5f, 0, 1.0f, 1.0f);         // far away (4, 4), class 0: kept
  bnn_box boxes[80];
  REQUIRE(bnn_interpreter_detect(d.it, 0.3f, 0.45f, boxes, 80) == 3);
  CHECK(boxes[0].score == Approx(0.9f));
  CHECK(boxes[1].score == Approx(0.7f));
  CHECK(boxes[1].label == 1);
  CHECK(boxes[2].score == Approx(0.5f));
  // No suppression at IoU 1.
  CHECK(bnn_interpreter_detect(d.it, 0.3f, 1.0f, boxes, 80) == 4);
  // A buffer of two keeps the two best candidates, then suppresses: 0.9 and 0.7.
  REQUIRE(bnn_interpreter_detect(d.it, 0.3f, 0.45f, boxes, 2) == 2);
  CHECK(boxes[0].score == Approx(0.9f));
  CHECK(boxes[1].score == Approx(0.7f));
  CHECK(bnn_interpreter_detect(d.it, 0.3f, 0.45f, boxes, 0) == 0);
  CHECK(bnn_interpreter_detect(d.it, 0.3f, 0.45f, nullptr, 5) == -1);
}

TEST_CASE("detector metadata that does not fit the outputs is refused with the reason", "[detect]") {
  {
    Detector d(1);  // one output for two strides
    CHECK(bnn_model_detector_check(d.model) == BNN_ERROR_INVALID_MODEL);
    CHECK(std::string(bnn_last_load_error()).find("1 outputs for 2 strides") != std::string::npos);
    bnn_box boxes[4];
    CHECK(bnn_interpreter_detect(d.it, -1, -1, boxes, 4) == -1);
    CHECK(std::string(bnn_interpreter_error(d.it)).find("strides") != std::string::npos);
    CHECK(bnn_model_detector_max_boxes(d.model) == 0);
  }
  {
    Detector d(2, "ssd");
    CHECK(bnn_model_detector_check(d.model) == BNN_ERROR_UNSUPPORTED);
    CHECK(std::string(bnn_last_load_error()).find("'ssd'") != std::string::npos);
  }
  {
    Detector d(2, "yolo", 3);  // 3 anchors over 2 strides
    CHECK(bnn_model_detector_check(d.model) == BNN_ERROR_INVALID_MODEL);
    CHECK(std::string(bnn_last_load_error()).find("whole number of anchors") != std::string::npos);
  }
  {
    Detector d(2, "yolo", 6);  // 3 per stride, but outputs have room for 2 x 8 fields
    CHECK(bnn_model_detector_check(d.model) == BNN_ERROR_INVALID_MODEL);
    CHECK(std::string(bnn_last_load_error()).find("does not fit stride 8") != std::string::npos);
  }
}

TEST_CASE("landmarks decode from the cell centre and the anchor, and follow their box through suppression",
          "[detect]") {
  Detector d(2, "yolo-landmarks", 4, 5);
  REQUIRE(bnn_model_detector_check(d.model) == BNN_OK);
  CHECK(bnn_model_detector_landmarks(d.model) == 5);
  CHECK(bnn_model_detector_classes(d.model) == 3);
  CHECK(d.kFields == 18);
  // Stride 16, cell (x=2, y=1), anchor 1 (60 x 80): centre (40, 24); landmark k at offsets
  // (0.1 k - 0.2, 0.05 k) of the anchor.
  float* p = d.Cell(1, 2, 1, 1);
  p[0] = p[1] = p[2] = p[3] = 0;
  p[4] = Logit(0.9f);
  p[5] = 20;
  for (int k = 0; k < 5; ++k) {
    p[8 + 2 * k] = 0.1f * float(k) - 0.2f;
    p[9 + 2 * k] = 0.05f * float(k);
  }
  // Overlapping it, a weaker box from stride 8 (cell (4, 2), anchor 1, 20 x 20 scaled x 3):
  // suppressed, so its landmarks (all 100) must not leak into the result.
  float* q = d.Cell(0, 4, 2, 1);
  q[0] = q[1] = 0;
  q[2] = logf(3.0f);
  q[3] = logf(4.0f);
  q[4] = Logit(0.6f);
  q[5] = 20;
  for (int k = 0; k < 10; ++k) q[8 + k] = 100;
  bnn_detection dets[80];
  REQUIRE(bnn_interpreter_detect_with_landmarks(d.it, -1, -1, dets, 80) == 1);
  const bnn_detection& a = dets[0];
  CHECK(a.score == Approx(0.9f));
  CHECK(a.label == 0);
  CHECK(a.x1 - a.x0 == Approx(60));
  CHECK(a.y1 - a.y0 == Approx(80));
  REQUIRE(a.num_landmarks == 5);
  for (int k = 0; k < 5; ++k) {
    CHECK(a.landmarks[k].x == Approx((2 + 0.5f) * 16 + (0.1f * float(k) - 0.2f) * 60));
    CHECK(a.landmarks[k].y == Approx((1 + 0.5f) * 16 + 0.05f * float(k) * 80));
  }
  for (int k = 5; k < BNN_MAX_LANDMARKS; ++k) CHECK((a.landmarks[k].x == 0 && a.landmarks[k].y == 0));
  // The plain call gives the same boxes, without landmarks.
  bnn_box boxes[80];
  REQUIRE(bnn_interpreter_detect(d.it, -1, -1, boxes, 80) == 1);
  CHECK((boxes[0].x0 == a.x0 && boxes[0].y1 == a.y1 && boxes[0].score == a.score));
  // Without suppression both come back, each with its own landmarks; a buffer of one keeps the best.
  REQUIRE(bnn_interpreter_detect_with_landmarks(d.it, -1, 1.0f, dets, 80) == 2);
  CHECK(dets[1].landmarks[0].x == Approx((4 + 0.5f) * 8 + 100 * 20));
  CHECK(dets[1].landmarks[4].y == Approx((2 + 0.5f) * 8 + 100 * 20));
  REQUIRE(bnn_interpreter_detect_with_landmarks(d.it, -1, 1.0f, dets, 1) == 1);
  CHECK(dets[0].score == Approx(0.9f));
  CHECK(dets[0].landmarks[2].x == Approx(40));
  CHECK(bnn_interpreter_detect_with_landmarks(d.it, -1, -1, nullptr, 3) == -1);
}

TEST_CASE("models without landmarks decode as before through the landmark call", "[detect]") {
  Detector d;
  CHECK(bnn_model_detector_landmarks(d.model) == 0);
  float* p = d.Cell(0, 5, 2, 1);
  p[0] = p[1] = p[2] = p[3] = 0;
  p[4] = Logit(0.9f);
  p[7] = Logit(0.8f);
  bnn_detection dets[4];
  REQUIRE(bnn_interpreter_detect_with_landmarks(d.it, -1, -1, dets, 4) == 1);
  CHECK(dets[0].num_landmarks == 0);
  CHECK(dets[0].label == 2);
  CHECK(dets[0].score == Approx(0.72f));
  CHECK((dets[0].x0 + dets[0].x1) / 2 == Approx((0.5f + 5) * 8));
}

TEST_CASE("landmark metadata that does not fit the decoding or the outputs is refused", "[detect]") {
  {
    Detector d(2, "yolo", 4, 5);  // landmarks declared, but the plain decoding
    CHECK(bnn_model_detector_check(d.model) == BNN_ERROR_INVALID_MODEL);
    CHECK(std::string(bnn_last_load_error()).find("need 'yolo-landmarks'") != std::string::npos);
  }
  {
    Detector d(2, "yolo-landmarks", 4, 0);  // the decoding without a count
    CHECK(bnn_model_detector_check(d.model) == BNN_ERROR_INVALID_MODEL);
    CHECK(std::string(bnn_last_load_error()).find("0 landmarks") != std::string::npos);
  }
  {
    Detector d(2, "yolo-landmarks", 4, BNN_MAX_LANDMARKS + 1);  // more than this build decodes
    CHECK(bnn_model_detector_check(d.model) == BNN_ERROR_UNSUPPORTED);
    bnn_detection dets[4];
    CHECK(bnn_interpreter_detect_with_landmarks(d.it, -1, -1, dets, 4) == -1);
    CHECK(std::string(bnn_interpreter_error(d.it)).find("landmarks per box") != std::string::npos);
  }
  {
    Detector d(2, "yolo-landmarks", 4, 5, 1);  // outputs with room for 1 point, 5 declared
    CHECK(bnn_model_detector_check(d.model) == BNN_ERROR_INVALID_MODEL);
    CHECK(std::string(bnn_last_load_error()).find("2 x landmarks") != std::string::npos);
  }
}
