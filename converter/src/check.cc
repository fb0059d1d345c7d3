#include "check.h"

#include <math.h>

#include <algorithm>
#include <map>

#include "apps/tools/npy.h"
#include "evaluator.h"
#include "passes.h"

#ifdef BNN_HAVE_OPENCV
#include <onnx/onnx_pb.h>

#include <fstream>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/dnn.hpp>
#include <sstream>
#endif

namespace bnnc {
namespace {

#ifdef BNN_HAVE_OPENCV
// OpenCV DNN as the float reference, on the ONNX file as written, with two
// rewrites of what OpenCV 4.6 refuses: the Identity nodes PyTorch puts on
// shared initializers, and nodes computing from initializers only (weights
// binarised in the forward pass, Sign(W) and the like), both replaced by
// initializers holding their values (the converter's constant folding).
class OpenCvReference {
 public:
  bool Load(const std::string& onnx_path, const Graph& ref, std::string* why) {
    const std::vector<std::string>& outputs = ref.outputs;
    std::ifstream f(onnx_path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    onnx::ModelProto m;
    if (!m.ParseFromString(ss.str())) {
      *why = "cannot parse the file";
      return false;
    }
    onnx::GraphProto* g = m.mutable_graph();
    for (int i = g->node_size() - 1; i >= 0; --i) {
      const onnx::NodeProto& n = g->node(i);
      if (n.op_type() != "Identity" || n.input_size() != 1 || n.output_size() != 1) continue;
      for (int k = 0; k < g->initializer_size(); ++k) {
        if (g->initializer(k).name() != n.input(0)) continue;
        onnx::TensorProto* copy = g->add_initializer();
        *copy = g->initializer(k);
        copy->set_name(n.output(0));
        g->mutable_node()->DeleteSubrange(i, 1);
        break;
      }
    }
    Graph folded = ref;
    PassLog ignored;
    std::string fold_error;
    if (FoldConstants(&folded, &ignored, &fold_error)) {
      std::vector<std::string> names;
      for (int i = g->node_size() - 1; i >= 0; --i) {
        const onnx::NodeProto& n = g->node(i);
        bool all = n.output_size() > 0;
        for (const std::string& o : n.output()) all = all && folded.constants.count(o) && !ref.constants.count(o);
        if (!all) continue;
        names.insert(names.end(), n.output().begin(), n.output().end());
        g->mutable_node()->DeleteSubrange(i, 1);
      }
      for (const std::string& name : names) {
        const Value& v = folded.constants.at(name);
        onnx::TensorProto* t = g->add_initializer();
        t->set_name(name);
        for (int64_t d : v.shape) t->add_dims(d);
        if (v.type == DType::F32) {
          t->set_data_type(onnx::TensorProto_DataType_FLOAT);
          for (float x : v.f) t->add_float_data(x);
        } else {
          t->set_data_type(onnx::TensorProto_DataType_INT64);
          for (int64_t x : v.i) t->add_int64_data(x);
        }
      }
    }
    // OpenCV wants every graph output's shape: the converter has inferred them.
    for (int k = 0; k < g->output_size(); ++k) {
      onnx::ValueInfoProto* o = g->mutable_output(k);
      const auto shape = ref.shapes.find(o->name());
      if (shape == ref.shapes.end() || (o->type().has_tensor_type() && o->type().tensor_type().has_shape())) continue;
      onnx::TypeProto_Tensor* t = o->mutable_type()->mutable_tensor_type();
      t->set_elem_type(onnx::TensorProto_DataType_FLOAT);
      for (int64_t d : shape->second) t->mutable_shape()->add_dim()->set_dim_value(d);
    }
    const std::string bytes = m.SerializeAsString();
    cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
    try {
      net_ = cv::dnn::readNetFromONNX(bytes.data(), bytes.size());
      net_.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
      net_.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
    } catch (const cv::Exception& e) {
      *why = Reason(e.what());
      return false;
    }
    outputs_ = outputs;
    return true;
  }

  bool Run(const Value& in, std::vector<Value>* out, std::string* why) {
    std::vector<int> dims(in.shape.begin(), in.shape.end());
    cv::Mat blob(int(dims.size()), dims.data(), CV_32F, const_cast<float*>(in.f.data()));
    std::vector<cv::Mat> results;
    try {
      net_.setInput(blob);
      net_.forward(results, outputs_);
    } catch (const cv::Exception& e) {
      *why = Reason(e.what());
      return false;
    }
    out->clear();
    for (const cv::Mat& r : results) {
      Value v;
      for (int d = 0; d < r.dims; ++d) v.shape.push_back(r.size[d]);
      const cv::Mat c = r.isContinuous() ? r : r.clone();
      v.f.assign(c.ptr<float>(), c.ptr<float>() + c.total());
      out->push_back(std::move(v));
    }
    return true;
  }

 private:
  // The innermost reason: OpenCV nests the cause after the importer's own
  // "error: ... in function 'handleNode'".
  static std::string Reason(const std::string& s) {
    const size_t start = s.rfind("error: ");
    std::string t = s.substr(start == std::string::npos ? 0 : start + 7);
    return t.substr(0, t.find('\n'));
  }
  cv::dnn::Net net_;
  std::vector<std::string> outputs_;
};
#endif

// Copies between ONNX's NCHW and the runtime's NHWC for 4-D tensors.
void Relayout(const float* src, float* dst, const std::vector<int64_t>& nchw, bool to_nhwc) {
  if (nchw.size() != 4) {
    int64_t n = 1;
    for (int64_t d : nchw) n *= d;
    std::copy(src, src + n, dst);
    return;
  }
  const int64_t N = nchw[0], C = nchw[1], H = nchw[2], W = nchw[3];
  for (int64_t b = 0; b < N; ++b)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t y = 0; y < H; ++y)
        for (int64_t x = 0; x < W; ++x) {
          const int64_t i_nchw = ((b * C + c) * H + y) * W + x, i_nhwc = ((b * H + y) * W + x) * C + c;
          if (to_nhwc) dst[i_nhwc] = src[i_nchw];
          else dst[i_nchw] = src[i_nhwc];
        }
}

int64_t Argmax(const std::vector<float>& v) { return std::max_element(v.begin(), v.end()) - v.begin(); }

// A model with an 8-bit pixel input (bnn-convert --input-u8): the float
// item (NCHW, normalised) becomes the pixels it stands for, written in the
// model's pixel format; the item is replaced by those pixels normalised
// again, so that both sides see the same image.
void ToPixels(const bnn_model* m, const std::vector<int64_t>& nchw, std::vector<float>* item, uint8_t* pixels) {
  const int64_t C = nchw[1], HW = nchw[2] * nchw[3];
  float mean[4] = {0, 0, 0, 0}, std[4] = {1, 1, 1, 1};
  const int n = bnn_model_normalization(m, mean, std, 4);
  const bnn_pixel_format f = bnn_model_input_pixel_format(m);
  bnn_tensor_info in;
  bnn_model_input_info(m, 0, &in);
  const int64_t bytes = in.dims[3];  // a pixel's bytes: the pixel input is [1, H, W, bytes]
  const bool bgr = f == BNN_PIXELS_BGR || f == BNN_PIXELS_BGRA;
  for (int64_t c = 0; c < C; ++c) {
    const float mu = n == 1 ? mean[0] : n ? mean[c] : 0.0f, sd = n == 1 ? std[0] : n ? std[c] : 1.0f;
    for (int64_t p = 0; p < HW; ++p) {
      float& v = (*item)[size_t(c * HW + p)];
      const float px = std::min(255.0f, std::max(0.0f, nearbyintf((v * sd + mu) * 255.0f)));
      pixels[p * bytes + (bgr ? 2 - c : c)] = uint8_t(px);
      if (bytes == 4) pixels[p * bytes + 3] = 255;
      v = (px / 255.0f - mu) / sd;
    }
  }
}

}  // namespace

bool CheckModel(const Graph& ref, const std::string& onnx_path, const bnn::Model& model, const std::string& npy_path,
                CheckResult* r, std::string* error) {
  if (ref.inputs.size() != 1) {
    *error = "needs a model with one input";
    return false;
  }
  bnn_tools::Array x;
  if (!bnn_tools::ReadNpy(npy_path, &x, error)) return false;
  const std::vector<int64_t>& shape = ref.input_shapes.at(ref.inputs[0]);
  // A batch of items: [B, d1, d2, ...] for a model input [1, d1, d2, ...].
  const bool fits = !shape.empty() && shape[0] == 1 && x.shape.size() == shape.size() &&
                    std::equal(shape.begin() + 1, shape.end(), x.shape.begin() + 1);
  if (!fits) {
    *error = npy_path + " has shape " + ShapeString(x.shape) + "; the model's input is " + ShapeString(shape) +
             " (give a batch of those along the first axis)";
    return false;
  }
  const int64_t item = int64_t(x.data.size()) / std::max<int64_t>(x.shape[0], 1);
  bnn::Interpreter it;
  if (bnn::Interpreter::Create(model, &it) != BNN_OK) {
    *error = std::string("cannot create an interpreter: ") + bnn_last_load_error();
    return false;
  }
  const bool pixels = model.input_info(0).dtype == BNN_DTYPE_U8;
  const int64_t items = x.shape[0];
  *r = CheckResult();
  const std::string interpreter = "the converter's float interpreter";
  r->reference = interpreter + " (this build has no OpenCV)";
  bool use_cv = false;
#ifdef BNN_HAVE_OPENCV
  OpenCvReference cv_ref;
  std::string why;
  use_cv = cv_ref.Load(onnx_path, ref, &why);
  r->reference = use_cv ? "OpenCV DNN " CV_VERSION : interpreter + " (OpenCV DNN cannot read the model: " + why + ")";
#else
  (void)onnx_path;
#endif
  for (int64_t i = 0; i < items; ++i) {
    Value in;
    in.shape = shape;
    in.f.assign(x.data.begin() + i * item, x.data.begin() + (i + 1) * item);
    if (pixels) ToPixels(model.get(), shape, &in.f, it.input<uint8_t>(0));
    std::map<std::string, Value> values;
#ifdef BNN_HAVE_OPENCV
    std::vector<Value> cv_out;
    if (use_cv && !cv_ref.Run(in, &cv_out, &why)) {
      use_cv = false;  // from here on, for every item
      r->reference = interpreter + " (OpenCV DNN cannot run the model: " + why + ")";
    }
    if (use_cv) {
      for (size_t o = 0; o < ref.outputs.size(); ++o) values[ref.outputs[o]] = std::move(cv_out[o]);
    }
#endif
    if (!use_cv && !RunGraph(ref, {{ref.inputs[0], in}}, &values, error)) return false;
    if (!pixels) Relayout(in.f.data(), it.input<float>(0), shape, true);
    if (it.Invoke() != BNN_OK) {
      *error = std::string("invoke failed: ") + it.error();
      return false;
    }
    std::vector<float> first_ref, first_bnn;
    for (size_t o = 0; o < ref.outputs.size(); ++o) {
      const Value& want = values.at(ref.outputs[o]);
      std::vector<float> got(want.count());
      Relayout(it.output<float>(int(o)), got.data(), want.shape, false);
      for (int64_t k = 0; k < want.count(); ++k) {
        const double d = fabs(double(got[k]) - double(want.f[k]));
        if (!(d <= r->max_difference)) {
          r->max_difference = d;
          r->worst_output = ref.outputs[o];
        }
      }
      if (o == 0) {
        first_ref = want.f;
        first_bnn = got;
      }
    }
    r->top1_agree += !first_ref.empty() && Argmax(first_ref) == Argmax(first_bnn);
    ++r->items;
  }
  return true;
}

}  // namespace bnnc
