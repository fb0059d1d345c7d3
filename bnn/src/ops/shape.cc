// Data-movement operators.
#include <string.h>

#include "common.h"

namespace bnn {
namespace {

// RESHAPE (and flatten): the output tensor's own shape is the new shape; the
// element count and type must match. Bytes are copied (packed-bit tensors
// only when the channel dimension is unchanged, so the words stay valid).
struct ReshapeParams {
  size_t bytes;
};

bnn_status ReshapePrepare(PrepareContext& ctx) {
  const TensorDesc* x = ctx.input(0);
  const TensorDesc* y = ctx.output(0);
  if (bnn_status s = RequireTensor(ctx, x, "input 0", -1, -1)) return s;
  if (bnn_status s = RequireTensor(ctx, y, "output", x->dtype, -1)) return s;
  if (Elements(*x) != Elements(*y))
    return ctx.Fail("input has %zu elements, output %zu", Elements(*x), Elements(*y));
  if (x->dtype == BNN_DTYPE_BITS && x->dims[x->rank - 1] != y->dims[y->rank - 1])
    return ctx.Fail("a packed-bit reshape must keep the channel dimension (%d -> %d)", x->dims[x->rank - 1],
                    y->dims[y->rank - 1]);
  ctx.params<ReshapeParams>()->bytes = x->bytes;
  return BNN_OK;
}

void ReshapeEval(const EvalContext& ctx) {
  memcpy(ctx.out<void>(0), ctx.in<const void>(0), Params<ReshapeParams>(*ctx.op).bytes);
}

}  // namespace

extern const OpKernel kReshape = {"RESHAPE", ReshapePrepare, nullptr, nullptr, ReshapeEval};

}  // namespace bnn
