// bnn.hpp - a thin RAII C++ wrapper over bnn.h. Header-only, no exceptions:
// creation returns a bnn_status and leaves the object empty on failure.
//
//   bnn::Model model;
//   if (bnn::Model::Load("net.bnn", &model) != BNN_OK) { puts(bnn_last_load_error()); ... }
//   bnn::Interpreter interpreter;
//   if (bnn::Interpreter::Create(model, &interpreter) != BNN_OK) { ... }
//   std::copy(pixels, pixels + n, interpreter.input<float>(0));
//   interpreter.Invoke();
//   const float* scores = interpreter.output<float>(0);
//
// Lifetimes and thread safety are those of bnn.h: a Model must outlive its
// Interpreters; one Interpreter per thread.
#pragma once

#include <stddef.h>

#include <utility>

#include "bnn/bnn.h"

namespace bnn {

class Model {
 public:
  Model() = default;
  ~Model() { bnn_model_free(model_); }
  Model(Model&& o) noexcept : model_(std::exchange(o.model_, nullptr)) {}
  Model& operator=(Model&& o) noexcept {
    std::swap(model_, o.model_);
    return *this;
  }
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  static bnn_status Load(const char* path, Model* out) { return Reset(bnn_model_load_file(path, &out->scratch_), out); }
  static bnn_status Load(const void* data, size_t size, Model* out) {
    return Reset(bnn_model_load_buffer(data, size, &out->scratch_), out);
  }

  explicit operator bool() const { return model_ != nullptr; }
  const bnn_model* get() const { return model_; }
  int input_count() const { return bnn_model_input_count(model_); }
  int output_count() const { return bnn_model_output_count(model_); }
  bnn_tensor_info input_info(int i) const {
    bnn_tensor_info t{};
    bnn_model_input_info(model_, i, &t);
    return t;
  }
  bnn_tensor_info output_info(int i) const {
    bnn_tensor_info t{};
    bnn_model_output_info(model_, i, &t);
    return t;
  }
  bnn_task task() const { return bnn_model_task(model_); }
  const char* name() const { return bnn_model_name(model_); }
  int label_count() const { return bnn_model_label_count(model_); }
  const char* label(int i) const { return bnn_model_label(model_, i); }
  bnn_pixel_format input_pixel_format() const { return bnn_model_input_pixel_format(model_); }
  int detector_landmarks() const { return bnn_model_detector_landmarks(model_); }

 private:
  static bnn_status Reset(bnn_status s, Model* out) {
    bnn_model_free(out->model_);
    out->model_ = s == BNN_OK ? out->scratch_ : nullptr;
    out->scratch_ = nullptr;
    return s;
  }
  bnn_model* model_ = nullptr;
  bnn_model* scratch_ = nullptr;
};

class Interpreter {
 public:
  Interpreter() = default;
  ~Interpreter() { bnn_interpreter_free(it_); }
  Interpreter(Interpreter&& o) noexcept : it_(std::exchange(o.it_, nullptr)) {}
  Interpreter& operator=(Interpreter&& o) noexcept {
    std::swap(it_, o.it_);
    return *this;
  }
  Interpreter(const Interpreter&) = delete;
  Interpreter& operator=(const Interpreter&) = delete;

  static bnn_status Create(const Model& model, Interpreter* out, const bnn_interpreter_options* options = nullptr) {
    bnn_interpreter* it = nullptr;
    const bnn_status s = bnn_interpreter_create(model.get(), options, &it);
    bnn_interpreter_free(out->it_);
    out->it_ = it;
    return s;
  }

  explicit operator bool() const { return it_ != nullptr; }
  bnn_interpreter* get() const { return it_; }
  template <class T>
  T* input(int i) {
    return static_cast<T*>(bnn_interpreter_input(it_, i));
  }
  template <class T>
  const T* output(int i) const {
    return static_cast<const T*>(bnn_interpreter_output(it_, i));
  }
  // Zero copy: input i is read from the caller's buffer (nullptr: the arena's).
  bnn_status SetInput(int i, const void* data, size_t bytes) { return bnn_interpreter_set_input(it_, i, data, bytes); }
  bnn_status Invoke() { return bnn_interpreter_invoke(it_); }
  // Decoded boxes after Invoke (detectors); -1 when the model is not one.
  int Detect(bnn_box* boxes, int max_boxes, float score_threshold = -1, float iou_threshold = -1) {
    return bnn_interpreter_detect(it_, score_threshold, iou_threshold, boxes, max_boxes);
  }
  // The same with each box's landmarks (detectors with "yolo-landmarks" decoding).
  int Detect(bnn_detection* detections, int max_detections, float score_threshold = -1, float iou_threshold = -1) {
    return bnn_interpreter_detect_with_landmarks(it_, score_threshold, iou_threshold, detections, max_detections);
  }
  const char* error() const { return bnn_interpreter_error(it_); }
  const char* kernels() const { return bnn_interpreter_kernels(it_); }
  size_t arena_bytes() const { return bnn_interpreter_arena_bytes(it_); }

 private:
  bnn_interpreter* it_ = nullptr;
};

}  // namespace bnn
