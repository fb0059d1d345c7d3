// Loading: every byte of a .bnn file is untrusted. The container, the
// FlatBuffer and every cross-reference are checked here, once, so that
// nothing later can read out of bounds or run an inconsistent graph.
#include "model.h"

#include <string.h>

#include "format.h"

namespace bnn {
namespace {

constexpr int kMaxTensors = 1 << 20;
constexpr int kMaxOps = 1 << 20;
constexpr int32_t kMaxDim = 1 << 24;
constexpr uint64_t kMaxTensorBytes = uint64_t{1} << 36;  // 64 GiB: beyond any real tensor

// BNN_MODEL_MEMORY_BYTES (bnn.h) must hold the struct and both tables, each
// with up to kTableAlign - 1 bytes of alignment padding, on every target.
static_assert(sizeof(bnn_model) + 2 * (kTableAlign - 1) <= 256 && sizeof(TensorDesc) <= 96 && sizeof(OpDesc) <= 416,
              "the model's tables outgrew BNN_MODEL_MEMORY_BYTES");

const char* TensorName(const bnn_model* m, int t) { return m->tensors[t].name; }

// Bytes of a tensor of this type and shape, or false when it overflows the limit.
bool TensorBytes(bnn_dtype dtype, int rank, const int32_t* dims, uint64_t* bytes) {
  uint64_t n = 1;
  const int packed_dim = dtype == BNN_DTYPE_BITS ? rank - 1 : -1;
  for (int i = 0; i < rank; ++i) {
    const uint64_t d = i == packed_dim ? bnn_words(static_cast<size_t>(dims[i])) : static_cast<uint64_t>(dims[i]);
    n *= d;
    if (n > kMaxTensorBytes) return false;
  }
  switch (dtype) {
    case BNN_DTYPE_F32: case BNN_DTYPE_S32: case BNN_DTYPE_BITS: n *= 4; break;
    case BNN_DTYPE_S8: case BNN_DTYPE_U8: break;
  }
  *bytes = n;
  return n <= kMaxTensorBytes;
}

bnn_status CheckContainer(bnn_model* m, ErrorBuffer* err) {
  if (reinterpret_cast<uintptr_t>(m->bytes) % kDataAlign != 0)
    return Fail(err, BNN_ERROR_INVALID_ARGUMENT, "model buffer at %p is not 64-byte aligned",
                static_cast<const void*>(m->bytes));
  if (m->size < sizeof(FileHeader))
    return Fail(err, BNN_ERROR_INVALID_MODEL,
                "file is %zu bytes, shorter than the 64-byte header: truncated, or not a .bnn model",
                m->size);
  FileHeader h;
  memcpy(&h, m->bytes, sizeof h);
  if (memcmp(h.magic, kFileMagic, sizeof kFileMagic) != 0)
    return Fail(err, BNN_ERROR_INVALID_MODEL, "not a .bnn model (the file does not start with BNNMODEL)");
  if (h.format_major != kFormatMajor)
    return Fail(err, BNN_ERROR_UNSUPPORTED, "model format version %u.%u; this build reads %u.x",
                h.format_major, h.format_minor, kFormatMajor);
  if (h.graph_offset != sizeof(FileHeader) || h.graph_size == 0 ||
      h.graph_size > m->size - sizeof(FileHeader))
    return Fail(err, BNN_ERROR_INVALID_MODEL, "header: graph section [%llu, +%llu) is not inside the %zu-byte file",
                static_cast<unsigned long long>(h.graph_offset), static_cast<unsigned long long>(h.graph_size), m->size);
  if (h.data_offset % kDataAlign != 0 || h.data_offset < h.graph_offset + h.graph_size ||
      h.data_offset > m->size)
    return Fail(err, BNN_ERROR_INVALID_MODEL, "header: data section offset %llu is misaligned or overlaps the graph",
                static_cast<unsigned long long>(h.data_offset));
  if (h.data_size != m->size - h.data_offset)
    return Fail(err, BNN_ERROR_INVALID_MODEL,
                "file is %zu bytes but its header describes %llu: truncated or padded",
                m->size, static_cast<unsigned long long>(h.data_offset + h.data_size));
  const uint8_t* graph = m->bytes + h.graph_offset;
  for (uint64_t i = h.graph_offset + h.graph_size; i < h.data_offset; ++i)
    if (m->bytes[i] != 0)
      return Fail(err, BNN_ERROR_INVALID_MODEL, "padding after the graph is not zero: the file is damaged");
  m->data = m->bytes + h.data_offset;
  m->data_size = h.data_size;
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION  // lets the fuzzer reach the checks below
  if (Crc32(graph, h.graph_size) != h.graph_crc32)
    return Fail(err, BNN_ERROR_INVALID_MODEL, "graph section is damaged (CRC-32 mismatch)");
  if (Crc32(m->data, m->data_size) != h.data_crc32)
    return Fail(err, BNN_ERROR_INVALID_MODEL, "weights (data section) are damaged (CRC-32 mismatch)");
#endif
  flatbuffers::Verifier verifier(graph, h.graph_size, /*max_depth=*/64, /*max_tables=*/4 * kMaxTensors);
  if (!fb::VerifyModelBuffer(verifier))
    return Fail(err, BNN_ERROR_INVALID_MODEL, "graph section is not a valid model FlatBuffer");
  m->fb = fb::GetModel(graph);
  return BNN_OK;
}

// The tensor and operator tables, both at once so that a caller region too
// small is told the whole size it needs.
bnn_status AllocateTables(bnn_model* m, Allocator* alloc, ErrorBuffer* err) {
  const auto* tensors = m->fb->tensors();
  const auto* ops = m->fb->operators();
  if (!tensors || tensors->size() == 0) return Fail(err, BNN_ERROR_INVALID_MODEL, "the model has no tensors");
  if (tensors->size() > static_cast<uint32_t>(kMaxTensors))
    return Fail(err, BNN_ERROR_INVALID_MODEL, "%u tensors: more than the %d allowed", static_cast<unsigned>(tensors->size()),
                kMaxTensors);
  if (!ops || ops->size() == 0) return Fail(err, BNN_ERROR_INVALID_MODEL, "the model has no operators");
  if (ops->size() > static_cast<uint32_t>(kMaxOps))
    return Fail(err, BNN_ERROR_INVALID_MODEL, "%u operators: more than the %d allowed", static_cast<unsigned>(ops->size()),
                kMaxOps);
  m->tensors = static_cast<TensorDesc*>(alloc->Alloc(tensors->size() * sizeof(TensorDesc)));
  m->ops = static_cast<OpDesc*>(alloc->Alloc(ops->size() * sizeof(OpDesc)));
  if (!m->tensors || !m->ops) {
    if (alloc->is_region())
      return Fail(err, BNN_ERROR_OUT_OF_MEMORY, "the model memory has %zu bytes; this model needs %zu",
                  alloc->capacity(), alloc->needed());
    return Fail(err, BNN_ERROR_OUT_OF_MEMORY, "out of memory for %u tensors and %u operators",
                static_cast<unsigned>(tensors->size()), static_cast<unsigned>(ops->size()));
  }
  return BNN_OK;
}

bnn_status LoadTensors(bnn_model* m, ErrorBuffer* err) {
  const auto* tensors = m->fb->tensors();
  m->num_tensors = static_cast<int>(tensors->size());
  for (int i = 0; i < m->num_tensors; ++i) {
    const fb::Tensor* t = tensors->Get(static_cast<uint32_t>(i));
    TensorDesc& d = m->tensors[i];
    d.name = t->name() ? t->name()->c_str() : "";
    d.first_def = -2;  // not written yet
    d.last_use = -1;
    const int type = static_cast<int>(t->type());
    if (type < static_cast<int>(fb::DataType::MIN) || type > static_cast<int>(fb::DataType::MAX))
      return Fail(err, BNN_ERROR_INVALID_MODEL, "tensor #%d ('%s'): unknown data type %d", i, d.name, type);
    d.dtype = static_cast<bnn_dtype>(type);
    const auto* shape = t->shape();
    d.rank = shape ? static_cast<int>(shape->size()) : 0;
    if (d.rank > BNN_MAX_DIMS)
      return Fail(err, BNN_ERROR_INVALID_MODEL, "tensor #%d ('%s'): rank %d exceeds %d", i, d.name, d.rank, BNN_MAX_DIMS);
    if (d.dtype == BNN_DTYPE_BITS && d.rank == 0)
      return Fail(err, BNN_ERROR_INVALID_MODEL, "tensor #%d ('%s'): a packed-bit tensor needs a channel dimension", i, d.name);
    for (int k = 0; k < d.rank; ++k) {
      d.dims[k] = shape->Get(static_cast<uint32_t>(k));
      if (d.dims[k] < 1 || d.dims[k] > kMaxDim)
        return Fail(err, BNN_ERROR_INVALID_MODEL, "tensor #%d ('%s'): dimension %d is %d (must be 1..%d)", i, d.name, k,
                    d.dims[k], kMaxDim);
    }
    uint64_t bytes = 0;
    if (!TensorBytes(d.dtype, d.rank, d.dims, &bytes))
      return Fail(err, BNN_ERROR_INVALID_MODEL, "tensor #%d ('%s'): too large", i, d.name);
    d.bytes = static_cast<size_t>(bytes);
    if (const fb::BufferRef* c = t->constant()) {
      if (c->offset() % kDataAlign != 0)
        return Fail(err, BNN_ERROR_INVALID_MODEL, "tensor #%d ('%s'): constant data at offset %llu is not 64-byte aligned",
                    i, d.name, static_cast<unsigned long long>(c->offset()));
      if (c->offset() > m->data_size || c->size() > m->data_size - c->offset())
        return Fail(err, BNN_ERROR_INVALID_MODEL, "tensor #%d ('%s'): constant data [%llu, +%llu) lies outside the %zu-byte data section",
                    i, d.name, static_cast<unsigned long long>(c->offset()), static_cast<unsigned long long>(c->size()), m->data_size);
      if (c->size() != bytes)
        return Fail(err, BNN_ERROR_INVALID_MODEL, "tensor #%d ('%s'): constant has %llu bytes, its shape needs %llu",
                    i, d.name, static_cast<unsigned long long>(c->size()), static_cast<unsigned long long>(bytes));
      d.constant = m->data + c->offset();
      m->weights_bytes += d.bytes;
    }
    if (const fb::Quantization* q = t->quantization()) {
      d.scale = q->scale();
      d.zero_point = q->zero_point();
      if (!(d.scale > 0.0f) || d.scale > 1e30f)
        return Fail(err, BNN_ERROR_INVALID_MODEL, "tensor #%d ('%s'): quantisation scale must be positive and finite", i, d.name);
      if ((d.dtype == BNN_DTYPE_S8 && (d.zero_point < -128 || d.zero_point > 127)) ||
          (d.dtype == BNN_DTYPE_U8 && (d.zero_point < 0 || d.zero_point > 255)))
        return Fail(err, BNN_ERROR_INVALID_MODEL, "tensor #%d ('%s'): zero point %d out of range", i, d.name, d.zero_point);
    }
  }
  return BNN_OK;
}

bnn_status LoadGraphEnds(bnn_model* m, ErrorBuffer* err) {
  const auto* in = m->fb->inputs();
  const auto* out = m->fb->outputs();
  if (!in || in->size() == 0) return Fail(err, BNN_ERROR_INVALID_MODEL, "the model declares no inputs");
  if (!out || out->size() == 0) return Fail(err, BNN_ERROR_INVALID_MODEL, "the model declares no outputs");
  if (in->size() > 1024 || out->size() > 1024)
    return Fail(err, BNN_ERROR_INVALID_MODEL, "too many graph inputs or outputs");
  m->num_inputs = static_cast<int>(in->size());
  m->num_outputs = static_cast<int>(out->size());
  m->inputs = in->data();
  m->outputs = out->data();
  for (int i = 0; i < m->num_inputs; ++i) {
    const int32_t t = m->inputs[i];
    if (t < 0 || t >= m->num_tensors)
      return Fail(err, BNN_ERROR_INVALID_MODEL, "graph input %d refers to tensor #%d of %d", i, t, m->num_tensors);
    TensorDesc& d = m->tensors[t];
    if (d.constant) return Fail(err, BNN_ERROR_INVALID_MODEL, "graph input %d ('%s') is a constant", i, d.name);
    if (d.is_input) return Fail(err, BNN_ERROR_INVALID_MODEL, "tensor #%d ('%s') is listed twice as an input", t, d.name);
    d.is_input = true;
    d.first_def = -1;
  }
  for (int i = 0; i < m->num_outputs; ++i) {
    const int32_t t = m->outputs[i];
    if (t < 0 || t >= m->num_tensors)
      return Fail(err, BNN_ERROR_INVALID_MODEL, "graph output %d refers to tensor #%d of %d", i, t, m->num_tensors);
    if (m->tensors[t].constant)
      return Fail(err, BNN_ERROR_INVALID_MODEL, "graph output %d ('%s') is a constant", i, TensorName(m, t));
    if (m->tensors[t].is_output)
      return Fail(err, BNN_ERROR_INVALID_MODEL, "tensor #%d ('%s') is listed twice as an output", t, TensorName(m, t));
    m->tensors[t].is_output = true;
  }
  return BNN_OK;
}

const char* OpTypeName(int type) {
  if (type < static_cast<int>(fb::OpType::MIN) || type > static_cast<int>(fb::OpType::MAX)) return "unknown";
  return fb::EnumNameOpType(static_cast<fb::OpType>(type));
}

bnn_status LoadOps(bnn_model* m, ErrorBuffer* err) {
  const auto* ops = m->fb->operators();
  m->num_ops = static_cast<int>(ops->size());
  for (int i = 0; i < m->num_ops; ++i) {
    const fb::Operator* o = ops->Get(static_cast<uint32_t>(i));
    OpDesc& op = m->ops[i];
    op.fb = o;
    op.index = i;
    op.name = o->name() ? o->name()->c_str() : "";
    const int type = static_cast<int>(o->type());
    op.kernel = FindOpKernel(type);
    if (!op.kernel)
      return Fail(err, BNN_ERROR_UNSUPPORTED, "operator #%d ('%s'): type %d (%s) is not supported by this build", i,
                  op.name, type, OpTypeName(type));
    if (!o->inputs() || !o->outputs() || o->outputs()->size() == 0)
      return Fail(err, BNN_ERROR_INVALID_MODEL, "operator #%d (%s '%s'): missing input or output list", i,
                  op.kernel->type_name, op.name);
    if (o->inputs()->size() > 64 || o->outputs()->size() > 64)
      return Fail(err, BNN_ERROR_INVALID_MODEL, "operator #%d (%s '%s'): too many inputs or outputs", i,
                  op.kernel->type_name, op.name);
    op.num_inputs = static_cast<int>(o->inputs()->size());
    op.num_outputs = static_cast<int>(o->outputs()->size());
    op.inputs = o->inputs()->data();
    op.outputs = o->outputs()->data();
    for (int k = 0; k < op.num_inputs; ++k) {
      const int32_t t = op.inputs[k];
      if (t == -1) continue;  // an absent optional input
      if (t < -1 || t >= m->num_tensors)
        return Fail(err, BNN_ERROR_INVALID_MODEL, "operator #%d (%s '%s'): input %d refers to tensor #%d of %d", i,
                    op.kernel->type_name, op.name, k, t, m->num_tensors);
      TensorDesc& d = m->tensors[t];
      // Reading only what is constant, an input or already written makes the
      // operator list a valid execution order: cycles are impossible.
      if (!d.constant && d.first_def == -2)
        return Fail(err, BNN_ERROR_INVALID_MODEL,
                    "operator #%d (%s '%s'): reads tensor #%d ('%s') before any operator writes it (a cycle, or operators out of order)",
                    i, op.kernel->type_name, op.name, t, d.name);
      d.last_use = i;
    }
    for (int k = 0; k < op.num_outputs; ++k) {
      const int32_t t = op.outputs[k];
      if (t < 0 || t >= m->num_tensors)
        return Fail(err, BNN_ERROR_INVALID_MODEL, "operator #%d (%s '%s'): output %d refers to tensor #%d of %d", i,
                    op.kernel->type_name, op.name, k, t, m->num_tensors);
      TensorDesc& d = m->tensors[t];
      if (d.constant || d.is_input || d.first_def != -2)
        return Fail(err, BNN_ERROR_INVALID_MODEL,
                    "operator #%d (%s '%s'): output tensor #%d ('%s') is a constant, a graph input or written twice", i,
                    op.kernel->type_name, op.name, t, d.name);
      d.first_def = i;
      d.last_use = i;  // at least alive while written
    }
    PrepareContext ctx(m, &op, err);
    const bnn_status s = op.kernel->prepare(ctx);
    if (s != BNN_OK) return s;
  }
  for (int i = 0; i < m->num_outputs; ++i) {
    TensorDesc& d = m->tensors[m->outputs[i]];
    if (d.first_def == -2)
      return Fail(err, BNN_ERROR_INVALID_MODEL, "graph output %d ('%s') is never written", i, d.name);
    d.last_use = m->num_ops;
  }
  // Inputs stay intact through an invoke (callers may read them back or
  // invoke again without rewriting them), so nothing else may reuse them.
  for (int i = 0; i < m->num_inputs; ++i) m->tensors[m->inputs[i]].last_use = m->num_ops;
  return BNN_OK;
}

// Metadata values the runtime hands to apps as they are: refused when out
// of their range, so that a damaged threshold cannot turn every face into a
// match (or none).
bnn_status CheckMetadata(const bnn_model* m, ErrorBuffer* err) {
  const fb::Metadata* md = m->fb->metadata();
  const fb::EmbedderInfo* e = md ? md->embedder() : nullptr;
  if (e && !(e->match_threshold() >= -1.0f && e->match_threshold() <= 1.0f))
    return Fail(err, BNN_ERROR_INVALID_MODEL, "metadata: embedder match threshold %g is not a cosine similarity in [-1, 1]",
                static_cast<double>(e->match_threshold()));
  const fb::DetectorInfo* d = md ? md->detector() : nullptr;
  if (d && d->landmarks() < 0)
    return Fail(err, BNN_ERROR_INVALID_MODEL, "metadata: detector landmarks %d is negative", d->landmarks());
  return BNN_OK;
}

}  // namespace

bnn_status PrepareContext::Fail(const char* format, ...) {
  char message[200];
  va_list args;
  va_start(args, format);
  vsnprintf(message, sizeof message, format, args);
  va_end(args);
  return bnn::Fail(error_, BNN_ERROR_INVALID_MODEL, "operator #%d (%s '%s'): %s", op_->index,
                   op_->kernel->type_name, op_->name, message);
}

bnn_status LoadModel(bnn_model* m, Allocator* alloc, ErrorBuffer* err) {
  bnn_status s = CheckContainer(m, err);
  if (s == BNN_OK) s = AllocateTables(m, alloc, err);
  if (s == BNN_OK) s = LoadTensors(m, err);
  if (s == BNN_OK) s = LoadGraphEnds(m, err);
  if (s == BNN_OK) s = LoadOps(m, err);
  if (s == BNN_OK) s = CheckMetadata(m, err);
  return s;
}

void FreeModelTables(bnn_model* m) {
  if (!m->caller_memory) {
    Allocator heap = Allocator::Heap();
    heap.Free(m->tensors);
    heap.Free(m->ops);
  }
  m->tensors = nullptr;
  m->ops = nullptr;
}

}  // namespace bnn
