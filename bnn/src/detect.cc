// Detector decoding for the C API (bnn_interpreter_detect and
// bnn_interpreter_detect_with_landmarks): YOLO boxes, and the landmarks of
// "yolo-landmarks" models, from a detector's outputs as its metadata
// describes them, then per-class non-maximum suppression. One implementation
// for every app and camera integration; no allocation (the caller's array
// holds the candidates).
#include <math.h>
#include <string.h>

#include <algorithm>

#include "bnn/bnn.h"
#include "interpreter.h"
#include "model.h"

namespace bnn {
ErrorBuffer& LoadErrorBuffer();  // api.cc: bnn_last_load_error()'s text
}  // namespace bnn

namespace {

using bnn::Fail;

constexpr int kMaxStrides = 8;
constexpr int kMaxAnchors = 64;

// The decoding layout of a detector, read from its metadata and outputs.
struct YoloLayout {
  int32_t strides[kMaxStrides];
  int num_strides;
  bnn_anchor anchors[kMaxAnchors];
  int per_stride;  // anchors per stride
  int input_h, input_w;
  int classes;
  int landmarks;  // points per box after the classes
};

bnn_status ReadYolo(const bnn_model* m, YoloLayout* y, bnn::ErrorBuffer* error) {
  memset(y, 0, sizeof *y);
  if (!m) return Fail(error, BNN_ERROR_INVALID_ARGUMENT, "model is NULL");
  if (bnn_model_task(m) != BNN_TASK_DETECTOR)
    return Fail(error, BNN_ERROR_INVALID_MODEL, "the model is not a detector (its task metadata says otherwise)");
  const char* decoding = bnn_model_detector_decoding(m);
  y->landmarks = bnn_model_detector_landmarks(m);
  if (strcmp(decoding, "yolo") == 0) {
    if (y->landmarks != 0)
      return Fail(error, BNN_ERROR_INVALID_MODEL,
                  "the detector declares %d landmarks with 'yolo' decoding (landmarks need 'yolo-landmarks')",
                  y->landmarks);
  } else if (strcmp(decoding, "yolo-landmarks") == 0) {
    if (y->landmarks < 1 || y->landmarks > BNN_MAX_LANDMARKS)
      return Fail(error, y->landmarks < 1 ? BNN_ERROR_INVALID_MODEL : BNN_ERROR_UNSUPPORTED,
                  "'yolo-landmarks' decoding with %d landmarks per box (this build takes 1 to %d)", y->landmarks,
                  BNN_MAX_LANDMARKS);
  } else {
    return Fail(error, BNN_ERROR_UNSUPPORTED, "unknown box decoding '%s' (this build decodes 'yolo' and 'yolo-landmarks')",
                decoding);
  }
  const int anchors = bnn_model_detector_anchors(m, y->anchors, kMaxAnchors);
  y->num_strides = bnn_model_detector_strides(m, y->strides, kMaxStrides);
  if (anchors > kMaxAnchors || y->num_strides > kMaxStrides)
    return Fail(error, BNN_ERROR_UNSUPPORTED, "the detector has %d anchors and %d strides (at most %d and %d)", anchors,
                y->num_strides, kMaxAnchors, kMaxStrides);
  if (y->num_strides == 0 || anchors == 0 || anchors % y->num_strides)
    return Fail(error, BNN_ERROR_INVALID_MODEL,
                "the detector metadata has %d anchors for %d strides (need a whole number of anchors per stride)",
                anchors, y->num_strides);
  y->per_stride = anchors / y->num_strides;
  bnn_tensor_info in;
  if (bnn_model_input_count(m) != 1 || bnn_model_input_info(m, 0, &in) != BNN_OK || in.rank != 4)
    return Fail(error, BNN_ERROR_INVALID_MODEL, "a detector takes one image input");
  y->input_h = in.dims[1];
  y->input_w = in.dims[2];
  if (bnn_model_output_count(m) != y->num_strides)
    return Fail(error, BNN_ERROR_INVALID_MODEL, "the model has %d outputs for %d strides", bnn_model_output_count(m),
                y->num_strides);
  for (int s = 0; s < y->num_strides; ++s) {
    bnn_tensor_info o;
    bnn_model_output_info(m, s, &o);
    const int stride = y->strides[s];
    if (o.dtype != BNN_DTYPE_F32 || o.rank != 4 || o.dims[0] != 1 || stride <= 0 ||
        int64_t(o.dims[1]) * stride != y->input_h || int64_t(o.dims[2]) * stride != y->input_w ||
        o.dims[3] % y->per_stride || o.dims[3] / y->per_stride < 6 + 2 * y->landmarks)
      return Fail(error, BNN_ERROR_INVALID_MODEL,
                  "output %d does not fit stride %d with %d anchors (want [1, %d, %d, anchors x (5 + classes%s)])", s,
                  stride, y->per_stride, y->input_h / (stride > 0 ? stride : 1), y->input_w / (stride > 0 ? stride : 1),
                  y->landmarks ? " + 2 x landmarks" : "");
    const int classes = o.dims[3] / y->per_stride - 5 - 2 * y->landmarks;
    if (s > 0 && classes != y->classes) return Fail(error, BNN_ERROR_INVALID_MODEL, "outputs disagree on the number of classes");
    y->classes = classes;
  }
  return BNN_OK;
}

float Sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

// A total order, best first: equal scores are broken by position so that
// the result never depends on the sort's internals. Box is bnn_box or
// bnn_detection (whose first members are bnn_box's).
template <class Box>
bool Better(const Box& a, const Box& b) {
  if (a.score != b.score) return a.score > b.score;
  if (a.label != b.label) return a.label < b.label;
  if (a.y0 != b.y0) return a.y0 < b.y0;
  return a.x0 < b.x0;
}

template <class Box>
float Iou(const Box& a, const Box& b) {
  const float iw = std::min(a.x1, b.x1) - std::max(a.x0, b.x0), ih = std::min(a.y1, b.y1) - std::max(a.y0, b.y0);
  if (iw <= 0 || ih <= 0) return 0;
  const float inter = iw * ih;
  const float uni = (a.x1 - a.x0) * (a.y1 - a.y0) + (b.x1 - b.x0) * (b.y1 - b.y0) - inter;
  return uni > 0 ? inter / uni : 0;
}

// Keeps the `capacity` best candidates: appended until full, then a heap
// whose top is the worst kept.
template <class Box>
struct Candidates {
  Box* boxes;
  int capacity, count;
  bool heap;

  void Add(const Box& b) {
    if (count < capacity) {
      boxes[count++] = b;
      return;
    }
    if (capacity == 0) return;
    if (!heap) {
      std::make_heap(boxes, boxes + count, Better<Box>);  // top: the worst
      heap = true;
    }
    if (!Better(b, boxes[0])) return;
    std::pop_heap(boxes, boxes + count, Better<Box>);
    boxes[count - 1] = b;
    std::push_heap(boxes, boxes + count, Better<Box>);
  }
};

// The landmarks of a candidate: only bnn_detection has room for them.
void SetLandmarks(bnn_box*, const YoloLayout&, const float*, int, int, int, const bnn_anchor&) {}
void SetLandmarks(bnn_detection* d, const YoloLayout& y, const float* lm, int cx, int cy, int stride,
                  const bnn_anchor& an) {
  d->num_landmarks = y.landmarks;
  const float ox = (float(cx) + 0.5f) * float(stride), oy = (float(cy) + 0.5f) * float(stride);
  for (int k = 0; k < y.landmarks; ++k) d->landmarks[k] = {ox + lm[2 * k] * an.w, oy + lm[2 * k + 1] * an.h};
  for (int k = y.landmarks; k < BNN_MAX_LANDMARKS; ++k) d->landmarks[k] = {0, 0};
}

template <class Box>
int Detect(bnn_interpreter* it, float score_threshold, float iou_threshold, Box* boxes, int max_boxes) {
  if (!it) return -1;
  if (max_boxes < 0 || (max_boxes > 0 && !boxes)) {
    Fail(&it->error, BNN_ERROR_INVALID_ARGUMENT, "bnn_interpreter_detect needs a box array");
    return -1;
  }
  YoloLayout y;
  if (ReadYolo(it->model, &y, &it->error) != BNN_OK) return -1;
  const float score_min = score_threshold >= 0 ? score_threshold : bnn_model_detector_score_threshold(it->model);
  const float iou_max = iou_threshold >= 0 ? iou_threshold : bnn_model_detector_iou_threshold(it->model);
  Candidates<Box> c{boxes, max_boxes, 0, false};
  const int fields = 5 + y.classes + 2 * y.landmarks;
  for (int s = 0; s < y.num_strides; ++s) {
    const float* out = static_cast<const float*>(it->data[it->model->outputs[s]]);
    const int stride = y.strides[s], h = y.input_h / stride, w = y.input_w / stride;
    for (int cy = 0; cy < h; ++cy)
      for (int cx = 0; cx < w; ++cx)
        for (int a = 0; a < y.per_stride; ++a) {
          const float* p = out + (size_t(cy * w + cx) * size_t(y.per_stride) + size_t(a)) * size_t(fields);
          const float obj = Sigmoid(p[4]);
          if (!(obj >= score_min)) continue;  // a class score cannot exceed the objectness
          int best = 0;
          for (int k = 1; k < y.classes; ++k)
            if (p[5 + k] > p[5 + best]) best = k;
          const float score = obj * Sigmoid(p[5 + best]);
          if (!(score >= score_min)) continue;
          const bnn_anchor& an = y.anchors[s * y.per_stride + a];
          const float bx = (Sigmoid(p[0]) + float(cx)) * float(stride), by = (Sigmoid(p[1]) + float(cy)) * float(stride);
          const float bw = an.w * expf(std::min(p[2], 10.0f)), bh = an.h * expf(std::min(p[3], 10.0f));
          Box b{};
          b.x0 = bx - bw / 2;
          b.y0 = by - bh / 2;
          b.x1 = bx + bw / 2;
          b.y1 = by + bh / 2;
          b.score = score;
          b.label = best;
          SetLandmarks(&b, y, p + 5 + y.classes, cx, cy, stride, an);
          c.Add(b);
        }
  }
  std::sort(boxes, boxes + c.count, Better<Box>);
  int kept = 0;
  for (int i = 0; i < c.count; ++i) {
    bool suppressed = false;
    for (int k = 0; k < kept && !suppressed; ++k)
      suppressed = boxes[k].label == boxes[i].label && Iou(boxes[k], boxes[i]) > iou_max;
    if (!suppressed) boxes[kept++] = boxes[i];
  }
  return kept;
}

}  // namespace

extern "C" {

bnn_status bnn_model_detector_check(const bnn_model* model) {
  YoloLayout y;
  return ReadYolo(model, &y, &bnn::LoadErrorBuffer());
}

int bnn_model_detector_classes(const bnn_model* model) {
  YoloLayout y;
  bnn::ErrorBuffer ignored;
  return ReadYolo(model, &y, &ignored) == BNN_OK ? y.classes : 0;
}

int bnn_model_detector_max_boxes(const bnn_model* model) {
  YoloLayout y;
  bnn::ErrorBuffer ignored;
  if (ReadYolo(model, &y, &ignored) != BNN_OK) return 0;
  int64_t n = 0;
  for (int s = 0; s < y.num_strides; ++s)
    n += int64_t(y.input_h / y.strides[s]) * (y.input_w / y.strides[s]) * y.per_stride;
  return n > INT32_MAX ? INT32_MAX : int(n);
}

int bnn_interpreter_detect(bnn_interpreter* it, float score_threshold, float iou_threshold, bnn_box* boxes,
                           int max_boxes) {
  return Detect(it, score_threshold, iou_threshold, boxes, max_boxes);
}

int bnn_interpreter_detect_with_landmarks(bnn_interpreter* it, float score_threshold, float iou_threshold,
                                          bnn_detection* detections, int max_detections) {
  return Detect(it, score_threshold, iou_threshold, detections, max_detections);
}

}  // extern "C"
