#include "detection.h"

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

}  // namespace bnn_vision
