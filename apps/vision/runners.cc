#include "runners.h"

#include <algorithm>
#include <chrono>

#include "gallery.h"

namespace bnn_vision {
namespace {

constexpr int kMaxBoxes = 300;  // per image, after suppression

double Since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// The frame itself when it is the model's input (zero copy), else the
// arena's input buffer filled from it.
void SetInput(const InputSpec& spec, const cv::Mat& image, bnn::Interpreter* it) {
  if (IsModelInput(spec, image)) {
    it->SetInput(0, image.data, spec.bytes);
    return;
  }
  it->SetInput(0, nullptr, 0);
  FillInput(spec, image, it->input<void>(0));
}

}  // namespace

bool DetectorRunner::Load(const std::string& path, std::string* error) {
  if (bnn::Model::Load(path.c_str(), &model_) != BNN_OK) {
    *error = bnn_last_load_error();
    return false;
  }
  if (!ReadDetectorConfig(model_.get(), &config_, error) || !ReadInputSpec(model_.get(), &spec_, error)) {
    *error = path + ": " + *error;
    return false;
  }
  candidates_.resize(size_t(bnn_model_detector_max_boxes(model_.get())));
  labels_.clear();
  for (int k = 0; k < model_.label_count(); ++k) labels_.push_back(model_.label(k));
  if (bnn::Interpreter::Create(model_, &it_) != BNN_OK) {
    *error = path + ": " + bnn_last_load_error();
    return false;
  }
  return true;
}

std::vector<Box> DetectorRunner::Detect(const cv::Mat& image, double* ms) {
  const auto t0 = std::chrono::steady_clock::now();
  SetInput(spec_, image, &it_);
  it_.Invoke();
  const int n = it_.Detect(candidates_.data(), int(candidates_.size()), config_.score_threshold, config_.iou_threshold);
  std::vector<Box> boxes(candidates_.begin(), candidates_.begin() + std::max(0, std::min(n, kMaxBoxes)));
  const float sx = float(image.cols) / float(spec_.width), sy = float(image.rows) / float(spec_.height);
  for (Box& b : boxes) {
    b.x0 = std::max(0.0f, b.x0 * sx);
    b.x1 = std::min(float(image.cols), b.x1 * sx);
    b.y0 = std::max(0.0f, b.y0 * sy);
    b.y1 = std::min(float(image.rows), b.y1 * sy);
    for (int k = 0; k < b.num_landmarks; ++k) b.landmarks[k] = {b.landmarks[k].x * sx, b.landmarks[k].y * sy};
  }
  if (ms) *ms = Since(t0);
  return boxes;
}

std::string DetectorRunner::Label(int k) const {
  return k >= 0 && size_t(k) < labels_.size() ? labels_[size_t(k)] : std::to_string(k);
}

bool EmbedderRunner::Load(const std::string& path, std::string* error) {
  if (bnn::Model::Load(path.c_str(), &model_) != BNN_OK) {
    *error = bnn_last_load_error();
    return false;
  }
  if (model_.task() != BNN_TASK_EMBEDDER) {
    *error = path + ": the model is not an embedder (its task metadata says otherwise)";
    return false;
  }
  if (!ReadInputSpec(model_.get(), &spec_, error)) {
    *error = path + ": " + *error;
    return false;
  }
  bnn_tensor_info out;
  if (model_.output_count() < 1 || bnn_model_output_info(model_.get(), 0, &out) != BNN_OK ||
      out.dtype != BNN_DTYPE_F32) {
    *error = path + ": an embedder's first output must be float32";
    return false;
  }
  dim_ = int(out.bytes / sizeof(float));
  if (bnn::Interpreter::Create(model_, &it_) != BNN_OK) {
    *error = path + ": " + bnn_last_load_error();
    return false;
  }
  return true;
}

std::vector<float> EmbedderRunner::Embed(const cv::Mat& image, double* ms) {
  const auto t0 = std::chrono::steady_clock::now();
  SetInput(spec_, image, &it_);
  it_.Invoke();
  const float* o = it_.output<float>(0);
  std::vector<float> v(o, o + dim_);
  Normalize(&v);
  if (ms) *ms = Since(t0);
  return v;
}

cv::Rect FaceCrop(const Box& box, const cv::Size& image, float margin) {
  const float cx = (box.x0 + box.x1) / 2, cy = (box.y0 + box.y1) / 2;
  const float side = std::max(box.x1 - box.x0, box.y1 - box.y0) * (1 + 2 * margin);
  cv::Rect r(int(cx - side / 2), int(cy - side / 2), int(side), int(side));
  return r & cv::Rect(0, 0, image.width, image.height);
}

}  // namespace bnn_vision
