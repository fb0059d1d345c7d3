#include "detection.h"

namespace bnn_vision {

bool ReadDetectorConfig(const bnn_model* model, DetectorConfig* c, std::string* error) {
  *c = DetectorConfig();
  if (bnn_model_detector_check(model) != BNN_OK) {
    *error = bnn_last_load_error();
    return false;
  }
  bnn_tensor_info in;
  bnn_model_input_info(model, 0, &in);
  c->input_h = in.dims[1];
  c->input_w = in.dims[2];
  c->classes = bnn_model_detector_classes(model);
  c->score_threshold = bnn_model_detector_score_threshold(model);
  c->iou_threshold = bnn_model_detector_iou_threshold(model);
  return true;
}

}  // namespace bnn_vision
