// Detection decoding and NMS (apps/vision/detection.h) on outputs written by
// hand, and the metadata checks against a model's outputs.
#include "detection.h"

#include <math.h>

#include <catch2/catch.hpp>

using bnn_vision::Box;

namespace {

float Logit(float p) { return logf(p / (1 - p)); }

bnn_vision::DetectorConfig TwoStrides() {
  bnn_vision::DetectorConfig c;
  c.decoding = "yolo";
  c.anchors = {{0, 0, 10, 14}, {0, 0, 20, 20}, {0, 0, 40, 30}, {0, 0, 60, 80}};
  c.strides = {8, 16};
  c.input_w = 64;
  c.input_h = 32;
  c.classes = 3;
  c.score_threshold = 0.3f;
  return c;
}

}  // namespace

TEST_CASE("YOLO decoding puts a box where its cell, anchor and offsets say") {
  const bnn_vision::DetectorConfig c = TwoStrides();
  const int fields = 5 + c.classes;
  // stride 8: 4 x 8 cells, 2 anchors; stride 16: 2 x 4 cells, 2 anchors.
  std::vector<float> s8(4 * 8 * 2 * fields, -20.0f), s16(2 * 4 * 2 * fields, -20.0f);
  // Stride 8, cell (x=5, y=2), anchor 1: centre offsets 0.5, size exp(0) x anchor, class 2.
  float* p = s8.data() + ((2 * 8 + 5) * 2 + 1) * fields;
  p[0] = 0;
  p[1] = 0;
  p[2] = 0;
  p[3] = logf(1.5f);
  p[4] = Logit(0.9f);
  p[7] = Logit(0.8f);
  // Stride 16, cell (x=1, y=0), anchor 0: below the threshold (0.5 * 0.5).
  float* q = s16.data() + ((0 * 4 + 1) * 2 + 0) * fields;
  q[4] = 0;
  q[5] = 0;
  std::vector<Box> boxes;
  bnn_vision::DecodeYolo(c, {s8.data(), s16.data()}, &boxes);
  REQUIRE(boxes.size() == 1);
  const Box& b = boxes[0];
  CHECK(b.label == 2);
  CHECK(b.score == Approx(0.72f));
  CHECK((b.x0 + b.x1) / 2 == Approx((0.5f + 5) * 8));
  CHECK((b.y0 + b.y1) / 2 == Approx((0.5f + 2) * 8));
  CHECK(b.x1 - b.x0 == Approx(20));
  CHECK(b.y1 - b.y0 == Approx(30));
}

TEST_CASE("Non-maximum suppression keeps the best box per overlapping group and class") {
  std::vector<Box> boxes = {
      {0, 0, 10, 10, 0.5f, 0},  {1, 1, 11, 11, 0.9f, 0},  // overlap (IoU 0.68): keep 0.9
      {1, 1, 11, 11, 0.7f, 1},                            // same place, another class: kept
      {20, 20, 30, 30, 0.6f, 0},                          // apart: kept
  };
  CHECK(bnn_vision::Iou(boxes[0], boxes[1]) == Approx(81.0 / 119.0));
  const std::vector<Box> kept = bnn_vision::Nms(boxes, 0.45f);
  REQUIRE(kept.size() == 3);
  CHECK(kept[0].score == 0.9f);
  CHECK(kept[1].score == 0.7f);
  CHECK(kept[2].score == 0.6f);
  CHECK(bnn_vision::Nms(boxes, 0.45f, 2).size() == 2);
  CHECK(bnn_vision::Nms(boxes, 0.9f).size() == 4);
  CHECK(bnn_vision::Iou({0, 0, 1, 1, 0, 0}, {2, 2, 3, 3, 0, 0}) == 0);
}
