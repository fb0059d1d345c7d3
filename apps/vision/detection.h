// Detection in the vision apps: the box type and the settings of a detector
// model. Decoding and non-maximum suppression are the runtime's own
// (bnn_interpreter_detect in bnn.h), driven by the model's metadata, so the
// apps, the demo and camera apps written in C share one implementation.
#pragma once

#include <string>

#include "bnn/bnn.h"

namespace bnn_vision {

// Corners, score, label and, for models that predict them (face detectors),
// landmarks (num_landmarks points: for faces the eye on the image's left, the
// other eye, the nose tip, the mouth corner on the image's left, the other).
using Box = bnn_detection;

struct DetectorConfig {
  float score_threshold = 0.25f, iou_threshold = 0.45f;  // the model's, unless changed
};

// Checks that the model is a detector whose metadata decodes its outputs
// (bnn_model_detector_check) and reads its thresholds. False with `error`
// naming what does not fit.
bool ReadDetectorConfig(const bnn_model* model, DetectorConfig* config, std::string* error);

// The JSON member `, "landmarks": [[x, y], ...]` of a box with landmarks, "" for one without.
std::string LandmarksJson(const Box& box);

}  // namespace bnn_vision
