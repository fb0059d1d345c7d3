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

// A convolution's shape from input 0 [N, H, W, C] and constant weights
// (input 1) [O, KH, KW, C / groups], both of `dtype`, and its Conv2DOptions:
// checks types, geometry, groups (depthwise: one group per input channel),
// the kernel size the options state, validity (binary: bnn_conv_shape_valid,
// else bnn_fconv_shape_valid) and the output's shape (not its type). Sets
// the operator's MAC count. `options` receives the (non-null) options.
bnn_status PrepareConvShape(PrepareContext& ctx, bnn_dtype dtype, bool depthwise, bnn_conv_shape* s,
                            const fb::Conv2DOptions** options);

// A fully-connected layer's shape from input 0 [..., K] and constant weights
// (input 1) [O, K], both of `dtype`; checks the output's shape [..., O] (not
// its type) and sets the MAC count.
bnn_status PrepareFcShape(PrepareContext& ctx, bnn_dtype dtype, bnn_gemm_shape* s);

// The output transform (bnn_kernels.h) of a layer with `channels` outputs,
// by the output tensor's type: F32/S8 take multiplier and bias (inputs 2, 3,
// F32 constants) and the activation's clamp; BITS takes threshold and
// direction (inputs 2, 3, S32 constants); S32 takes nothing.
bnn_status PrepareTransform(PrepareContext& ctx, const TensorDesc* out, uint32_t channels, fb::Activation act,
                            float clip_min, float clip_max, bnn_output_transform* t);

// Clamp bounds of a fused activation.
bnn_status ActivationRange(PrepareContext& ctx, fb::Activation a, float clip_min, float clip_max, float* lo,
                           float* hi);

const char* DtypeName(int dtype);

// ---- Bands of rows (patch-based inference) ------------------------------------
// A window of `extent` rows (kernel or pool, dilation included) every
// `stride` rows, starting `pad_top` rows above the input of `in_h` rows:
// output rows [out0, out1) read input rows [*in0, *in1), clipped to the input.
// False when that is no row at all.
bool WindowBandRows(uint32_t in_h, uint32_t pad_top, uint32_t extent, uint32_t stride, int out0, int out1, int* in0,
                    int* in1);
// The shape of the band: batch 1, in_h the band's rows, and the vertical
// padding that keeps every window where it was.
bnn_conv_shape ConvBandShape(const bnn_conv_shape& s, const RowBand& band);
bnn_pool_shape PoolBandShape(const bnn_pool_shape& s, const RowBand& band);
bool ConvBandRows(const bnn_conv_shape& s, int out0, int out1, int* in0, int* in1);
bool PoolBandRows(const bnn_pool_shape& s, int out0, int out1, int* in0, int* in1);

}  // namespace bnn
