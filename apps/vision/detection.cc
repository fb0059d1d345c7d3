#include "detection.h"

#include <stdio.h>

namespace bnn_vision {

bool ReadDetectorConfig(const bnn_model* model, DetectorConfig* c, std::string* error) {
  *c = DetectorConfig();
  if (bnn_model_detector_check(model) != BNN_OK) {
    *error = bnn_last_load_error();
    return false;
  }
  c->score_threshold = bnn_model_detector_score_threshold(model);
  c->iou_threshold = bnn_model_detector_iou_threshold(model);
  return true;
}

std::string LandmarksJson(const Box& b) {
  if (b.num_landmarks <= 0) return "";
  std::string j = ", \"landmarks\": [";
  char buf[128];  // two %.1f of any float (up to 42 characters each) and the brackets
  for (int k = 0; k < b.num_landmarks && k < BNN_MAX_LANDMARKS; ++k) {
    snprintf(buf, sizeof buf, "%s[%.1f, %.1f]", k ? ", " : "", b.landmarks[k].x, b.landmarks[k].y);
    j += buf;
  }
  return j + "]";
}

}  // namespace bnn_vision
