// Faces in an image: an optional face detector, then the embedder on each
// face's square crop. Shared by bnn-face and bnn-demo.
#pragma once

#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "detection.h"
#include "gallery.h"
#include "runners.h"

namespace bnn_vision {

struct FoundFaces {
  std::vector<Box> boxes;                    // image coordinates
  std::vector<std::vector<float>> embeddings;  // one per box, L2-normalised
  double detect_ms = 0, embed_ms = 0;        // time in the two models
};

class FaceRecognizer {
 public:
  bool LoadEmbedder(const std::string& path, std::string* error) { return embedder_.Load(path, error); }
  bool LoadDetector(const std::string& path, std::string* error);
  bool has_detector() const { return has_detector_; }
  int dim() const { return embedder_.dim(); }
  float match_threshold() const { return embedder_.match_threshold(); }
  DetectorRunner& detector() { return detector_; }

  // The faces in `image`. Without a detector the whole image is one face.
  FoundFaces Find(const cv::Mat& image);
  // The largest face's embedding (and box); false if none was found.
  bool Largest(const cv::Mat& image, std::vector<float>* embedding, Box* box = nullptr);

 private:
  EmbedderRunner embedder_;
  DetectorRunner detector_;
  bool has_detector_ = false;
};

// Replaces (or adds) `name` in `gallery` with the L2-normalised `embedding`.
void SetGalleryEntry(Gallery* gallery, const std::string& name, std::vector<float> embedding);

}  // namespace bnn_vision
