// Detection post-processing shared by bnn-detect, bnn-face, the demo and
// camera apps: decodes a detector's outputs into boxes as its model
// metadata says (decoding scheme, anchors, strides, thresholds), then
// non-maximum suppression. Nothing here is specific to one model.
#pragma once

#include <string>
#include <vector>

#include "bnn/bnn.h"

namespace bnn_vision {

struct Box {
  float x0, y0, x1, y1;  // input pixels (of the model's input image)
  float score;
  int label;
};

struct DetectorConfig {
  std::string decoding;             // "yolo"
  std::vector<bnn_anchor> anchors;  // split evenly over the strides, in order
  std::vector<int32_t> strides;
  int input_w = 0, input_h = 0;
  int classes = 0;
  float score_threshold = 0.25f, iou_threshold = 0.45f;
};

// Reads the model's detector metadata and checks that its outputs fit it:
// one output per stride, NHWC [1, H, W, A * (5 + classes)] with
// H = input_h / stride. False with `error` naming what does not fit.
bool ReadDetectorConfig(const bnn_model* model, DetectorConfig* config, std::string* error);

// YOLO (v2/v3) decoding of one output per stride, NHWC as the interpreter
// returns it: per cell and anchor (tx, ty, tw, th, objectness, classes...);
// centre = (sigmoid(t) + cell) * stride, size = anchor * exp(t), score =
// sigmoid(objectness) * sigmoid(class). Appends boxes scoring at least the
// config's threshold (the best class per anchor).
void DecodeYolo(const DetectorConfig& config, const std::vector<const float*>& outputs, std::vector<Box>* boxes);

float Iou(const Box& a, const Box& b);

// Greedy non-maximum suppression, per class; keeps at most `max_boxes`,
// highest scores first.
std::vector<Box> Nms(std::vector<Box> boxes, float iou_threshold, size_t max_boxes = 300);

}  // namespace bnn_vision
