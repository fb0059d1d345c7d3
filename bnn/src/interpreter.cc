// Interpreter creation (plan, allocate once, pack weights) and invoke (run the
// operators in order: no allocation, no failure).
#include "interpreter.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "planner.h"

namespace bnn {
namespace {

size_t AlignUp(size_t n) { return (n + kArenaAlign - 1) / kArenaAlign * kArenaAlign; }

void* AlignedAlloc(size_t bytes) {
  if (bytes == 0) return nullptr;
  void* p = nullptr;
  if (posix_memalign(&p, kArenaAlign, AlignUp(bytes)) != 0) return nullptr;
  return p;
}

double Now() {
#if defined(CLOCK_MONOTONIC)
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
#else
  return 0.0;
#endif
}

// Activations, then one scratch buffer per operator that wants one.
bnn_status Plan(bnn_interpreter* it, const MemoryRequest* requests) {
  const bnn_model* m = it->model;
  const int count = m->num_tensors + m->num_ops;
  PlanBuffer* buffers = static_cast<PlanBuffer*>(calloc(static_cast<size_t>(count), sizeof(PlanBuffer)));
  int* order = static_cast<int*>(calloc(static_cast<size_t>(count), sizeof(int)));
  if (!buffers || !order) {
    free(buffers);
    free(order);
    return Fail(&it->error, BNN_ERROR_OUT_OF_MEMORY, "out of memory while planning");
  }
  for (int t = 0; t < m->num_tensors; ++t) {
    const TensorDesc& d = m->tensors[t];
    if (d.constant || d.first_def == -2) continue;  // constants and unused tensors take no arena
    buffers[t].size = d.bytes;
    buffers[t].first = d.first_def;
    buffers[t].last = d.last_use < d.first_def ? d.first_def : d.last_use;
  }
  for (int i = 0; i < m->num_ops; ++i) {
    PlanBuffer& b = buffers[m->num_tensors + i];
    b.size = requests[i].scratch_bytes;
    b.first = b.last = i;
  }
  const size_t need = PlanArena(buffers, count, order);
#ifndef NDEBUG
  assert(!AnyLiveOverlap(buffers, count) && "the arena plan overlaps two live tensors");
#endif
  bnn_status s = BNN_OK;
  if (it->arena) {
    if (it->arena_bytes < need)
      s = Fail(&it->error, BNN_ERROR_OUT_OF_MEMORY, "the caller's arena has %zu bytes; this model needs %zu",
               it->arena_bytes, need);
  } else {
    it->arena_bytes = need;
    it->arena = static_cast<uint8_t*>(AlignedAlloc(need));
    it->owns_arena = true;
    if (need && !it->arena) s = Fail(&it->error, BNN_ERROR_OUT_OF_MEMORY, "cannot allocate a %zu-byte arena", need);
  }
  if (s == BNN_OK) {
    it->arena_bytes = need;
    for (int t = 0; t < m->num_tensors; ++t) {
      const TensorDesc& d = m->tensors[t];
      it->data[t] = d.constant ? const_cast<void*>(d.constant) : buffers[t].size ? it->arena + buffers[t].offset : nullptr;
    }
    for (int i = 0; i < m->num_inputs; ++i) it->input_home[i] = it->data[m->inputs[i]];
    for (int i = 0; i < m->num_ops; ++i)
      it->op_scratch[i] = buffers[m->num_tensors + i].size ? it->arena + buffers[m->num_tensors + i].offset : nullptr;
  }
  free(buffers);
  free(order);
  return s;
}

}  // namespace

bnn_status CreateInterpreter(const bnn_model* m, const bnn_interpreter_options* o, bnn_interpreter* it) {
  it->model = m;
  it->kernels = o->force_reference ? bnn_kernels_reference() : bnn_kernels_best();
  it->profile = o->profile != 0;
  if (o->arena) {
    if (reinterpret_cast<uintptr_t>(o->arena) % kArenaAlign != 0)
      return Fail(&it->error, BNN_ERROR_INVALID_ARGUMENT, "the caller's arena must be 64-byte aligned");
    it->arena = static_cast<uint8_t*>(o->arena);
    it->arena_bytes = o->arena_bytes;
  }
  const size_t nt = static_cast<size_t>(m->num_tensors), no = static_cast<size_t>(m->num_ops);
  it->data = static_cast<void**>(calloc(nt, sizeof(void*)));
  it->input_home = static_cast<void**>(calloc(static_cast<size_t>(m->num_inputs) + 1, sizeof(void*)));
  it->op_persistent = static_cast<void**>(calloc(no, sizeof(void*)));
  it->op_scratch = static_cast<void**>(calloc(no, sizeof(void*)));
  it->op_seconds = static_cast<double*>(calloc(no, sizeof(double)));
  MemoryRequest* requests = static_cast<MemoryRequest*>(calloc(no, sizeof(MemoryRequest)));
  if (!it->data || !it->input_home || !it->op_persistent || !it->op_scratch || !it->op_seconds || !requests) {
    free(requests);
    return Fail(&it->error, BNN_ERROR_OUT_OF_MEMORY, "out of memory creating the interpreter");
  }
  for (int i = 0; i < m->num_ops; ++i) {
    const OpDesc& op = m->ops[i];
    if (op.kernel->memory) requests[i] = op.kernel->memory(op, it->kernels);
    it->persistent_bytes += AlignUp(requests[i].persistent_bytes);
  }
  bnn_status s = Plan(it, requests);
  if (s == BNN_OK && it->persistent_bytes) {
    it->persistent = static_cast<uint8_t*>(AlignedAlloc(it->persistent_bytes));
    if (!it->persistent)
      s = Fail(&it->error, BNN_ERROR_OUT_OF_MEMORY, "cannot allocate %zu bytes of packed weights", it->persistent_bytes);
  }
  if (s == BNN_OK) {
    size_t offset = 0;
    for (int i = 0; i < m->num_ops; ++i) {
      if (!requests[i].persistent_bytes) continue;
      it->op_persistent[i] = it->persistent + offset;
      offset += AlignUp(requests[i].persistent_bytes);
    }
    for (int i = 0; i < m->num_ops; ++i)
      if (m->ops[i].kernel->init) m->ops[i].kernel->init(m->ops[i], it->kernels, it->op_persistent[i]);
  }
  free(requests);
  return s;
}

void DestroyInterpreter(bnn_interpreter* it) {
  if (it->owns_arena) free(it->arena);
  free(it->persistent);
  free(it->data);
  free(it->input_home);
  free(it->op_persistent);
  free(it->op_scratch);
  free(it->op_seconds);
}

void Invoke(bnn_interpreter* it) {
  const bnn_model* m = it->model;
  EvalContext ctx;
  ctx.kernels = it->kernels;
  ctx.data = it->data;
  for (int i = 0; i < m->num_ops; ++i) {
    ctx.op = &m->ops[i];
    ctx.persistent = it->op_persistent[i];
    ctx.scratch = it->op_scratch[i];
    if (it->profile) {
      const double t0 = Now();
      m->ops[i].kernel->eval(ctx);
      it->op_seconds[i] = Now() - t0;
    } else {
      m->ops[i].kernel->eval(ctx);
    }
  }
}

}  // namespace bnn
