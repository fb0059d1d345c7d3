// bnn-detect: object detection with a .bnn detector on images, folders of
// images or videos. Boxes with class and score go out as JSON (stdout or a
// file); annotated images or a video optionally. The box decoding comes
// from the model's metadata (apps/vision/detection.h).
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>
#include <string>
#include <vector>

#include "image_input.h"
#include "json.h"
#include "overlay.h"
#include "runners.h"

namespace {

const char kUsage[] =
    "usage: bnn-detect --model MODEL.bnn INPUT... [options]\n"
    "\n"
    "INPUT: image files, folders of images, or video files.\n"
    "  --json FILE          write the detections as JSON to FILE (default: stdout)\n"
    "  --annotate PATH      draw the boxes: a folder for images (created if needed),\n"
    "                       or an .avi/.mp4 file for a video input\n"
    "  --score T            score threshold (default: the model's)\n"
    "  --iou T              NMS IoU threshold (default: the model's)\n"
    "  --max-frames N       stop a video after N frames\n";

int Fail(const std::string& m) {
  fprintf(stderr, "bnn-detect: %s\n", m.c_str());
  return 1;
}

std::string ResultJson(const std::string& source, int frame, const cv::Mat& image, double ms,
                       const std::vector<bnn_vision::Box>& boxes, const bnn_vision::DetectorRunner& d) {
  std::string j = "{\"source\": " + bnn_vision::JsonString(source);
  if (frame >= 0) j += ", \"frame\": " + std::to_string(frame);
  char buf[256];
  snprintf(buf, sizeof buf, ", \"width\": %d, \"height\": %d, \"ms\": %.3f, \"detections\": [", image.cols, image.rows,
           ms);
  j += buf;
  for (size_t i = 0; i < boxes.size(); ++i) {
    const bnn_vision::Box& b = boxes[i];
    snprintf(buf, sizeof buf, "%s{\"label\": %s, \"class\": %d, \"score\": %.4f, \"box\": [%.1f, %.1f, %.1f, %.1f]",
             i ? ", " : "", bnn_vision::JsonString(d.Label(b.label)).c_str(), b.label, b.score, b.x0, b.y0, b.x1, b.y1);
    j += buf + bnn_vision::LandmarksJson(b) + "}";
  }
  return j + "]}";
}

std::string BaseName(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_path, json_path, annotate;
  std::vector<std::string> inputs;
  float score = -1, iou = -1;
  long max_frames = -1;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](std::string* v) {
      if (i + 1 >= argc) return false;
      *v = argv[++i];
      return true;
    };
    std::string v;
    if (a == "-h" || a == "--help") {
      fputs(kUsage, stdout);
      return 0;
    } else if (a == "--model") {
      if (!value(&model_path)) return Fail("--model needs a file");
    } else if (a == "--json") {
      if (!value(&json_path)) return Fail("--json needs a file");
    } else if (a == "--annotate") {
      if (!value(&annotate)) return Fail("--annotate needs a path");
    } else if (a == "--score" || a == "--iou") {
      char* end = nullptr;
      if (!value(&v)) return Fail(a + " needs a number");
      const float f = strtof(v.c_str(), &end);
      if (*end || !(f >= 0 && f <= 1)) return Fail(a + " needs a number in [0, 1]");
      (a == "--score" ? score : iou) = f;
    } else if (a == "--max-frames") {
      char* end = nullptr;
      if (!value(&v)) return Fail("--max-frames needs a number");
      max_frames = strtol(v.c_str(), &end, 10);
      if (*end || max_frames <= 0) return Fail("--max-frames needs a positive number");
    } else if (!a.empty() && a[0] == '-') {
      return Fail("unknown option '" + a + "' (see --help)");
    } else {
      inputs.push_back(a);
    }
  }
  if (model_path.empty() || inputs.empty()) {
    fputs(kUsage, stderr);
    return 2;
  }
  bnn_vision::DetectorRunner d;
  std::string error;
  if (!d.Load(model_path, &error)) return Fail(error);
  if (score >= 0) d.config().score_threshold = score;
  if (iou >= 0) d.config().iou_threshold = iou;

  // Expand folders; an empty folder is an error, as is an unreadable input.
  std::vector<std::string> files;
  for (const std::string& in : inputs) {
    if (bnn_vision::IsDirectory(in)) {
      const std::vector<std::string> listed = bnn_vision::ListImages(in);
      if (listed.empty()) return Fail("folder '" + in + "' holds no images");
      files.insert(files.end(), listed.begin(), listed.end());
    } else {
      files.push_back(in);
    }
  }
  const bool annotate_video = !annotate.empty() && bnn_vision::HasVideoExtension(annotate);
  if (!annotate.empty() && !annotate_video) {
    mkdir(annotate.c_str(), 0755);
    if (!bnn_vision::IsDirectory(annotate)) return Fail("cannot create folder '" + annotate + "'");
  }
  std::string out = "{\"model\": " + bnn_vision::JsonString(model_path) + ", \"results\": [";
  bool first = true, failed = false;
  cv::VideoWriter writer;
  for (const std::string& file : files) {
    if (bnn_vision::HasVideoExtension(file)) {
      cv::VideoCapture cap(file);
      if (!cap.isOpened()) {
        fprintf(stderr, "bnn-detect: cannot open video '%s'\n", file.c_str());
        failed = true;
        continue;
      }
      cv::Mat frame;
      for (int f = 0; (max_frames < 0 || f < max_frames) && cap.read(frame); ++f) {
        double ms;
        const auto boxes = d.Detect(frame, &ms);
        out += (first ? "\n  " : ",\n  ") + ResultJson(file, f, frame, ms, boxes, d);
        first = false;
        if (annotate_video) {
          if (!writer.isOpened()) {
            const double fps = cap.get(cv::CAP_PROP_FPS);
            writer.open(annotate, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), fps > 0 ? fps : 25, frame.size());
            if (!writer.isOpened()) return Fail("cannot write video '" + annotate + "'");
          }
          bnn_vision::DrawObjects(&frame, boxes, d);
          writer.write(frame);
        }
      }
      continue;
    }
    cv::Mat image = cv::imread(file, cv::IMREAD_COLOR);
    if (image.empty()) {
      fprintf(stderr, "bnn-detect: cannot read image '%s' (missing, or not an image)\n", file.c_str());
      failed = true;
      continue;
    }
    double ms;
    const auto boxes = d.Detect(image, &ms);
    out += (first ? "\n  " : ",\n  ") + ResultJson(file, -1, image, ms, boxes, d);
    first = false;
    if (!annotate.empty() && !annotate_video) {
      bnn_vision::DrawObjects(&image, boxes, d);
      const std::string path = annotate + "/" + BaseName(file);
      if (!cv::imwrite(path.find('.') == std::string::npos ? path + ".jpg" : path, image)) {
        fprintf(stderr, "bnn-detect: cannot write '%s'\n", path.c_str());
        failed = true;
      }
    }
  }
  out += "\n]}\n";
  if (json_path.empty()) {
    fputs(out.c_str(), stdout);
  } else {
    const std::string tmp = json_path + ".tmp";
    FILE* f = fopen(tmp.c_str(), "w");
    if (!f) return Fail("cannot write '" + tmp + "': " + strerror(errno));
    const bool ok = fputs(out.c_str(), f) >= 0;
    if (fclose(f) != 0 || !ok || rename(tmp.c_str(), json_path.c_str()) != 0) {
      remove(tmp.c_str());
      return Fail("cannot write '" + json_path + "'");
    }
  }
  return failed ? 1 : 0;
}
