#include "detection.h"

#include <math.h>

#include <algorithm>

namespace bnn_vision {
namespace {

float Sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

}  // namespace

bool ReadDetectorConfig(const bnn_model* model, DetectorConfig* c, std::string* error) {
  *c = DetectorConfig();
  if (bnn_model_task(model) != BNN_TASK_DETECTOR) {
    *error = "the model is not a detector (its task metadata says otherwise)";
    return false;
  }
  c->decoding = bnn_model_detector_decoding(model);
  if (c->decoding != "yolo") {
    *error = "unknown box decoding '" + c->decoding + "' (this build decodes 'yolo')";
    return false;
  }
  c->anchors.resize(size_t(std::max(0, bnn_model_detector_anchors(model, nullptr, 0))));
  bnn_model_detector_anchors(model, c->anchors.data(), int(c->anchors.size()));
  c->strides.resize(size_t(std::max(0, bnn_model_detector_strides(model, nullptr, 0))));
  bnn_model_detector_strides(model, c->strides.data(), int(c->strides.size()));
  c->score_threshold = bnn_model_detector_score_threshold(model);
  c->iou_threshold = bnn_model_detector_iou_threshold(model);
  if (c->strides.empty() || c->anchors.empty() || c->anchors.size() % c->strides.size()) {
    *error = "the detector metadata has " + std::to_string(c->anchors.size()) + " anchors for " +
             std::to_string(c->strides.size()) + " strides (need a whole number of anchors per stride)";
    return false;
  }
  bnn_tensor_info in;
  if (bnn_model_input_count(model) != 1 || bnn_model_input_info(model, 0, &in) != BNN_OK || in.rank != 4) {
    *error = "a detector takes one image input";
    return false;
  }
  c->input_h = in.dims[1];
  c->input_w = in.dims[2];
  if (bnn_model_output_count(model) != int(c->strides.size())) {
    *error = "the model has " + std::to_string(bnn_model_output_count(model)) + " outputs for " +
             std::to_string(c->strides.size()) + " strides";
    return false;
  }
  const int per = int(c->anchors.size() / c->strides.size());
  for (size_t s = 0; s < c->strides.size(); ++s) {
    bnn_tensor_info o;
    bnn_model_output_info(model, int(s), &o);
    const int stride = c->strides[s];
    if (o.dtype != BNN_DTYPE_F32 || o.rank != 4 || stride <= 0 || o.dims[1] * stride != c->input_h ||
        o.dims[2] * stride != c->input_w || o.dims[3] % per || o.dims[3] / per < 6) {
      *error = "output " + std::to_string(s) + " does not fit stride " + std::to_string(stride) + " with " +
               std::to_string(per) + " anchors (want [1, " + std::to_string(c->input_h / std::max(stride, 1)) + ", " +
               std::to_string(c->input_w / std::max(stride, 1)) + ", anchors x (5 + classes)])";
      return false;
    }
    const int classes = o.dims[3] / per - 5;
    if (s > 0 && classes != c->classes) {
      *error = "outputs disagree on the number of classes";
      return false;
    }
    c->classes = classes;
  }
  return true;
}

void DecodeYolo(const DetectorConfig& c, const std::vector<const float*>& outputs, std::vector<Box>* boxes) {
  const size_t per = c.anchors.size() / c.strides.size();
  const int fields = 5 + c.classes;
  for (size_t s = 0; s < c.strides.size() && s < outputs.size(); ++s) {
    const int stride = c.strides[s], h = c.input_h / stride, w = c.input_w / stride;
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        for (size_t a = 0; a < per; ++a) {
          const float* p = outputs[s] + (size_t(y * w + x) * per + a) * fields;
          const float obj = Sigmoid(p[4]);
          if (obj < c.score_threshold) continue;  // a class score cannot exceed the objectness
          int best = 0;
          for (int k = 1; k < c.classes; ++k)
            if (p[5 + k] > p[5 + best]) best = k;
          const float score = obj * Sigmoid(p[5 + best]);
          if (score < c.score_threshold) continue;
          const bnn_anchor& an = c.anchors[s * per + a];
          const float cx = (Sigmoid(p[0]) + float(x)) * float(stride), cy = (Sigmoid(p[1]) + float(y)) * float(stride);
          const float bw = an.w * expf(std::min(p[2], 10.0f)), bh = an.h * expf(std::min(p[3], 10.0f));
          boxes->push_back({cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2, score, best});
        }
  }
}

float Iou(const Box& a, const Box& b) {
  const float iw = std::min(a.x1, b.x1) - std::max(a.x0, b.x0), ih = std::min(a.y1, b.y1) - std::max(a.y0, b.y0);
  if (iw <= 0 || ih <= 0) return 0;
  const float inter = iw * ih;
  const float uni = (a.x1 - a.x0) * (a.y1 - a.y0) + (b.x1 - b.x0) * (b.y1 - b.y0) - inter;
  return uni > 0 ? inter / uni : 0;
}

std::vector<Box> Nms(std::vector<Box> boxes, float iou_threshold, size_t max_boxes) {
  std::stable_sort(boxes.begin(), boxes.end(), [](const Box& a, const Box& b) { return a.score > b.score; });
  std::vector<Box> kept;
  for (const Box& b : boxes) {
    if (kept.size() >= max_boxes) break;
    bool suppressed = false;
    for (const Box& k : kept)
      if (k.label == b.label && Iou(k, b) > iou_threshold) {
        suppressed = true;
        break;
      }
    if (!suppressed) kept.push_back(b);
  }
  return kept;
}

}  // namespace bnn_vision
