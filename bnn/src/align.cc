// bnn_similarity_transform: the least-squares similarity (Umeyama 1991, in
// 2D without reflection) for face alignment. With the points centred on
// their means, the best y = [a -b; b a] x is a = sum(x . y) / sum(|x|^2),
// b = sum(x cross y) / sum(|x|^2): a complex-number regression, so no SVD
// and no case where a reflection could win.
#include <math.h>

#include "bnn/bnn.h"

extern "C" bnn_status bnn_similarity_transform(const bnn_point* from, const bnn_point* to, int n, float matrix[6]) {
  if (!from || !to || !matrix || n < 2) return BNN_ERROR_INVALID_ARGUMENT;
  double fx = 0, fy = 0, tx = 0, ty = 0;
  for (int i = 0; i < n; ++i) {
    if (!isfinite(from[i].x) || !isfinite(from[i].y) || !isfinite(to[i].x) || !isfinite(to[i].y))
      return BNN_ERROR_INVALID_ARGUMENT;
    fx += from[i].x;
    fy += from[i].y;
    tx += to[i].x;
    ty += to[i].y;
  }
  fx /= n;
  fy /= n;
  tx /= n;
  ty /= n;
  double norm = 0, dot = 0, cross = 0, spread = 0;
  for (int i = 0; i < n; ++i) {
    const double x = from[i].x - fx, y = from[i].y - fy, u = to[i].x - tx, v = to[i].y - ty;
    norm += x * x + y * y;
    dot += x * u + y * v;
    cross += x * v - y * u;
    spread = fmax(spread, fabs(x) + fabs(y));
  }
  // Coinciding points (relative to their size, so that a face anywhere in a
  // large image is not refused) leave the angle and the scale undefined.
  const double size = fabs(fx) + fabs(fy) + 1.0;
  if (!(spread > 1e-6 * size) || !(norm > 0)) return BNN_ERROR_INVALID_ARGUMENT;
  const double a = dot / norm, b = cross / norm;
  matrix[0] = float(a);
  matrix[1] = float(-b);
  matrix[2] = float(tx - (a * fx - b * fy));
  matrix[3] = float(b);
  matrix[4] = float(a);
  matrix[5] = float(ty - (b * fx + a * fy));
  return BNN_OK;
}
