// A loaded model plus its interpreter, for the vision apps: a detector that
// returns boxes in image coordinates, and an embedder that returns an
// L2-normalised embedding. Both check that the model is the right kind.
#pragma once

#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "bnn/bnn.hpp"
#include "detection.h"
#include "image_input.h"

namespace bnn_vision {

class DetectorRunner {
 public:
  bool Load(const std::string& path, std::string* error);
  // Boxes in `image` coordinates after NMS; `ms` receives the time taken.
  std::vector<Box> Detect(const cv::Mat& image, double* ms = nullptr);
  std::string Label(int k) const;
  DetectorConfig& config() { return config_; }
  const char* kernels() const { return it_.kernels(); }  // "AVX3_DL", "NEON", "reference", ...

 private:
  bnn::Model model_;
  bnn::Interpreter it_;
  InputSpec spec_;
  DetectorConfig config_;
  std::vector<std::string> labels_;
  std::vector<Box> candidates_;  // room for every candidate box the model can make
};

class EmbedderRunner {
 public:
  bool Load(const std::string& path, std::string* error);
  // The embedding of `image` (a face crop), L2-normalised.
  std::vector<float> Embed(const cv::Mat& image, double* ms = nullptr);
  int dim() const { return dim_; }
  // The model's calibrated cosine match threshold (0.5 for models without one).
  float match_threshold() const { return bnn_model_embedder_match_threshold(model_.get()); }

 private:
  bnn::Model model_;
  bnn::Interpreter it_;
  InputSpec spec_;
  int dim_ = 0;
};

// The square crop around `box` grown by `margin` (a fraction of its size),
// clipped to the image.
cv::Rect FaceCrop(const Box& box, const cv::Size& image, float margin = 0.15f);

}  // namespace bnn_vision
