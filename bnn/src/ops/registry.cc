// The operator table: fb::OpType -> kernel. One switch, one place.
#include "../model.h"

namespace bnn {

extern const OpKernel kBConv2D, kBFullyConnected, kBMaxPool2D, kBitpack;
extern const OpKernel kRelu, kClip, kLeakyRelu, kPRelu, kSigmoid, kSoftmax, kAdd, kMul, kQuantize, kDequantize,
    kNormalize;
extern const OpKernel kReshape, kConcat, kTranspose, kPad, kResize;
extern const OpKernel kConv2D, kDepthwiseConv2D, kFullyConnected, kMaxPool2D, kAvgPool2D, kGlobalAvgPool;

const OpKernel* FindOpKernel(int op_type) {
  switch (static_cast<fb::OpType>(op_type)) {
    case fb::OpType::BCONV2D: return &kBConv2D;
    case fb::OpType::BFULLY_CONNECTED: return &kBFullyConnected;
    case fb::OpType::BMAXPOOL2D: return &kBMaxPool2D;
    case fb::OpType::BITPACK: return &kBitpack;
    case fb::OpType::CONV2D: return &kConv2D;
    case fb::OpType::DEPTHWISE_CONV2D: return &kDepthwiseConv2D;
    case fb::OpType::FULLY_CONNECTED: return &kFullyConnected;
    case fb::OpType::MAXPOOL2D: return &kMaxPool2D;
    case fb::OpType::AVGPOOL2D: return &kAvgPool2D;
    case fb::OpType::GLOBAL_AVGPOOL: return &kGlobalAvgPool;
    case fb::OpType::RELU: return &kRelu;
    case fb::OpType::CLIP: return &kClip;
    case fb::OpType::LEAKY_RELU: return &kLeakyRelu;
    case fb::OpType::PRELU: return &kPRelu;
    case fb::OpType::SIGMOID: return &kSigmoid;
    case fb::OpType::SOFTMAX: return &kSoftmax;
    case fb::OpType::ADD: return &kAdd;
    case fb::OpType::MUL: return &kMul;
    case fb::OpType::QUANTIZE: return &kQuantize;
    case fb::OpType::DEQUANTIZE: return &kDequantize;
    case fb::OpType::NORMALIZE: return &kNormalize;
    case fb::OpType::RESHAPE: return &kReshape;
    case fb::OpType::CONCAT: return &kConcat;
    case fb::OpType::TRANSPOSE: return &kTranspose;
    case fb::OpType::PAD: return &kPad;
    case fb::OpType::RESIZE: return &kResize;
    default: return nullptr;
  }
}

}  // namespace bnn
