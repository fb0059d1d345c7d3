// bnn-demo: object detection and face recognition on every frame of a
// webcam, video, stream or image folder, on one core, with the shipped
// binary models. Live in a window (boxes, names, per-stage milliseconds,
// frames per second; keys to enroll a face, switch models, pause, quit) or
// headless (an annotated video or image sequence and a JSON line per frame).
// With no argument it uses the camera, or, without one, sample videos from
// Debian's opencv-doc package and a gallery enrolled from sample images.
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <opencv2/highgui.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>
#include <string>
#include <vector>

#include "demo_paths.h"
#include "faces.h"
#include "gallery.h"
#include "image_input.h"
#include "json.h"
#include "overlay.h"
#include "runners.h"

namespace {

const char kUsage[] =
    "usage: bnn-demo [SOURCE...] [options]\n"
    "\n"
    "SOURCE: a camera (0, 1, ... or /dev/videoN), a video file, a stream URL, an\n"
    "image, or a folder of images. Without one: camera 0, or when there is no\n"
    "camera, the built-in sample (opencv-doc's vtest.avi and Megamind.avi).\n"
    "\n"
    "  --headless           no window: write annotated output and a JSON log to --out\n"
    "                       (the default when there is no display)\n"
    "  --out DIR            headless output folder (default bnn-demo-out)\n"
    "  --frames             headless: write annotated JPEG frames instead of a video\n"
    "  --json FILE          also log one JSON line per frame to FILE (- for stdout)\n"
    "  --detector D.bnn     object detector (default: the shipped person+raccoon model)\n"
    "  --face-detector F.bnn  face detector (default: the shipped one)\n"
    "  --embedder E.bnn     face embedder (default: the shipped one)\n"
    "  --gallery G          face gallery (default DIR/demo.gallery, enrolled from the\n"
    "                       sample images when it does not exist yet)\n"
    "  --threshold T        cosine similarity for a recognised face (default: the embedder's\n"
    "                       calibrated threshold, or 0.5 for a model without one)\n"
    "  --score T            object score threshold (default: the model's)\n"
    "  --no-objects, --no-faces  run only one of the two pipelines\n"
    "  --max-frames N       stop each source after N frames\n"
    "  --loop               start a video or folder again at its end\n"
    "\n"
    "Keys (window): e enroll the largest face in view (type a name, Enter; Esc\n"
    "cancels), m switch models (both / objects / faces), p or space pause, q or Esc quit.\n";

int Fail(const std::string& m) {
  fprintf(stderr, "bnn-demo: %s\n", m.c_str());
  return 1;
}

// Messages go to stdout, or to stderr when the JSON log takes stdout.
FILE* g_messages = stdout;

double NowMs() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

bool Exists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

std::string Stem(const std::string& path) {
  std::string s = path;
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  const size_t slash = s.find_last_of('/');
  if (slash != std::string::npos) s = s.substr(slash + 1);
  const size_t dot = s.find_last_of('.');
  if (dot != std::string::npos && dot > 0) s = s.substr(0, dot);
  for (char& c : s)
    if (!isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') c = '_';
  return s.empty() ? "source" : s;
}

// A shipped model: $BNN_MODELS, then the source tree (a build run in place),
// then the installed data folder.
std::string FindModel(const std::string& relative) {
  std::vector<std::string> dirs;
  if (const char* env = getenv("BNN_MODELS")) dirs.push_back(env);
  dirs.push_back(BNN_SOURCE_MODELS_DIR);
  dirs.push_back(BNN_INSTALLED_MODELS_DIR);
  for (const std::string& d : dirs)
    if (Exists(d + "/" + relative)) return d + "/" + relative;
  return "";
}

// ---- Frame sources -----------------------------------------------------------

class FrameSource {
 public:
  bool Open(const std::string& spec, bool loop, std::string* error) {
    spec_ = spec;
    loop_ = loop;
    name_ = Stem(spec);
    const bool digits = !spec.empty() && spec.find_first_not_of("0123456789") == std::string::npos;
    if (digits || spec.rfind("/dev/video", 0) == 0) {
      const std::string device = digits ? "/dev/video" + spec : spec;
      camera_ = true;
      name_ = "camera" + device.substr(strlen("/dev/video"));
      if (!Exists(device)) {
        *error = "no camera at " + device + " (no such device: is a webcam plugged in?)";
        return false;
      }
      if (digits ? !cap_.open(atoi(spec.c_str()), cv::CAP_V4L2) : !cap_.open(device, cv::CAP_V4L2)) {
        *error = "cannot open camera " + device + " (busy, or not a capture device)";
        return false;
      }
      return true;
    }
    if (bnn_vision::IsDirectory(spec)) {
      images_ = bnn_vision::ListImages(spec);
      if (images_.empty()) {
        *error = "folder '" + spec + "' holds no images";
        return false;
      }
      return true;
    }
    const bool url = spec.find("://") != std::string::npos;
    if (!url && !Exists(spec)) {
      *error = "cannot open '" + spec + "': no such file";
      return false;
    }
    if (!url && !bnn_vision::HasVideoExtension(spec)) {
      still_ = cv::imread(spec, cv::IMREAD_COLOR);
      if (!still_.empty()) return true;
    }
    if (!cap_.open(spec)) {
      *error = "cannot open '" + spec + "' (not a video, image or stream OpenCV can read)";
      return false;
    }
    return true;
  }

  // The next frame; false at the end (or when a camera stops).
  bool Read(cv::Mat* frame) {
    if (!still_.empty()) {
      if (index_ > 0 && !loop_) return false;
      still_.copyTo(*frame);
      ++index_;
      return true;
    }
    if (!images_.empty()) {
      while (true) {
        if (next_image_ >= images_.size()) {
          if (!loop_) return false;
          next_image_ = 0;
        }
        const std::string& path = images_[next_image_++];
        *frame = cv::imread(path, cv::IMREAD_COLOR);
        if (!frame->empty()) break;
        fprintf(stderr, "bnn-demo: skipping '%s' (not an image)\n", path.c_str());
        skipped_ = true;
      }
      ++index_;
      return true;
    }
    if (cap_.read(*frame) && !frame->empty()) {
      ++index_;
      return true;
    }
    if (!loop_ || camera_ || index_ == 0) return false;
    cap_.set(cv::CAP_PROP_POS_FRAMES, 0);
    if (!cap_.read(*frame) || frame->empty()) return false;
    ++index_;
    return true;
  }

  // Frames in the source, -1 when unknown (cameras, streams, loops).
  long frame_count() {
    if (loop_ || camera_) return -1;
    if (!still_.empty()) return 1;
    if (!images_.empty()) return long(images_.size());
    const double n = cap_.get(cv::CAP_PROP_FRAME_COUNT);
    return n > 0 ? long(n) : -1;
  }
  double fps() {
    const double f = cap_.isOpened() ? cap_.get(cv::CAP_PROP_FPS) : 0;
    return f > 1 && f < 240 ? f : 25;
  }
  const std::string& name() const { return name_; }
  const std::string& spec() const { return spec_; }
  bool camera() const { return camera_; }
  bool still() const { return !still_.empty(); }
  void set_loop(bool loop) { loop_ = loop; }
  bool skipped() const { return skipped_; }

 private:
  std::string spec_, name_;
  bool loop_ = false, camera_ = false, skipped_ = false;
  cv::VideoCapture cap_;
  cv::Mat still_;
  std::vector<std::string> images_;
  size_t next_image_ = 0;
  long index_ = 0;
};

// ---- The pipeline --------------------------------------------------------------

enum class Mode { kBoth, kObjects, kFaces };

const char* ModeName(Mode m) {
  return m == Mode::kBoth ? "objects + faces" : m == Mode::kObjects ? "objects only" : "faces only";
}

struct FrameResult {
  std::vector<bnn_vision::Box> objects;
  bnn_vision::FoundFaces faces;
  std::vector<bnn_vision::Match> matches;
  double objects_ms = 0, total_ms = 0;
};

struct Demo {
  bnn_vision::DetectorRunner objects;
  bnn_vision::FaceRecognizer faces;
  bool has_objects = false, has_faces = false;
  Mode mode = Mode::kBoth;
  bnn_vision::Gallery gallery;
  std::string gallery_path;
  float threshold = 0.5f;  // cosine similarity for a recognised face
  std::string kernels;  // the SIMD target the models run on

  bool objects_on() const { return has_objects && mode != Mode::kFaces; }
  bool faces_on() const { return has_faces && mode != Mode::kObjects; }

  FrameResult Process(const cv::Mat& frame) {
    FrameResult r;
    const double t0 = NowMs();
    if (objects_on()) r.objects = objects.Detect(frame, &r.objects_ms);
    if (faces_on()) {
      r.faces = faces.Find(frame);
      for (const auto& e : r.faces.embeddings) r.matches.push_back(bnn_vision::BestMatch(gallery, e.data(), threshold));
    }
    r.total_ms = NowMs() - t0;
    return r;
  }

  void NextMode() {
    do {
      mode = mode == Mode::kBoth ? Mode::kObjects : mode == Mode::kObjects ? Mode::kFaces : Mode::kBoth;
    } while ((mode == Mode::kObjects && !has_objects) || (mode == Mode::kFaces && !has_faces) ||
             (mode == Mode::kBoth && !(has_objects && has_faces)));
  }

  // Enrolls `embedding` as `name` and saves the gallery.
  bool Enroll(std::vector<float> embedding, const std::string& name, std::string* message) {
    bnn_vision::Gallery next = gallery;
    next.dim = uint32_t(faces.dim());
    bnn_vision::SetGalleryEntry(&next, name, std::move(embedding));
    std::string error;
    if (!bnn_vision::SaveGallery(gallery_path, next, &error)) {
      *message = error + " (the gallery was not changed)";
      return false;
    }
    gallery = std::move(next);
    *message = "enrolled '" + name + "' (" + gallery_path + ": " + std::to_string(gallery.entries.size()) + " people)";
    return true;
  }
};

std::string FrameJson(const Demo& d, const std::string& source, long frame, const cv::Mat& image,
                      const FrameResult& r) {
  char buf[320];
  snprintf(buf, sizeof buf,
           "{\"source\": %s, \"frame\": %ld, \"width\": %d, \"height\": %d, "
           "\"ms\": {\"objects\": %.3f, \"face_detect\": %.3f, \"embed\": %.3f, \"total\": %.3f}, \"objects\": [",
           bnn_vision::JsonString(source).c_str(), frame, image.cols, image.rows, r.objects_ms, r.faces.detect_ms,
           r.faces.embed_ms, r.total_ms);
  std::string j = buf;
  for (size_t i = 0; i < r.objects.size(); ++i) {
    const bnn_vision::Box& b = r.objects[i];
    snprintf(buf, sizeof buf, "%s{\"label\": %s, \"class\": %d, \"score\": %.4f, \"box\": [%.1f, %.1f, %.1f, %.1f]}",
             i ? ", " : "", bnn_vision::JsonString(d.objects.Label(b.label)).c_str(), b.label, b.score, b.x0, b.y0,
             b.x1, b.y1);
    j += buf;
  }
  j += "], \"faces\": [";
  for (size_t i = 0; i < r.faces.boxes.size(); ++i) {
    const bnn_vision::Box& b = r.faces.boxes[i];
    const bnn_vision::Match& m = r.matches[i];
    snprintf(buf, sizeof buf,
             "%s{\"name\": %s, \"known\": %s, \"similarity\": %.4f, \"score\": %.4f, \"box\": [%.1f, %.1f, %.1f, %.1f]",
             i ? ", " : "", bnn_vision::JsonString(m.known ? m.name : "unknown").c_str(), m.known ? "true" : "false",
             m.similarity, b.score, b.x0, b.y0, b.x1, b.y1);
    j += buf + bnn_vision::LandmarksJson(b) + "}";
  }
  return j + "]}";
}

// The stats panel: per-stage milliseconds, frames per second, mode, target.
std::vector<std::string> PanelLines(const Demo& d, const FrameResult& r, double fps, const std::string& status) {
  std::vector<std::string> lines;
  char buf[256];
  snprintf(buf, sizeof buf, "%.1f fps   %.1f ms/frame   %s   %s", fps, r.total_ms, ModeName(d.mode),
           d.kernels.c_str());
  lines.push_back(buf);
  if (d.objects_on()) {
    snprintf(buf, sizeof buf, "objects %5.1f ms  (%zu found)", r.objects_ms, r.objects.size());
    lines.push_back(buf);
  }
  if (d.faces_on()) {
    snprintf(buf, sizeof buf, "faces   %5.1f ms  embed %4.1f ms x %zu", r.faces.detect_ms, r.faces.embed_ms,
             r.faces.boxes.size());
    lines.push_back(buf);
  }
  if (!status.empty()) lines.push_back(status);
  return lines;
}

// ---- Default sample data -------------------------------------------------------

const std::string kSampleDir = BNN_SAMPLE_DIR;
const std::string kVideoPeople = kSampleDir + "/vtest.avi";
const std::string kVideoFace = kSampleDir + "/Megamind.avi";

// A gallery of the faces that install with Debian packages, used when the
// user has none yet: Grace Hopper (facedetect) and
// Roxanne, the woman whose face is the largest in the first 60 frames of
// opencv-doc's Megamind.avi (the mean over them); the demo then tells her
// from the man with glasses who fills the next scenes ("unknown").
bool EnrollSamples(Demo* d, std::string* error) {
  struct Sample {
    const char* name;
    std::string path;
    int frames;  // video frames to read (0: an image)
  };
  const Sample samples[] = {
      {"Grace Hopper", "/usr/share/doc/facedetect/examples/grace_hopper_512x512.jpg", 0},
      {"Roxanne", kVideoFace, 60},
  };
  d->gallery.dim = uint32_t(d->faces.dim());
  for (const Sample& s : samples) {
    std::vector<cv::Mat> images;
    if (s.frames > 0) {
      cv::VideoCapture cap(s.path);
      cv::Mat frame;
      for (int k = 0; k < s.frames && cap.isOpened() && cap.read(frame); ++k)
        if (k % 3 == 0) images.push_back(frame.clone());
    } else {
      cv::Mat img = cv::imread(s.path, cv::IMREAD_COLOR);
      if (!img.empty()) images.push_back(img);
    }
    std::vector<float> sum(size_t(d->faces.dim()), 0.0f), e;
    int found = 0;
    for (const cv::Mat& img : images) {
      if (!d->faces.Largest(img, &e)) continue;
      for (size_t k = 0; k < e.size(); ++k) sum[k] += e[k];
      ++found;
    }
    if (images.empty())
      fprintf(g_messages, "bnn-demo: sample gallery: %s is not installed, skipping %s\n", s.path.c_str(), s.name);
    else if (found == 0)
      fprintf(g_messages, "bnn-demo: sample gallery: no face found in %s, skipping %s\n", s.path.c_str(), s.name);
    else
      bnn_vision::SetGalleryEntry(&d->gallery, s.name, std::move(sum));
  }
  if (!bnn_vision::SaveGallery(d->gallery_path, d->gallery, error)) return false;
  fprintf(g_messages, "bnn-demo: enrolled %zu sample faces into %s\n", d->gallery.entries.size(), d->gallery_path.c_str());
  return true;
}

// ---- Headless output -----------------------------------------------------------

class Progress {
 public:
  Progress(const std::string& name, long total) : name_(name), total_(total), tty_(isatty(2) != 0) {}
  void Update(long done, double fps) {
    if (total_ <= 0) {
      if (tty_ && done % 10 == 0) fprintf(stderr, "\r  %s  %ld frames  %.1f fps   ", name_.c_str(), done, fps);
      return;
    }
    const int width = 30, filled = int(double(width) * double(done) / double(total_));
    if (tty_) {
      fprintf(stderr, "\r  %s  [%s%s]  %ld/%ld  %.1f fps   ", name_.c_str(), std::string(size_t(filled), '#').c_str(),
              std::string(size_t(width - std::min(filled, width)), '-').c_str(), done, total_, fps);
    } else if (done * 10 / total_ != last_decile_) {  // a log file: a line per 10 %
      last_decile_ = done * 10 / total_;
      fprintf(stderr, "  %s  %ld/%ld frames (%ld %%)  %.1f fps\n", name_.c_str(), done, total_, done * 100 / total_,
              fps);
    }
  }
  void Done() {
    if (tty_) fputc('\n', stderr);
  }

 private:
  std::string name_;
  long total_;
  bool tty_;
  long last_decile_ = 0;
};

struct Settings {
  bool headless = false, frames = false, loop = false;
  std::string out_dir = "bnn-demo-out", json_path;
  long max_frames = -1;
};

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Runs one source through the demo. Returns 0, 1 on an error, or 3 when the
// user quit (no further sources).
int RunSource(Demo& d, FrameSource& src, const Settings& s, FILE* json) {
  const bool window = !s.headless;
  const std::string window_name = "bnn-demo";
  cv::VideoWriter writer;
  std::string video_path, frames_dir, log_path;
  FILE* log = json;  // the caller's --json file, or this source's own log
  std::unique_ptr<FILE, int (*)(FILE*)> own_log(nullptr, fclose);
  if (window) {
    if (src.still()) src.set_loop(true);  // an image stays on screen until quit
    cv::namedWindow(window_name, cv::WINDOW_AUTOSIZE | cv::WINDOW_GUI_NORMAL);
  }
  if (s.headless) {
    const std::string base = s.out_dir + "/" + src.name();
    if (s.frames) {
      frames_dir = base;
      mkdir(frames_dir.c_str(), 0755);
      if (!bnn_vision::IsDirectory(frames_dir)) return Fail("cannot create folder '" + frames_dir + "'");
    } else {
      video_path = base + ".avi";
    }
    if (!log) {
      log_path = base + ".jsonl";
      own_log.reset(fopen(log_path.c_str(), "w"));
      log = own_log.get();
      if (!log) return Fail("cannot write '" + log_path + "'");
    }
  }
  Progress progress(src.name(), s.max_frames > 0 && src.frame_count() > s.max_frames ? s.max_frames : src.frame_count());
  std::vector<double> totals, objects_ms, faces_ms, embed_ms;
  cv::Mat frame, raw, view;
  double fps = 0, last_frame_at = 0;
  bool paused = false, typing = false, quit = false;
  std::string name_buffer, status;
  double status_until = 0;
  std::vector<float> pending_embedding;  // the face in view when e was pressed
  long n = 0;
  FrameResult r;
  auto say = [&](const std::string& m) {
    fprintf(g_messages, "bnn-demo: %s\n", m.c_str());
    fflush(g_messages);
    status = m;
    status_until = NowMs() + 3000;
  };
  while (!quit) {
    // Paused or typing a name: the frame stands still, so no key is lost
    // while a frame is processed.
    if ((!paused && !typing) || raw.empty()) {
      if ((s.max_frames > 0 && n >= s.max_frames) || !src.Read(&frame)) break;
      raw = frame;
      r = d.Process(raw);
      const double now = NowMs();
      if (last_frame_at > 0) {
        const double inst = 1000.0 / std::max(1e-3, now - last_frame_at);
        fps = fps > 0 ? 0.9 * fps + 0.1 * inst : inst;
      }
      last_frame_at = now;
      totals.push_back(r.total_ms);
      objects_ms.push_back(r.objects_ms);
      faces_ms.push_back(r.faces.detect_ms);
      embed_ms.push_back(r.faces.embed_ms);
      if (log) {
        fprintf(log, "%s\n", FrameJson(d, src.spec(), n, raw, r).c_str());
        fflush(log);
      }
      ++n;
    }
    view = raw.clone();
    if (d.objects_on()) bnn_vision::DrawObjects(&view, r.objects, d.objects);
    if (d.faces_on()) bnn_vision::DrawFaces(&view, r.faces.boxes, r.matches);
    std::string line = NowMs() < status_until ? status : "";
    if (typing) line = "enroll as: " + name_buffer + "_   (Enter saves, Esc cancels)";
    else if (paused) line = "paused (p resumes)";
    bnn_vision::DrawPanel(&view, PanelLines(d, r, fps, line));

    if (s.headless) {
      if (s.frames) {
        char file[64];
        snprintf(file, sizeof file, "/%06ld.jpg", n - 1);
        if (!cv::imwrite(frames_dir + file, view)) return Fail("cannot write '" + frames_dir + file + "'");
      } else {
        if (!writer.isOpened()) {
          writer.open(video_path, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), src.fps(), view.size());
          if (!writer.isOpened()) return Fail("cannot write video '" + video_path + "'");
        }
        writer.write(view);
      }
      progress.Update(n, fps);
      continue;
    }

    cv::imshow(window_name, view);
    const int key = cv::waitKey(paused || typing || src.still() ? 30 : 1);
    if (cv::getWindowProperty(window_name, cv::WND_PROP_VISIBLE) < 1) break;  // closed by the user
    if (key < 0) continue;
    const int k = key & 0xFF;
    if (typing) {
      if (k == 27) {
        typing = false;
        say("enrollment cancelled");
      } else if (k == 13 || k == 10) {
        typing = false;
        std::string message;
        if (name_buffer.empty()) say("enrollment cancelled (no name)");
        else {
          d.Enroll(pending_embedding, name_buffer, &message);
          say(message);
        }
      } else if (k == 8 || k == 127) {
        if (!name_buffer.empty()) name_buffer.pop_back();
      } else if (k >= 32 && k < 127 && name_buffer.size() < 64) {
        // OpenCV's Qt window reports letters in lower case only: capitalise
        // each word, as names are written.
        const bool word_start = name_buffer.empty() || name_buffer.back() == ' ';
        name_buffer += word_start ? char(toupper(k)) : char(k);
      }
      continue;
    }
    if (k == 'q' || k == 27) {
      quit = true;
    } else if (k == 'p' || k == ' ') {
      paused = !paused;
      say(paused ? "paused" : "resumed");
    } else if (k == 'm') {
      d.NextMode();
      say(std::string("models: ") + ModeName(d.mode));
    } else if (k == 'e') {
      if (!d.has_faces) {
        say("face recognition is off (no embedder)");
      } else if (!d.faces.Largest(raw, &pending_embedding)) {
        say("no face in view to enroll");
      } else {
        name_buffer.clear();
        typing = true;
        say("type a name for the face, then Enter");
      }
    }
  }
  progress.Done();
  own_log.reset();
  if (writer.isOpened()) writer.release();
  if (n == 0) return Fail("'" + src.spec() + "' gave no frames");
  fprintf(g_messages, "bnn-demo: %s: %ld frames, median %.1f ms/frame (objects %.1f, faces %.1f, embeddings %.1f)", src.name().c_str(),
         n, Median(totals), Median(objects_ms), Median(faces_ms), Median(embed_ms));
  if (!video_path.empty()) fprintf(g_messages, "; wrote %s", video_path.c_str());
  if (!frames_dir.empty()) fprintf(g_messages, "; wrote %s/", frames_dir.c_str());
  if (!log_path.empty()) fprintf(g_messages, " and %s", log_path.c_str());
  fprintf(g_messages, "\n");
  fflush(g_messages);
  if (window && quit) return 3;
  return src.skipped() ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  Settings s;
  std::vector<std::string> sources;
  std::string detector, face_detector, embedder, gallery;
  bool no_objects = false, no_faces = false;
  float threshold = NAN, score = -1;  // NAN: the embedder's
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
    } else if (a == "--headless") {
      s.headless = true;
    } else if (a == "--frames") {
      s.frames = true;
    } else if (a == "--loop") {
      s.loop = true;
    } else if (a == "--no-objects") {
      no_objects = true;
    } else if (a == "--no-faces") {
      no_faces = true;
    } else if (a == "--out" || a == "--json" || a == "--detector" || a == "--face-detector" || a == "--embedder" ||
               a == "--gallery") {
      if (!value(&v) || v.empty()) return Fail(a + " needs a value");
      (a == "--out" ? s.out_dir : a == "--json" ? s.json_path : a == "--detector" ? detector
       : a == "--face-detector"                 ? face_detector
       : a == "--embedder"                      ? embedder
                                                : gallery) = v;
    } else if (a == "--threshold" || a == "--score") {
      char* end = nullptr;
      if (!value(&v)) return Fail(a + " needs a number");
      const float f = strtof(v.c_str(), &end);
      const bool ok = a == "--threshold" ? f >= -1 && f <= 1 : f >= 0 && f <= 1;
      if (*end || !ok) return Fail(a + (a == "--threshold" ? " needs a number in [-1, 1]" : " needs a number in [0, 1]"));
      (a == "--threshold" ? threshold : score) = f;
    } else if (a == "--max-frames") {
      char* end = nullptr;
      if (!value(&v)) return Fail("--max-frames needs a number");
      s.max_frames = strtol(v.c_str(), &end, 10);
      if (*end || s.max_frames <= 0) return Fail("--max-frames needs a positive number");
    } else if (!a.empty() && a[0] == '-' && a != "-") {
      return Fail("unknown option '" + a + "' (see --help)");
    } else {
      sources.push_back(a);
    }
  }
  if (no_objects && no_faces) return Fail("--no-objects and --no-faces leave nothing to run");
  if (s.json_path == "-") g_messages = stderr;

  // No source: the camera if there is one, else the built-in sample.
  if (sources.empty()) {
    if (Exists("/dev/video0")) {
      sources.push_back("0");
    } else {
      fprintf(g_messages, "bnn-demo: no camera (/dev/video0); running the built-in sample: %s and %s\n", kVideoPeople.c_str(),
             kVideoFace.c_str());
      if (!Exists(kVideoPeople) || !Exists(kVideoFace))
        return Fail("the sample videos are missing: install Debian's opencv-doc package (or pass a SOURCE)");
      sources = {kVideoPeople, kVideoFace};
    }
  }
  if (!s.headless && !getenv("DISPLAY") && !getenv("WAYLAND_DISPLAY")) {
    fprintf(g_messages, "bnn-demo: no display (DISPLAY is not set): running headless, output in %s/\n", s.out_dir.c_str());
    s.headless = true;
  }

  cv::setNumThreads(1);  // one core: OpenCV's resize and colour conversion too
  Demo d;
  d.threshold = threshold;
  std::string error;
  auto model = [&](const std::string& given, const char* relative, const char* option, std::string* path) {
    *path = given.empty() ? FindModel(relative) : given;
    if (path->empty()) {
      error = std::string("cannot find the shipped model ") + relative + " (looked in $BNN_MODELS, " +
              BNN_SOURCE_MODELS_DIR + " and " + BNN_INSTALLED_MODELS_DIR + "); pass " + option;
      return false;
    }
    return true;
  };
  std::string path;
  if (!no_objects) {
    if (!model(detector, "detect/detector.bnn", "--detector", &path) || !d.objects.Load(path, &error))
      return Fail(error);
    if (score >= 0) d.objects.config().score_threshold = score;
    d.has_objects = true;
  }
  if (!no_faces) {
    if (!model(embedder, "face/face-embed.bnn", "--embedder", &path) || !d.faces.LoadEmbedder(path, &error))
      return Fail(error);
    if (!model(face_detector, "facedet/face-detector.bnn", "--face-detector", &path) ||
        !d.faces.LoadDetector(path, &error))
      return Fail(error);
    if (std::isnan(d.threshold)) d.threshold = d.faces.match_threshold();
    d.has_faces = true;
  }
  d.kernels = d.has_objects ? d.objects.kernels() : d.faces.detector().kernels();
  d.mode = d.has_objects && d.has_faces ? Mode::kBoth : d.has_objects ? Mode::kObjects : Mode::kFaces;

  mkdir(s.out_dir.c_str(), 0755);
  if (s.headless && !bnn_vision::IsDirectory(s.out_dir)) return Fail("cannot create folder '" + s.out_dir + "'");
  if (d.has_faces) {
    d.gallery_path = gallery.empty() ? s.out_dir + "/demo.gallery" : gallery;
    if (Exists(d.gallery_path)) {
      // A damaged gallery is an error, never overwritten.
      if (!bnn_vision::LoadGallery(d.gallery_path, &d.gallery, &error)) return Fail(error + " (not changed)");
      if (d.gallery.dim != uint32_t(d.faces.dim()))
        return Fail(d.gallery_path + " holds " + std::to_string(d.gallery.dim) + "-value embeddings; the embedder makes " +
                    std::to_string(d.faces.dim()));
      fprintf(g_messages, "bnn-demo: gallery %s: %zu people (match threshold %.2f)\n", d.gallery_path.c_str(),
              d.gallery.entries.size(), d.threshold);
    } else if (gallery.empty()) {
      if (!bnn_vision::IsDirectory(s.out_dir)) return Fail("cannot create folder '" + s.out_dir + "'");
      if (!EnrollSamples(&d, &error)) return Fail(error);
    } else {
      d.gallery.dim = uint32_t(d.faces.dim());  // a new gallery, saved at the first enrollment
      fprintf(g_messages, "bnn-demo: gallery %s does not exist yet: press e to enroll faces\n", d.gallery_path.c_str());
    }
  }

  FILE* json = nullptr;
  if (!s.json_path.empty()) {
    json = s.json_path == "-" ? stdout : fopen(s.json_path.c_str(), "w");
    if (!json) return Fail("cannot write '" + s.json_path + "'");
  }
  int status = 0;
  for (const std::string& spec : sources) {
    FrameSource src;
    if (!src.Open(spec, s.loop, &error)) {
      fprintf(stderr, "bnn-demo: %s\n", error.c_str());
      status = 1;
      continue;
    }
    const int r = RunSource(d, src, s, json);
    if (r == 3) break;  // quit
    if (r != 0) status = 1;
  }
  if (json && json != stdout) fclose(json);
  if (s.headless) fprintf(g_messages, "bnn-demo: output in %s/\n", s.out_dir.c_str());
  return status;
}
