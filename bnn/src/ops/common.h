// Shared parameter checks of the operators (load time only).
#pragma once

#include <math.h>

#include "../model.h"

namespace bnn {

// Input i must exist, have this type (or any when dtype < 0) and rank (any when rank < 0).
bnn_status RequireTensor(PrepareContext& ctx, const TensorDesc* t, const char* what, int dtype, int rank);
// Input i must be a constant of this type and exact element count.
bnn_status RequireConstant(PrepareContext& ctx, const TensorDesc* t, const char* what, bnn_dtype dtype,
                           size_t elements);
// The output's declared shape must equal `dims`.
bnn_status RequireShape(PrepareContext& ctx, const TensorDesc* t, const char* what, int rank, const int32_t* dims);
bool SameShape(const TensorDesc& a, const TensorDesc& b);

// Fills the spatial part of a convolution shape (kernel, stride, dilation,
// padding) from the options, checking ranges.
bnn_status ConvGeometry(PrepareContext& ctx, const fb::Conv2DOptions* o, bnn_conv_shape* s);
bnn_status PoolGeometry(PrepareContext& ctx, const fb::PoolOptions* o, bnn_pool_shape* s);

// Clamp bounds of a fused activation.
bnn_status ActivationRange(PrepareContext& ctx, fb::Activation a, float clip_min, float clip_max, float* lo,
                           float* hi);

const char* DtypeName(int dtype);

}  // namespace bnn
