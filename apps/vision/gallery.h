// The face gallery file of bnn-face: named, L2-normalised embeddings.
//
// Format, little-endian: "BNNGALRY", u32 version (1), u32 embedding size,
// u32 entry count, u32 reserved (0); per entry u16 name length, the UTF-8
// name (1..255 bytes), then the embedding as f32; finally the CRC-32 of all
// bytes before it. Loading checks every field; saving writes a temporary
// file, syncs it and renames it over the old one, so a failed or interrupted
// save never loses the existing gallery.
#pragma once

#include <stdint.h>

#include <string>
#include <vector>

namespace bnn_vision {

constexpr uint32_t kGalleryVersion = 1;

struct GalleryEntry {
  std::string name;
  std::vector<float> embedding;  // L2-normalised
};

struct Gallery {
  uint32_t dim = 0;
  std::vector<GalleryEntry> entries;
};

bool LoadGallery(const std::string& path, Gallery* gallery, std::string* error);
bool SaveGallery(const std::string& path, const Gallery& gallery, std::string* error);
// The same to and from bytes (the tests damage them).
std::string SerializeGallery(const Gallery& gallery);
bool ParseGallery(const std::string& bytes, Gallery* gallery, std::string* error);

// Scales `v` to unit length (left alone when it is all zeros).
void Normalize(std::vector<float>* v);
float Cosine(const float* a, const float* b, size_t n);

struct Match {
  std::string name;      // the best entry's name, or "unknown"
  float similarity = -1;  // cosine similarity to the best entry
  bool known = false;     // similarity >= threshold
};
// The best entry by cosine similarity (embedding of size gallery.dim).
Match BestMatch(const Gallery& gallery, const float* embedding, float threshold);

}  // namespace bnn_vision
