#include "faces.h"

#include <algorithm>

namespace bnn_vision {

bool FaceRecognizer::LoadDetector(const std::string& path, std::string* error) {
  has_detector_ = detector_.Load(path, error);
  return has_detector_;
}

FoundFaces FaceRecognizer::Find(const cv::Mat& image) {
  FoundFaces f;
  if (!has_detector_) {
    Box whole{};  // the whole image, no landmarks
    whole.x1 = float(image.cols);
    whole.y1 = float(image.rows);
    whole.score = 1.0f;
    f.boxes.push_back(whole);
    f.embeddings.push_back(embedder_.Embed(image, &f.embed_ms));
    return f;
  }
  for (const Box& b : detector_.Detect(image, &f.detect_ms)) {
    const cv::Rect r = FaceCrop(b, image.size());
    if (r.width < 8 || r.height < 8) continue;  // too small to embed meaningfully
    double ms = 0;
    f.boxes.push_back(b);
    f.embeddings.push_back(embedder_.Embed(image(r), &ms));
    f.embed_ms += ms;
  }
  return f;
}

bool FaceRecognizer::Largest(const cv::Mat& image, std::vector<float>* embedding, Box* box) {
  FoundFaces f = Find(image);
  if (f.boxes.empty()) return false;
  const auto area = [](const Box& b) { return (b.x1 - b.x0) * (b.y1 - b.y0); };
  size_t best = 0;
  for (size_t k = 1; k < f.boxes.size(); ++k)
    if (area(f.boxes[k]) > area(f.boxes[best])) best = k;
  *embedding = std::move(f.embeddings[best]);
  if (box) *box = f.boxes[best];
  return true;
}

void SetGalleryEntry(Gallery* gallery, const std::string& name, std::vector<float> embedding) {
  Normalize(&embedding);
  auto& e = gallery->entries;
  e.erase(std::remove_if(e.begin(), e.end(), [&](const GalleryEntry& x) { return x.name == name; }), e.end());
  e.push_back({name, std::move(embedding)});
}

}  // namespace bnn_vision
