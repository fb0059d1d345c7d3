// camera.cpp: a camera app in C++ that links the installed bnn runtime (only
// <bnn/bnn.hpp> and `pkg-config --cflags --libs bnn opencv4`). It grabs
// frames with OpenCV from a webcam, a video file or a stream, runs a
// detector on each and prints the boxes.
//
// A frame goes to the runtime without a copy when the model takes BGR pixels
// of the frame's size (bnn-convert --input-u8 bgr), as OpenCV delivers them;
// otherwise it is resized into the model's input here.
//
//   usage: camera-cpp MODEL.bnn [CAMERA_INDEX | VIDEO | URL] [MAX_FRAMES]
#include <bnn/bnn.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

namespace {

int Fail(const std::string& what, const std::string& why) {
  std::fprintf(stderr, "camera-cpp: %s: %s\n", what.c_str(), why.c_str());
  return 1;
}

// The frame into the model's input: resized, then 8-bit pixels in the
// model's order or floats normalised as the model says.
void FillInput(const bnn::Model& model, const cv::Mat& frame, bnn::Interpreter& it) {
  const bnn_tensor_info in = model.input_info(0);
  cv::Mat resized;
  cv::resize(frame, resized, cv::Size(in.dims[2], in.dims[1]), 0, 0, cv::INTER_AREA);
  const bnn_pixel_format f = model.input_pixel_format();
  if (f != BNN_PIXELS_NONE) {
    const int code = f == BNN_PIXELS_RGB ? cv::COLOR_BGR2RGB : f == BNN_PIXELS_RGBA ? cv::COLOR_BGR2RGBA
                     : f == BNN_PIXELS_BGRA ? cv::COLOR_BGR2BGRA : f == BNN_PIXELS_GREY ? cv::COLOR_BGR2GRAY : -1;
    cv::Mat out(in.dims[1], in.dims[2], CV_8UC(in.dims[3]), it.input<uint8_t>(0));
    if (code >= 0) cv::cvtColor(resized, out, code);
    else resized.copyTo(out);
    return;
  }
  float mean[3] = {0, 0, 0}, std[3] = {1, 1, 1};
  const int n = bnn_model_normalization(model.get(), mean, std, 3);
  cv::Mat rgb;
  cv::cvtColor(resized, rgb, in.dims[3] == 1 ? cv::COLOR_BGR2GRAY : cv::COLOR_BGR2RGB);
  float* x = it.input<float>(0);
  const int c_count = in.dims[3];
  for (int y = 0; y < rgb.rows; ++y)
    for (int i = 0; i < rgb.cols * c_count; ++i) {
      const int c = n == 1 ? 0 : i % c_count;
      *x++ = (rgb.ptr<uint8_t>(y)[i] / 255.0f - mean[c]) / std[c];
    }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 4) {
    std::fprintf(stderr, "usage: camera-cpp MODEL.bnn [CAMERA_INDEX | VIDEO | URL] [MAX_FRAMES]\n");
    return 2;
  }
  const std::string source = argc > 2 ? argv[2] : "0";
  const long max_frames = argc > 3 ? std::atol(argv[3]) : -1;

  bnn::Model model;
  if (bnn::Model::Load(argv[1], &model) != BNN_OK) return Fail(argv[1], bnn_last_load_error());
  if (bnn_model_detector_check(model.get()) != BNN_OK) return Fail(argv[1], bnn_last_load_error());
  bnn::Interpreter it;
  if (bnn::Interpreter::Create(model, &it) != BNN_OK) return Fail(argv[1], bnn_last_load_error());

  cv::VideoCapture cap;
  const bool camera = source.find_first_not_of("0123456789") == std::string::npos;
  if (camera ? !cap.open(std::atoi(source.c_str()), cv::CAP_V4L2) : !cap.open(source))
    return Fail(source, camera ? "no camera with that index" : "cannot open (not a video or stream)");

  const bnn_tensor_info in = model.input_info(0);
  std::vector<bnn_box> boxes(size_t(bnn_model_detector_max_boxes(model.get())));
  cv::Mat frame;
  for (long k = 0; (max_frames < 0 || k < max_frames) && cap.read(frame); ++k) {
    const bool zero_copy = model.input_pixel_format() == BNN_PIXELS_BGR && frame.type() == CV_8UC3 &&
                           frame.isContinuous() && frame.cols == in.dims[2] && frame.rows == in.dims[1];
    if (zero_copy) {
      it.SetInput(0, frame.data, in.bytes);  // OpenCV's buffer, read in place
    } else {
      it.SetInput(0, nullptr, 0);
      FillInput(model, frame, it);
    }
    if (it.Invoke() != BNN_OK) return Fail("invoke", it.error());
    const int n = it.Detect(boxes.data(), int(boxes.size()));
    if (n < 0) return Fail("detect", it.error());
    const float sx = float(frame.cols) / float(in.dims[2]), sy = float(frame.rows) / float(in.dims[1]);
    std::printf("frame %ld: %d boxes%s\n", k, n, zero_copy ? " (zero copy)" : "");
    for (int i = 0; i < n; ++i)
      std::printf("  %s %.3f [%.1f %.1f %.1f %.1f]\n", model.label(boxes[size_t(i)].label), boxes[size_t(i)].score,
                  boxes[size_t(i)].x0 * sx, boxes[size_t(i)].y0 * sy, boxes[size_t(i)].x1 * sx,
                  boxes[size_t(i)].y1 * sy);
  }
  return 0;
}
