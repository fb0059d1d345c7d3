// bnn-face: face recognition with a binary embedder (and optionally a face
// detector). enroll builds a gallery from a folder with one sub-folder per
// person; identify names the faces in images or videos; verify compares two
// images. The gallery is versioned and checked on load, and saved through a
// temporary file, so a failure never loses an existing gallery.
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>
#include <cmath>
#include <string>
#include <vector>

#include "faces.h"
#include "gallery.h"
#include "image_input.h"
#include "json.h"
#include "runners.h"

namespace {

const char kUsage[] =
    "usage: bnn-face enroll   --embedder E.bnn [--detector D.bnn] --gallery G.gallery FOLDER\n"
    "       bnn-face identify --embedder E.bnn [--detector D.bnn] --gallery G.gallery INPUT...\n"
    "       bnn-face verify   --embedder E.bnn [--detector D.bnn] IMAGE_A IMAGE_B\n"
    "\n"
    "enroll: FOLDER holds one sub-folder of images per person (the folder name is the\n"
    "        name); each person's embedding is the mean over their images. People\n"
    "        already in the gallery are replaced, others kept (--new starts empty).\n"
    "identify: images, folders or videos; every face found is matched against the\n"
    "        gallery; below --threshold it is \"unknown\". JSON on stdout or --json FILE.\n"
    "verify: prints the cosine similarity and whether it reaches --threshold.\n"
    "Without --detector, each image is taken as one face crop.\n"
    "  --threshold T     cosine similarity for a match (default: the embedder's calibrated\n"
    "                    threshold, or 0.5 for a model without one)\n"
    "  --max-frames N    stop a video after N frames\n";

int Fail(const std::string& m) {
  fprintf(stderr, "bnn-face: %s\n", m.c_str());
  return 1;
}

std::vector<std::string> SubFolders(const std::string& dir) {
  std::vector<std::string> r;
  for (const std::string& name : bnn_vision::ListEntries(dir))
    if (bnn_vision::IsDirectory(dir + "/" + name)) r.push_back(name);
  return r;
}

int Enroll(bnn_vision::FaceRecognizer& f, const std::string& gallery_path, const std::string& folder, bool fresh) {
  if (!bnn_vision::IsDirectory(folder)) return Fail("'" + folder + "' is not a folder");
  const std::vector<std::string> people = SubFolders(folder);
  if (people.empty()) return Fail("folder '" + folder + "' has no person sub-folders");
  bnn_vision::Gallery g;
  std::string error;
  if (!fresh && access(gallery_path.c_str(), F_OK) == 0 && !bnn_vision::LoadGallery(gallery_path, &g, &error))
    return Fail(error + " (not changed; use --new to start a new gallery)");
  if (!g.entries.empty() && g.dim != uint32_t(f.dim()))
    return Fail("the gallery holds " + std::to_string(g.dim) + "-value embeddings; this embedder makes " +
                std::to_string(f.dim()));
  g.dim = uint32_t(f.dim());
  int enrolled = 0;
  for (const std::string& person : people) {
    const std::vector<std::string> images = bnn_vision::ListImages(folder + "/" + person);
    if (images.empty()) return Fail("'" + folder + "/" + person + "' holds no images (nothing was saved)");
    std::vector<double> sum(size_t(g.dim), 0.0);
    for (const std::string& path : images) {
      const cv::Mat img = cv::imread(path, cv::IMREAD_COLOR);
      if (img.empty()) return Fail("cannot read image '" + path + "' (nothing was saved)");
      std::vector<float> e;
      if (!f.Largest(img, &e)) return Fail("no face found in '" + path + "' (nothing was saved)");
      for (size_t k = 0; k < e.size(); ++k) sum[k] += e[k];
    }
    bnn_vision::SetGalleryEntry(&g, person, std::vector<float>(sum.begin(), sum.end()));
    printf("enrolled %s (%zu images)\n", person.c_str(), images.size());
    ++enrolled;
  }
  if (!bnn_vision::SaveGallery(gallery_path, g, &error)) return Fail(error);
  printf("%s: %zu people\n", gallery_path.c_str(), g.entries.size());
  return 0;
}

std::string FacesJson(const std::string& source, int frame, const std::vector<bnn_vision::Box>& boxes,
                      const std::vector<bnn_vision::Match>& matches) {
  std::string j = "{\"source\": " + bnn_vision::JsonString(source);
  if (frame >= 0) j += ", \"frame\": " + std::to_string(frame);
  j += ", \"faces\": [";
  char buf[256];
  for (size_t i = 0; i < boxes.size(); ++i) {
    snprintf(buf, sizeof buf, "%s{\"name\": %s, \"known\": %s, \"similarity\": %.4f, \"box\": [%.1f, %.1f, %.1f, %.1f]",
             i ? ", " : "", bnn_vision::JsonString(matches[i].name).c_str(), matches[i].known ? "true" : "false",
             matches[i].similarity, boxes[i].x0, boxes[i].y0, boxes[i].x1, boxes[i].y1);
    j += buf + bnn_vision::LandmarksJson(boxes[i]) + "}";
  }
  return j + "]}";
}

int Identify(bnn_vision::FaceRecognizer& f, const std::string& gallery_path, const std::vector<std::string>& inputs, float threshold,
             const std::string& json_path, long max_frames) {
  bnn_vision::Gallery g;
  std::string error;
  if (!bnn_vision::LoadGallery(gallery_path, &g, &error)) return Fail(error);
  if (g.dim != uint32_t(f.dim()))
    return Fail("the gallery holds " + std::to_string(g.dim) + "-value embeddings; this embedder makes " +
                std::to_string(f.dim()));
  std::string out = "{\"gallery\": " + bnn_vision::JsonString(gallery_path) + ", \"results\": [";
  bool first = true, failed = false;
  auto one = [&](const cv::Mat& img, const std::string& source, int frame) {
    const bnn_vision::FoundFaces found = f.Find(img);
    std::vector<bnn_vision::Match> matches;
    for (const auto& v : found.embeddings) matches.push_back(bnn_vision::BestMatch(g, v.data(), threshold));
    out += (first ? "\n  " : ",\n  ") + FacesJson(source, frame, found.boxes, matches);
    first = false;
  };
  std::vector<std::string> files;
  for (const std::string& in : inputs) {
    if (bnn_vision::IsDirectory(in)) {
      const auto listed = bnn_vision::ListImages(in);
      if (listed.empty()) return Fail("folder '" + in + "' holds no images");
      files.insert(files.end(), listed.begin(), listed.end());
    } else {
      files.push_back(in);
    }
  }
  for (const std::string& file : files) {
    if (bnn_vision::HasVideoExtension(file)) {
      cv::VideoCapture cap(file);
      if (!cap.isOpened()) {
        fprintf(stderr, "bnn-face: cannot open video '%s'\n", file.c_str());
        failed = true;
        continue;
      }
      cv::Mat frame;
      for (int k = 0; (max_frames < 0 || k < max_frames) && cap.read(frame); ++k) one(frame, file, k);
      continue;
    }
    const cv::Mat img = cv::imread(file, cv::IMREAD_COLOR);
    if (img.empty()) {
      fprintf(stderr, "bnn-face: cannot read image '%s' (missing, or not an image)\n", file.c_str());
      failed = true;
      continue;
    }
    one(img, file, -1);
  }
  out += "\n]}\n";
  if (json_path.empty()) {
    fputs(out.c_str(), stdout);
  } else {
    FILE* fp = fopen((json_path + ".tmp").c_str(), "w");
    const bool ok = fp && fputs(out.c_str(), fp) >= 0;
    if (!fp || fclose(fp) != 0 || !ok || rename((json_path + ".tmp").c_str(), json_path.c_str()) != 0)
      return Fail("cannot write '" + json_path + "'");
  }
  return failed ? 1 : 0;
}

int Verify(bnn_vision::FaceRecognizer& f, const std::string& a, const std::string& b, float threshold) {
  std::vector<float> e[2];
  const std::string paths[2] = {a, b};
  for (int k = 0; k < 2; ++k) {
    const cv::Mat img = cv::imread(paths[k], cv::IMREAD_COLOR);
    if (img.empty()) return Fail("cannot read image '" + paths[k] + "' (missing, or not an image)");
    if (!f.Largest(img, &e[k])) return Fail("no face found in '" + paths[k] + "'");
  }
  const float s = bnn_vision::Cosine(e[0].data(), e[1].data(), e[0].size());
  printf("{\"similarity\": %.4f, \"threshold\": %.4f, \"same_person\": %s}\n", s, threshold,
         s >= threshold ? "true" : "false");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
    fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const std::string command = argv[1];
  if (command != "enroll" && command != "identify" && command != "verify")
    return Fail("unknown command '" + command + "' (enroll, identify or verify)");
  std::string embedder, detector, gallery, json;
  std::vector<std::string> args;
  float threshold = NAN;  // the embedder's unless given
  long max_frames = -1;
  bool fresh = false;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](std::string* v) {
      if (i + 1 >= argc) return false;
      *v = argv[++i];
      return true;
    };
    std::string v;
    if (a == "--embedder") {
      if (!value(&embedder)) return Fail("--embedder needs a file");
    } else if (a == "--detector") {
      if (!value(&detector)) return Fail("--detector needs a file");
    } else if (a == "--gallery") {
      if (!value(&gallery)) return Fail("--gallery needs a file");
    } else if (a == "--json") {
      if (!value(&json)) return Fail("--json needs a file");
    } else if (a == "--new") {
      fresh = true;
    } else if (a == "--threshold") {
      char* end = nullptr;
      if (!value(&v)) return Fail("--threshold needs a number");
      threshold = strtof(v.c_str(), &end);
      if (*end || !(threshold >= -1 && threshold <= 1)) return Fail("--threshold needs a number in [-1, 1]");
    } else if (a == "--max-frames") {
      char* end = nullptr;
      if (!value(&v)) return Fail("--max-frames needs a number");
      max_frames = strtol(v.c_str(), &end, 10);
      if (*end || max_frames <= 0) return Fail("--max-frames needs a positive number");
    } else if (!a.empty() && a[0] == '-') {
      return Fail("unknown option '" + a + "' (see --help)");
    } else {
      args.push_back(a);
    }
  }
  if (embedder.empty()) return Fail("--embedder is required");
  if (command != "verify" && gallery.empty()) return Fail("--gallery is required");
  if ((command == "enroll" && args.size() != 1) || (command == "verify" && args.size() != 2) ||
      (command == "identify" && args.empty()))
    return Fail("wrong number of arguments for " + command + " (see --help)");
  bnn_vision::FaceRecognizer f;
  std::string error;
  if (!f.LoadEmbedder(embedder, &error)) return Fail(error);
  if (!detector.empty() && !f.LoadDetector(detector, &error)) return Fail(error);
  if (std::isnan(threshold)) threshold = f.match_threshold();
  if (command == "enroll") return Enroll(f, gallery, args[0], fresh);
  if (command == "identify") return Identify(f, gallery, args, threshold, json, max_frames);
  return Verify(f, args[0], args[1], threshold);
}
