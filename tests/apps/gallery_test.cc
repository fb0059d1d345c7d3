// The face gallery file: round trip, every kind of damage refused with a
// message, and saves that never lose the existing gallery.
#include "gallery.h"

#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <random>

using bnn_vision::Gallery;

namespace {

Gallery Sample() {
  Gallery g;
  g.dim = 4;
  g.entries.push_back({"Ada", {0.5f, 0.5f, 0.5f, 0.5f}});
  g.entries.push_back({"Grace Hopper", {1, 0, 0, 0}});
  return g;
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

}  // namespace

TEST_CASE("A gallery survives a save and a load") {
  const std::string path = "gallery_test_roundtrip.gallery";
  std::string error;
  REQUIRE(bnn_vision::SaveGallery(path, Sample(), &error));
  Gallery g;
  REQUIRE(bnn_vision::LoadGallery(path, &g, &error));
  REQUIRE(g.entries.size() == 2);
  CHECK(g.dim == 4);
  CHECK(g.entries[1].name == "Grace Hopper");
  CHECK(g.entries[0].embedding[3] == 0.5f);
  CHECK(access((path + ".tmp").c_str(), F_OK) != 0);
  remove(path.c_str());
}

TEST_CASE("Every truncation and byte flip of a gallery is refused with a message") {
  const std::string good = bnn_vision::SerializeGallery(Sample());
  Gallery g;
  std::string error;
  REQUIRE(bnn_vision::ParseGallery(good, &g, &error));
  for (size_t n = 0; n < good.size(); ++n) {
    error.clear();
    CHECK_FALSE(bnn_vision::ParseGallery(good.substr(0, n), &g, &error));
    CHECK(!error.empty());
  }
  for (size_t at = 0; at < good.size(); ++at) {
    std::string bad = good;
    bad[at] = char(bad[at] ^ 0x10);
    error.clear();
    CHECK_FALSE(bnn_vision::ParseGallery(bad, &g, &error));
    CHECK(!error.empty());
  }
  std::string future = good;
  future[8] = 2;  // version 2 (the CRC is checked after the version)
  CHECK_FALSE(bnn_vision::ParseGallery(future, &g, &error));
  CHECK_THAT(error, Catch::Contains("version 2"));
  CHECK_FALSE(bnn_vision::LoadGallery("/nonexistent/x.gallery", &g, &error));
  CHECK_THAT(error, Catch::Contains("cannot open"));
}

TEST_CASE("A failed save leaves the existing gallery as it was") {
  const std::string dir = "gallery_test_dir";
  mkdir(dir.c_str(), 0755);
  const std::string path = dir + "/people.gallery";
  std::string error;
  REQUIRE(bnn_vision::SaveGallery(path, Sample(), &error));
  const std::string before = ReadFile(path);
  Gallery bad = Sample();
  bad.entries[0].embedding.pop_back();  // wrong size: refused before anything is written
  CHECK_FALSE(bnn_vision::SaveGallery(path, bad, &error));
  CHECK(ReadFile(path) == before);
  // The temporary file cannot be created (a directory is in its way): the
  // save fails and the gallery is untouched. Works as root too.
  mkdir((path + ".tmp").c_str(), 0755);
  CHECK_FALSE(bnn_vision::SaveGallery(path, Sample(), &error));
  CHECK_THAT(error, Catch::Contains("cannot write"));
  CHECK(ReadFile(path) == before);
  rmdir((path + ".tmp").c_str());
  if (getuid() != 0) {  // root writes anywhere: the permission case needs a user
    chmod(dir.c_str(), 0555);
    CHECK_FALSE(bnn_vision::SaveGallery(path, Sample(), &error));
    CHECK_THAT(error, Catch::Contains("cannot write"));
    chmod(dir.c_str(), 0755);
    CHECK(ReadFile(path) == before);
  }
  remove(path.c_str());
  rmdir(dir.c_str());
}

TEST_CASE("Matching picks the most similar entry, or unknown below the threshold") {
  Gallery g = Sample();
  for (auto& e : g.entries) bnn_vision::Normalize(&e.embedding);
  const float near_grace[4] = {0.9f, 0.1f, 0, 0};
  bnn_vision::Match m = bnn_vision::BestMatch(g, near_grace, 0.8f);
  CHECK(m.known);
  CHECK(m.name == "Grace Hopper");
  CHECK(m.similarity == Approx(0.9 / sqrt(0.82)));
  const float other[4] = {0, 0, -1, 0.2f};
  m = bnn_vision::BestMatch(g, other, 0.8f);
  CHECK_FALSE(m.known);
  CHECK(m.name == "unknown");
  CHECK(bnn_vision::BestMatch(Gallery(), other, 0.1f).name == "unknown");
}
