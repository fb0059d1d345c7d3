// bnn_similarity_transform (bnn/src/align.cc): known similarity transforms
// recovered exactly, the least-squares optimum with noise, never a
// reflection, and degenerate or bad points refused with the matrix untouched.
#include <catch2/catch.hpp>

#include <math.h>

#include <random>
#include <vector>

#include "bnn/bnn.h"

namespace {

// A five-point face template (the eye on the image's left first), in a 112 x 112 chip.
const bnn_point kTemplate[5] = {{38.3f, 51.7f}, {73.5f, 51.5f}, {56.0f, 71.7f}, {41.5f, 92.4f}, {70.7f, 92.2f}};

bnn_point Apply(const float m[6], bnn_point p) { return {m[0] * p.x + m[1] * p.y + m[2], m[3] * p.x + m[4] * p.y + m[5]}; }

double SquaredError(const float m[6], const std::vector<bnn_point>& from, const std::vector<bnn_point>& to) {
  double e = 0;
  for (size_t i = 0; i < from.size(); ++i) {
    const bnn_point q = Apply(m, from[i]);
    e += double(q.x - to[i].x) * (q.x - to[i].x) + double(q.y - to[i].y) * (q.y - to[i].y);
  }
  return e;
}

// The similarity with this angle, scale and shift, as bnn_similarity_transform writes it.
void Similarity(double angle, double scale, double tx, double ty, float m[6]) {
  const double a = scale * cos(angle), b = scale * sin(angle);
  const float v[6] = {float(a), float(-b), float(tx), float(b), float(a), float(ty)};
  for (int k = 0; k < 6; ++k) m[k] = v[k];
}

}  // namespace

TEST_CASE("a known similarity transform is recovered", "[align]") {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> angle(-3.1, 3.1), scale(0.05, 20), shift(-4000, 4000);
  for (int trial = 0; trial < 200; ++trial) {
    float truth[6];
    Similarity(angle(rng), scale(rng), shift(rng), shift(rng), truth);
    std::vector<bnn_point> from(kTemplate, kTemplate + 5), to;
    for (const bnn_point& p : from) to.push_back(Apply(truth, p));
    float m[6];
    REQUIRE(bnn_similarity_transform(from.data(), to.data(), 5, m) == BNN_OK);
    const double s = hypot(truth[0], truth[3]);
    // float rounding of the target points (up to about 6000 here) bounds the precision
    const double coords = fabs(truth[2]) + fabs(truth[5]);
    for (int k : {0, 1, 3, 4}) CHECK(fabs(m[k] - truth[k]) <= 1e-5 * s + 3e-9 * coords + 1e-6);
    for (int k : {2, 5}) CHECK(fabs(m[k] - truth[k]) <= 1e-5 * fabs(truth[k]) + 2e-3 * s);
  }
  // Identity, and two points (the least any fit needs).
  float m[6];
  REQUIRE(bnn_similarity_transform(kTemplate, kTemplate, 5, m) == BNN_OK);
  CHECK(m[0] == Approx(1).margin(1e-6));
  CHECK(m[1] == Approx(0).margin(1e-6));
  CHECK(m[2] == Approx(0).margin(1e-4));
  CHECK(m[5] == Approx(0).margin(1e-4));
  const bnn_point a[2] = {{0, 0}, {1, 0}}, b[2] = {{10, 10}, {10, 12}};  // turned 90 degrees, twice as large
  REQUIRE(bnn_similarity_transform(a, b, 2, m) == BNN_OK);
  CHECK(m[0] == Approx(0).margin(1e-6));
  CHECK(m[3] == Approx(2));
  CHECK(m[2] == Approx(10));
  CHECK(m[5] == Approx(10));
}

TEST_CASE("with noise, the fit is the least-squares similarity", "[align]") {
  std::mt19937 rng(11);
  std::normal_distribution<double> noise(0, 2);
  for (int trial = 0; trial < 100; ++trial) {
    float truth[6];
    Similarity(0.3 * trial / 100.0 - 0.15, 1.8, 140 + trial, 60, truth);
    std::vector<bnn_point> from(kTemplate, kTemplate + 5), to;
    for (const bnn_point& p : from) {
      const bnn_point q = Apply(truth, p);
      to.push_back({float(q.x + noise(rng)), float(q.y + noise(rng))});
    }
    float m[6];
    REQUIRE(bnn_similarity_transform(from.data(), to.data(), 5, m) == BNN_OK);
    const double best = SquaredError(m, from, to);
    CHECK(best <= SquaredError(truth, from, to) * (1 + 1e-5));
    // No small change of the fitted parameters does better.
    for (int k = 0; k < 6; ++k)
      for (float step : {-0.01f, 0.01f}) {
        float moved[6];
        for (int j = 0; j < 6; ++j) moved[j] = m[j];
        moved[k] += step * (k == 2 || k == 5 ? 10 : 1);
        if (k == 0) moved[4] = moved[0];  // keep it a similarity: a on both diagonals,
        if (k == 3) moved[1] = -moved[3];  // b and -b off them
        if (k == 1 || k == 4) continue;
        CHECK(SquaredError(moved, from, to) >= best * (1 - 1e-6));
      }
  }
}

TEST_CASE("a mirrored face gets no reflection", "[align]") {
  std::vector<bnn_point> from(kTemplate, kTemplate + 5), to;
  for (const bnn_point& p : from) to.push_back({112 - p.x, p.y});
  float m[6];
  REQUIRE(bnn_similarity_transform(from.data(), to.data(), 5, m) == BNN_OK);
  CHECK(m[0] * m[4] - m[1] * m[3] >= 0);  // a^2 + b^2: orientation kept
  CHECK(m[0] == m[4]);
  CHECK(m[1] == -m[3]);
  CHECK(SquaredError(m, from, to) > 100);  // and so no exact fit of the mirror image
}

TEST_CASE("degenerate and bad points are refused, the matrix untouched", "[align]") {
  float m[6] = {9, 9, 9, 9, 9, 9};
  const auto untouched = [&] {
    for (float v : m)
      if (v != 9) return false;
    return true;
  };
  const bnn_point same[5] = {{50, 60}, {50, 60}, {50, 60}, {50, 60}, {50, 60}};
  CHECK(bnn_similarity_transform(same, kTemplate, 5, m) == BNN_ERROR_INVALID_ARGUMENT);
  const bnn_point far_same[3] = {{4000, 3000}, {4000, 3000}, {4000, 3000}};
  CHECK(bnn_similarity_transform(far_same, kTemplate, 3, m) == BNN_ERROR_INVALID_ARGUMENT);
  CHECK(bnn_similarity_transform(kTemplate, kTemplate, 1, m) == BNN_ERROR_INVALID_ARGUMENT);
  CHECK(bnn_similarity_transform(kTemplate, kTemplate, 0, m) == BNN_ERROR_INVALID_ARGUMENT);
  CHECK(bnn_similarity_transform(nullptr, kTemplate, 5, m) == BNN_ERROR_INVALID_ARGUMENT);
  CHECK(bnn_similarity_transform(kTemplate, nullptr, 5, m) == BNN_ERROR_INVALID_ARGUMENT);
  CHECK(bnn_similarity_transform(kTemplate, kTemplate, 5, nullptr) == BNN_ERROR_INVALID_ARGUMENT);
  for (float bad : {NAN, INFINITY, -INFINITY}) {
    bnn_point p[5];
    for (int i = 0; i < 5; ++i) p[i] = kTemplate[i];
    p[3].y = bad;
    CHECK(bnn_similarity_transform(p, kTemplate, 5, m) == BNN_ERROR_INVALID_ARGUMENT);
    CHECK(bnn_similarity_transform(kTemplate, p, 5, m) == BNN_ERROR_INVALID_ARGUMENT);
  }
  CHECK(untouched());
  // Points that all land in one place are a valid fit (scale 0), not an error.
  REQUIRE(bnn_similarity_transform(kTemplate, same, 5, m) == BNN_OK);
  CHECK(m[0] == 0);
  CHECK(m[2] == 50);
}
