// A pooling window clipped to the image, shared by the Highway pooling
// kernels (binary and float). Plain integer code, the same for every target.
#ifndef BNN_KERNELS_COMMON_POOL_WINDOW_H_
#define BNN_KERNELS_COMMON_POOL_WINDOW_H_

#include <stddef.h>
#include <stdint.h>

#include "bnn_kernels.h"

namespace bnn {

// Output pixel (oy, ox)'s window clipped to the image: rows [y0 + ky0, y0 + ky1),
// columns [x0 + kx0, x0 + kx1). Never empty (pads are smaller than the window).
struct PoolWindow {
  int64_t y0, x0;
  size_t ky0, ky1, kx0, kx1;
};

inline PoolWindow ClippedPoolWindow(const bnn_pool_shape* s, uint32_t oy, uint32_t ox) {
  PoolWindow w;
  w.y0 = static_cast<int64_t>(oy) * s->stride_h - s->pad_top;
  w.x0 = static_cast<int64_t>(ox) * s->stride_w - s->pad_left;
  w.ky0 = w.y0 < 0 ? static_cast<size_t>(-w.y0) : 0;
  w.ky1 = w.y0 + s->pool_h > s->in_h ? static_cast<size_t>(s->in_h - w.y0) : s->pool_h;
  w.kx0 = w.x0 < 0 ? static_cast<size_t>(-w.x0) : 0;
  w.kx1 = w.x0 + s->pool_w > s->in_w ? static_cast<size_t>(s->in_w - w.x0) : s->pool_w;
  return w;
}

}  // namespace bnn

#endif  // BNN_KERNELS_COMMON_POOL_WINDOW_H_
