#include "gallery.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "format.h"  // bnn::Crc32

namespace bnn_vision {
namespace {

constexpr char kMagic[8] = {'B', 'N', 'N', 'G', 'A', 'L', 'R', 'Y'};
constexpr size_t kHeader = 8 + 4 * 4;

void PutU32(std::string* s, uint32_t v) {
  for (int k = 0; k < 4; ++k) s->push_back(char((v >> (8 * k)) & 0xff));
}
uint32_t GetU32(const std::string& s, size_t at) {
  uint32_t v = 0;
  for (int k = 0; k < 4; ++k) v |= uint32_t(uint8_t(s[at + k])) << (8 * k);
  return v;
}

}  // namespace

std::string SerializeGallery(const Gallery& g) {
  std::string s(kMagic, 8);
  PutU32(&s, kGalleryVersion);
  PutU32(&s, g.dim);
  PutU32(&s, uint32_t(g.entries.size()));
  PutU32(&s, 0);
  for (const GalleryEntry& e : g.entries) {
    s.push_back(char(e.name.size() & 0xff));
    s.push_back(char(e.name.size() >> 8));
    s += e.name;
    for (float f : e.embedding) {
      uint32_t bits;
      memcpy(&bits, &f, 4);
      PutU32(&s, bits);
    }
  }
  PutU32(&s, bnn::Crc32(s.data(), s.size()));
  return s;
}

bool ParseGallery(const std::string& s, Gallery* g, std::string* error) {
  *g = Gallery();
  if (s.size() < kHeader + 4 || memcmp(s.data(), kMagic, 8) != 0) {
    *error = "not a bnn face gallery (bad magic or too short)";
    return false;
  }
  const uint32_t version = GetU32(s, 8);
  if (version != kGalleryVersion) {
    *error = "gallery version " + std::to_string(version) + " is not supported (this build reads version " +
             std::to_string(kGalleryVersion) + ")";
    return false;
  }
  if (GetU32(s, s.size() - 4) != bnn::Crc32(s.data(), s.size() - 4)) {
    *error = "the gallery is damaged (CRC mismatch)";
    return false;
  }
  g->dim = GetU32(s, 12);
  const uint32_t count = GetU32(s, 16);
  if (g->dim == 0 || g->dim > 65536) {
    *error = "the gallery's embedding size " + std::to_string(g->dim) + " is invalid";
    return false;
  }
  size_t at = kHeader;
  const size_t end = s.size() - 4;
  for (uint32_t i = 0; i < count; ++i) {
    if (at + 2 > end) { *error = "the gallery is truncated at entry " + std::to_string(i); return false; }
    const size_t len = size_t(uint8_t(s[at])) | size_t(uint8_t(s[at + 1])) << 8;
    at += 2;
    if (len == 0 || len > 255 || at + len + 4 * size_t(g->dim) > end) {
      *error = "entry " + std::to_string(i) + " of the gallery is malformed";
      return false;
    }
    GalleryEntry e;
    e.name = s.substr(at, len);
    at += len;
    e.embedding.resize(g->dim);
    for (uint32_t k = 0; k < g->dim; ++k, at += 4) {
      const uint32_t bits = GetU32(s, at);
      memcpy(&e.embedding[k], &bits, 4);
      if (!std::isfinite(e.embedding[k])) { *error = "entry '" + e.name + "' holds a non-finite value"; return false; }
    }
    g->entries.push_back(std::move(e));
  }
  if (at != end) {
    *error = "the gallery has " + std::to_string(end - at) + " unexpected bytes after its entries";
    return false;
  }
  return true;
}

bool LoadGallery(const std::string& path, Gallery* g, std::string* error) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    *error = "cannot open gallery '" + path + "': " + strerror(errno);
    return false;
  }
  std::stringstream ss;
  ss << f.rdbuf();
  if (!ParseGallery(ss.str(), g, error)) {
    *error = path + ": " + *error;
    return false;
  }
  return true;
}

bool SaveGallery(const std::string& path, const Gallery& g, std::string* error) {
  for (const GalleryEntry& e : g.entries)
    if (e.name.empty() || e.name.size() > 255 || e.embedding.size() != g.dim) {
      *error = "cannot save entry '" + e.name + "': names are 1..255 bytes and embeddings have " +
               std::to_string(g.dim) + " values";
      return false;
    }
  const std::string bytes = SerializeGallery(g), tmp = path + ".tmp";
  const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) {
    *error = "cannot write '" + tmp + "': " + strerror(errno);
    return false;
  }
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
    if (n <= 0) break;
    done += size_t(n);
  }
  const bool ok = done == bytes.size() && fsync(fd) == 0;
  const int saved_errno = errno;
  if (close(fd) != 0 || !ok) {
    *error = "cannot write '" + tmp + "': " + strerror(ok ? errno : saved_errno);
    unlink(tmp.c_str());
    return false;
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    *error = "cannot replace '" + path + "': " + strerror(errno);
    unlink(tmp.c_str());
    return false;
  }
  return true;
}

void Normalize(std::vector<float>* v) {
  double n = 0;
  for (float x : *v) n += double(x) * x;
  if (n <= 0) return;
  const float inv = float(1.0 / sqrt(n));
  for (float& x : *v) x *= inv;
}

float Cosine(const float* a, const float* b, size_t n) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t k = 0; k < n; ++k) {
    ab += double(a[k]) * b[k];
    aa += double(a[k]) * a[k];
    bb += double(b[k]) * b[k];
  }
  return aa > 0 && bb > 0 ? float(ab / sqrt(aa * bb)) : 0.0f;
}

Match BestMatch(const Gallery& g, const float* embedding, float threshold) {
  Match m;
  const GalleryEntry* best = nullptr;
  for (const GalleryEntry& e : g.entries) {
    const float s = Cosine(e.embedding.data(), embedding, g.dim);
    if (!best || s > m.similarity) {
      m.similarity = s;
      best = &e;
    }
  }
  m.known = best && m.similarity >= threshold;
  m.name = m.known ? best->name : "unknown";
  return m;
}

}  // namespace bnn_vision
