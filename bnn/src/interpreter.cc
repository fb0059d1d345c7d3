// Interpreter creation (plan, allocate once, pack weights) and invoke (run the
// operators in order: no allocation, no failure).
#include "interpreter.h"

#include <assert.h>
#include <string.h>
#include <time.h>

#include "planner.h"

namespace bnn {
namespace {

size_t AlignUp(size_t n) { return (n + kArenaAlign - 1) / kArenaAlign * kArenaAlign; }

// BNN_INTERPRETER_MEMORY_BYTES (bnn.h) must hold what CreateInterpreter takes
// from options.memory besides the arena and packed weights, on every target:
// the struct and twelve tables or temporaries, each with up to kTableAlign - 1
// bytes of padding; per tensor a data pointer, a plan buffer, its place in
// the order and a reader count; per operator three pointers, a time, a
// memory request, a plan buffer, its place and its fusion; per input a pointer.
static_assert(sizeof(bnn_interpreter) + sizeof(void*) + 12 * (kTableAlign - 1) <= 1024 &&
                  sizeof(void*) + sizeof(PlanBuffer) + 2 * sizeof(int) <= 64 &&
                  3 * sizeof(void*) + sizeof(double) + sizeof(MemoryRequest) + sizeof(PlanBuffer) + 2 * sizeof(int) <= 96 &&
                  sizeof(void*) <= 16,
              "the interpreter's tables outgrew BNN_INTERPRETER_MEMORY_BYTES");

double Now() {
#if defined(CLOCK_MONOTONIC) && !defined(BNN_NO_CLOCK)
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
#else
  return 0.0;
#endif
}

// ---- Patch stage candidates ---------------------------------------------------

// Bytes per row (dimension 1) of a batch-1 4-D tensor; 0 for anything else.
size_t RowBytes(const TensorDesc& t) {
  return t.rank == 4 && t.dims[0] == 1 ? t.bytes / static_cast<size_t>(t.dims[1]) : 0;
}

bool RowLocal(const bnn_model* m, const OpDesc& op) {
  if (!op.kernel->band_rows || !op.kernel->eval_band || op.num_outputs != 1 || op.num_inputs < 1) return false;
  if (op.inputs[0] < 0 || m->tensors[op.inputs[0]].constant || !RowBytes(m->tensors[op.inputs[0]])) return false;
  for (int k = 1; k < op.num_inputs; ++k)
    if (op.inputs[k] >= 0 && !m->tensors[op.inputs[k]].constant) return false;
  return RowBytes(m->tensors[op.outputs[0]]) != 0;
}

// The longest chain of row-local operators from operator 0: each one's only
// activation input is the previous one's output, which nothing else reads.
// Returns the index of its last operator (-1 when operator 0 is not row-local).
int LongestChain(const bnn_model* m, const int* readers) {
  if (m->num_ops == 0 || !RowLocal(m, m->ops[0])) return -1;
  int last = 0;
  while (last + 1 < m->num_ops && last + 1 < kMaxPatchOps) {
    const OpDesc& prev = m->ops[last];
    const OpDesc& next = m->ops[last + 1];
    const int t = prev.outputs[0];
    if (!RowLocal(m, next) || next.inputs[0] != t || readers[t] != 1 || m->tensors[t].is_output) break;
    ++last;
  }
  return last;
}

// Rows of each stage operator's output that one band needs at most, over
// every band of `band_rows` rows of the last output; false when some band
// cannot run. rows_run[i]: rows of operator first + i computed over all bands.
// Bands must move down every operator's rows: RunStage carries the rows two
// bands share from one to the next, so no row is computed twice.
bool StageRows(const bnn_model* m, int last, int band_rows, int* capacity, long* rows_run) {
  const int out_rows = m->tensors[m->ops[last].outputs[0]].dims[1];
  int prev_lo[kMaxPatchOps], done[kMaxPatchOps];
  for (int i = 0; i <= last; ++i) capacity[i] = rows_run[i] = prev_lo[i] = done[i] = 0;
  for (int r0 = 0; r0 < out_rows; r0 += band_rows) {
    int lo = r0, hi = r0 + band_rows < out_rows ? r0 + band_rows : out_rows;
    for (int i = last; i >= 0; --i) {
      if (lo < prev_lo[i] || hi < done[i]) return false;  // a band moving up: nothing to carry
      if (hi - lo > capacity[i]) capacity[i] = hi - lo;
      rows_run[i] += hi - (lo > done[i] ? lo : done[i]);
      prev_lo[i] = lo;
      done[i] = hi;
      int in0 = 0, in1 = 0;
      if (!m->ops[i].kernel->band_rows(m->ops[i], lo, hi, &in0, &in1)) return false;
      lo = in0;
      hi = in1;
    }
  }
  return true;
}

// ---- Residual fusion ---------------------------------------------------------------

// Pairs each binary convolution from operator `first` on (op.h's
// ResidualFusable) whose output only an ADD of two same-shape tensors reads
// with that ADD: fused[conv] = add and fused[add] = conv, -1 elsewhere. The
// pair runs at the ADD's place, where the residual is computed.
void FindFusions(const bnn_model* m, const int* readers, int first, int* fused) {
  for (int i = 0; i < m->num_ops; ++i) fused[i] = -1;
  for (int i = first < 0 ? 0 : first; i < m->num_ops; ++i) {
    const OpDesc& conv = m->ops[i];
    if (!ResidualFusable(conv)) continue;
    const int y = conv.outputs[0];
    if (readers[y] != 1 || m->tensors[y].is_output) continue;
    for (int j = i + 1; j < m->num_ops; ++j) {
      const OpDesc& add = m->ops[j];
      if (add.num_inputs < 2 || (add.inputs[0] != y && add.inputs[1] != y)) continue;
      float lo, hi;
      if (ResidualAdd(add, &lo, &hi)) {
        fused[i] = j;
        fused[j] = i;
      }
      break;  // y's only reader
    }
  }
}

// A fused pair in a plan: the convolution's output is never written, its
// input is read and its scratch used at the ADD's place.
void ApplyFusions(const bnn_model* m, const int* fused, PlanBuffer* buffers) {
  for (int i = 0; i < m->num_ops; ++i) {
    const int j = fused[i];
    if (j <= i) continue;
    buffers[m->ops[i].outputs[0]].size = 0;
    PlanBuffer& x = buffers[m->ops[i].inputs[0]];
    if (x.size && x.last < j) x.last = j;
    PlanBuffer& scratch = buffers[m->num_tensors + i];
    scratch.first = scratch.last = j;
  }
}

// ---- Arena plans ----------------------------------------------------------------

// The buffers of one plan: every activation tensor, then one scratch buffer
// per operator. With a stage [0, last] (last >= 0), the stage's intermediate
// tensors shrink to their band buffers, and they, the stage's scratch and
// its output live through the whole stage; then the fused pairs (ApplyFusions).
void FillBuffers(const bnn_model* m, const MemoryRequest* requests, int last, const int* capacity,
                 const int* fused, PlanBuffer* buffers) {
  for (int t = 0; t < m->num_tensors; ++t) {
    const TensorDesc& d = m->tensors[t];
    buffers[t] = PlanBuffer{0, 0, 0, 0};
    if (d.constant || d.first_def == -2) continue;  // constants and unused tensors take no arena
    buffers[t].size = d.bytes;
    buffers[t].first = d.first_def;
    buffers[t].last = d.last_use < d.first_def ? d.first_def : d.last_use;
  }
  for (int i = 0; i < m->num_ops; ++i) {
    PlanBuffer& b = buffers[m->num_tensors + i];
    b = PlanBuffer{requests[i].scratch_bytes, i, i, 0};
    if (i <= last) b.last = last;
  }
  for (int i = 0; i <= last; ++i) {
    PlanBuffer& b = buffers[m->ops[i].outputs[0]];
    if (b.first > 0) b.first = 0;
    if (i < last) {
      b.size = static_cast<size_t>(capacity[i]) * RowBytes(m->tensors[m->ops[i].outputs[0]]);
      b.last = last;
    }
  }
  if (last >= 0) {
    // The stage's input is read by every band.
    PlanBuffer& in = buffers[m->ops[0].inputs[0]];
    if (in.size && in.last < last) in.last = last;
  }
  ApplyFusions(m, fused, buffers);
}

void* SlotValue(size_t n) { return reinterpret_cast<void*>(static_cast<uintptr_t>(n)); }
size_t SlotSize(const void* p) { return static_cast<size_t>(reinterpret_cast<uintptr_t>(p)); }

bnn_status OutOfMemory(const Allocator& alloc, ErrorBuffer* err, const char* what) {
  if (alloc.is_region())
    return Fail(err, BNN_ERROR_OUT_OF_MEMORY, "the interpreter memory has %zu bytes; this model needs at least %zu",
                alloc.capacity(), alloc.needed());
#if defined(BNN_NO_HEAP)
  (void)what;
  return Fail(err, BNN_ERROR_OUT_OF_MEMORY,
              "this build has no heap: give bnn_interpreter_options.memory (and an arena)");
#else
  return Fail(err, BNN_ERROR_OUT_OF_MEMORY, "out of memory for %s", what);
#endif
}

struct Plan {
  size_t arena_bytes;
  size_t layer_arena_bytes;
  PatchStage stage;
};

// Plans the arena layer by layer and, when asked, with every patch stage
// from operator 0 and every band height, keeping the smallest; `buffers`
// ends with the chosen plan's offsets and `fused` with its fused pairs (when
// `fuse`: every pair outside the stage).
bnn_status PlanArenaFor(const bnn_model* m, const MemoryRequest* requests, bool patch, bool fuse, Allocator* alloc,
                        PlanBuffer* buffers, Plan* plan, int* fused, ErrorBuffer* err) {
  const int count = m->num_tensors + m->num_ops;
  const size_t mark = alloc->Mark();
  int* order = static_cast<int*>(alloc->Alloc(static_cast<size_t>(count) * sizeof(int)));
  int* readers = static_cast<int*>(alloc->Alloc(static_cast<size_t>(m->num_tensors) * sizeof(int)));
  if (!order || !readers) {
    alloc->Free(order);
    alloc->Free(readers);
    return OutOfMemory(*alloc, err, "planning");
  }
  for (int i = 0; i < m->num_ops; ++i)
    for (int k = 0; k < m->ops[i].num_inputs; ++k)
      if (m->ops[i].inputs[k] >= 0) ++readers[m->ops[i].inputs[k]];

  const int chain_end = patch ? LongestChain(m, readers) : -1;
  // Fusions from operator `first` on (none without `fuse`).
  const auto fusions_from = [&](int first) { FindFusions(m, readers, fuse ? first : m->num_ops, fused); };

  int capacity[kMaxPatchOps] = {};
  long rows_run[kMaxPatchOps] = {};
  fusions_from(0);
  FillBuffers(m, requests, -1, capacity, fused, buffers);
  plan->layer_arena_bytes = plan->arena_bytes = PlanArena(buffers, count, order);
  plan->stage = PatchStage();
  int best_last = -1, best_rows = 0;
  for (int last = 1; last <= chain_end; ++last) {
    fusions_from(last + 1);
    const int out_rows = m->tensors[m->ops[last].outputs[0]].dims[1];
    for (int rows = 1; rows <= out_rows; ++rows) {
      if (!StageRows(m, last, rows, capacity, rows_run)) continue;
      FillBuffers(m, requests, last, capacity, fused, buffers);
      const size_t need = PlanArena(buffers, count, order);
      // Smallest arena; on a tie the taller band (fewer kernel calls).
      if (need < plan->arena_bytes || (best_last >= 0 && need == plan->arena_bytes)) {
        plan->arena_bytes = need;
        best_last = last;
        best_rows = rows;
      }
    }
  }
  if (best_last >= 0) {
    PatchStage& s = plan->stage;
    s.first = 0;
    s.last = best_last;
    s.band_rows = best_rows;
    s.out_rows = m->tensors[m->ops[best_last].outputs[0]].dims[1];
    s.bands = (s.out_rows + best_rows - 1) / best_rows;
    s.in_row_bytes = RowBytes(m->tensors[m->ops[0].inputs[0]]);
    StageRows(m, best_last, best_rows, capacity, rows_run);
    double macs = 0, run = 0;
    for (int i = 0; i <= best_last; ++i) {
      const TensorDesc& out = m->tensors[m->ops[i].outputs[0]];
      s.out_row_bytes[i] = RowBytes(out);
      macs += m->ops[i].macs;
      run += m->ops[i].macs * static_cast<double>(rows_run[i]) / out.dims[1];
    }
    s.recompute = macs > 0 ? run / macs : 1.0;
  }
  fusions_from(best_last + 1);
  FillBuffers(m, requests, best_last, capacity, fused, buffers);
  PlanArena(buffers, count, order);
#ifndef NDEBUG
  assert(!AnyLiveOverlap(buffers, count) && "the arena plan overlaps two live tensors");
#endif
  alloc->Free(readers);
  alloc->Free(order);
  alloc->Release(mark);
  return BNN_OK;
}

}  // namespace

bnn_status CreateInterpreter(const bnn_model* m, const bnn_interpreter_options* o, Allocator* alloc,
                             bnn_interpreter* it) {
  it->patch = PatchStage();  // `it` arrives zeroed, and first = 0 would be a stage
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
  it->data = static_cast<void**>(alloc->Alloc(nt * sizeof(void*)));
  it->input_home = static_cast<void**>(alloc->Alloc((static_cast<size_t>(m->num_inputs) + 1) * sizeof(void*)));
  it->op_persistent = static_cast<void**>(alloc->Alloc(no * sizeof(void*)));
  it->op_scratch = static_cast<void**>(alloc->Alloc(no * sizeof(void*)));
  it->op_seconds = static_cast<double*>(alloc->Alloc(no * sizeof(double)));
  it->fused = static_cast<int*>(alloc->Alloc(no * sizeof(int)));
  if (!it->data || !it->input_home || !it->op_persistent || !it->op_scratch || !it->op_seconds || !it->fused)
    return OutOfMemory(*alloc, &it->error, "the interpreter's tables");

  // Planning works in temporaries (a region gets their bytes back at the
  // end), so it records arena offsets and packed-weight sizes in the tables;
  // the arena and the packed weights are taken after, and the offsets become
  // pointers.
  const size_t mark = alloc->Mark();
  MemoryRequest* requests = static_cast<MemoryRequest*>(alloc->Alloc(no * sizeof(MemoryRequest)));
  PlanBuffer* buffers = static_cast<PlanBuffer*>(alloc->Alloc((nt + no) * sizeof(PlanBuffer)));
  bnn_status s = BNN_OK;
  if (!requests || !buffers) s = OutOfMemory(*alloc, &it->error, "planning");
  Plan plan{};
  if (s == BNN_OK) {
    for (int i = 0; i < m->num_ops; ++i) {
      const OpDesc& op = m->ops[i];
      if (op.kernel->memory) requests[i] = op.kernel->memory(op, it->kernels);
      it->persistent_bytes += AlignUp(requests[i].persistent_bytes);
    }
    s = PlanArenaFor(m, requests, o->patch_based >= 0, o->no_fusion == 0, alloc, buffers, &plan, it->fused,
                     &it->error);
  }
  // Until the arena exists: arena offset + 1 (0: no buffer) in data and
  // op_scratch, packed-weight bytes in op_persistent.
  if (s == BNN_OK) {
    for (int t = 0; t < m->num_tensors; ++t) it->data[t] = SlotValue(buffers[t].size ? buffers[t].offset + 1 : 0);
    for (int i = 0; i < m->num_ops; ++i) {
      const PlanBuffer& b = buffers[m->num_tensors + i];
      it->op_scratch[i] = SlotValue(b.size ? b.offset + 1 : 0);
      it->op_persistent[i] = SlotValue(requests[i].persistent_bytes);
    }
  }
  alloc->Free(buffers);
  alloc->Free(requests);
  alloc->Release(mark);
  if (s != BNN_OK) return s;

  it->patch = plan.stage;
  it->layer_arena_bytes = plan.layer_arena_bytes;
  const size_t need = plan.arena_bytes;
  if (it->arena) {
    if (it->arena_bytes < need)
      return Fail(&it->error, BNN_ERROR_OUT_OF_MEMORY, "the caller's arena has %zu bytes; this model needs %zu%s",
                  it->arena_bytes, need, it->patch.first >= 0 ? " (with patch-based inference)" : "");
  } else if (need) {
    it->arena = static_cast<uint8_t*>(alloc->Alloc(need, kArenaAlign));
    if (!it->arena) return OutOfMemory(*alloc, &it->error, "the arena");
    it->owns_arena = !alloc->is_region();
  }
  it->arena_bytes = need;
  if (it->persistent_bytes) {
    it->persistent = static_cast<uint8_t*>(alloc->Alloc(it->persistent_bytes, kArenaAlign));
    if (!it->persistent) return OutOfMemory(*alloc, &it->error, "the packed weights");
  }

  for (int t = 0; t < m->num_tensors; ++t) {
    const TensorDesc& d = m->tensors[t];
    const size_t offset = SlotSize(it->data[t]);
    it->data[t] = d.constant ? const_cast<void*>(d.constant) : offset ? it->arena + (offset - 1) : nullptr;
  }
  for (int i = 0; i < m->num_inputs; ++i) it->input_home[i] = it->data[m->inputs[i]];
  size_t packed = 0;
  for (int i = 0; i < m->num_ops; ++i) {
    const size_t offset = SlotSize(it->op_scratch[i]), bytes = SlotSize(it->op_persistent[i]);
    it->op_scratch[i] = offset ? it->arena + (offset - 1) : nullptr;
    it->op_persistent[i] = bytes ? it->persistent + packed : nullptr;
    packed += AlignUp(bytes);
  }
  for (int i = 0; i < m->num_ops; ++i)
    if (m->ops[i].kernel->init) m->ops[i].kernel->init(m->ops[i], it->kernels, it->op_persistent[i]);
  return BNN_OK;
}

void DestroyInterpreter(bnn_interpreter* it) {
  if (it->caller_memory) return;
  Allocator heap = Allocator::Heap();
  if (it->owns_arena) heap.Free(it->arena);
  heap.Free(it->persistent);
  heap.Free(it->data);
  heap.Free(it->input_home);
  heap.Free(it->op_persistent);
  heap.Free(it->op_scratch);
  heap.Free(it->op_seconds);
  heap.Free(it->fused);
}

namespace {

void RunOp(bnn_interpreter* it, EvalContext* ctx, int i) {
  const bnn_model* m = it->model;
  ctx->op = &m->ops[i];
  ctx->persistent = it->op_persistent[i];
  ctx->scratch = it->op_scratch[i];
  if (it->profile) {
    const double t0 = Now();
    m->ops[i].kernel->eval(*ctx);
    it->op_seconds[i] = Now() - t0;
  } else {
    m->ops[i].kernel->eval(*ctx);
  }
}

// A fused binary convolution and ADD (FindFusions), run at the ADD's place;
// its time counts as the convolution's.
void RunFused(bnn_interpreter* it, EvalContext* ctx, int conv, int add) {
  const bnn_model* m = it->model;
  const OpDesc& a = m->ops[add];
  const int y = m->ops[conv].outputs[0];
  const float* residual = static_cast<const float*>(it->data[a.inputs[0] == y ? a.inputs[1] : a.inputs[0]]);
  float lo = 0, hi = 0;
  ResidualAdd(a, &lo, &hi);
  ctx->op = &m->ops[conv];
  ctx->persistent = it->op_persistent[conv];
  ctx->scratch = it->op_scratch[conv];
  const double t0 = it->profile ? Now() : 0.0;
  EvalWithResidual(*ctx, residual, lo, hi, static_cast<float*>(it->data[a.outputs[0]]));
  if (it->profile) {
    it->op_seconds[conv] = Now() - t0;
    it->op_seconds[add] = 0;
  }
}

// The patch stage, band by band: for each band of the last output's rows,
// the rows every earlier operator must produce (backwards), then the
// operators in order on those rows only. Rows an operator computed for the
// previous band that this band needs again (where windows overlap) are moved
// to the front of its band buffer, not recomputed: only the new rows run.
void RunStage(bnn_interpreter* it, EvalContext* ctx) {
  const bnn_model* m = it->model;
  const PatchStage& s = it->patch;
  int lo[kMaxPatchOps], hi[kMaxPatchOps];
  int prev_lo[kMaxPatchOps] = {}, done[kMaxPatchOps] = {};  // each operator's previous band
  if (it->profile)
    for (int i = s.first; i <= s.last; ++i) it->op_seconds[i] = 0;
  for (int r0 = 0; r0 < s.out_rows; r0 += s.band_rows) {
    lo[s.last] = r0;
    hi[s.last] = r0 + s.band_rows < s.out_rows ? r0 + s.band_rows : s.out_rows;
    for (int i = s.last; i > s.first; --i) m->ops[i].kernel->band_rows(m->ops[i], lo[i], hi[i], &lo[i - 1], &hi[i - 1]);
    for (int i = s.first; i <= s.last; ++i) {
      const OpDesc& op = m->ops[i];
      const size_t row_bytes = s.out_row_bytes[i];
      uint8_t* out = static_cast<uint8_t*>(it->data[op.outputs[0]]);
      const double t0 = it->profile ? Now() : 0.0;
      // StageRows made sure that lo[i] >= prev_lo[i] and hi[i] >= done[i].
      const int start = done[i] > lo[i] ? done[i] : lo[i];
      if (i < s.last && start > lo[i])
        memmove(out, out + static_cast<size_t>(lo[i] - prev_lo[i]) * row_bytes,
                static_cast<size_t>(start - lo[i]) * row_bytes);
      if (start < hi[i]) {
        RowBand band;
        op.kernel->band_rows(op, start, hi[i], &band.in0, &band.in1);
        const uint8_t* in = static_cast<const uint8_t*>(it->data[op.inputs[0]]);
        // The stage's input whole, or the previous operator's band buffer.
        band.in = i == s.first ? in + static_cast<size_t>(band.in0) * s.in_row_bytes
                               : in + static_cast<size_t>(band.in0 - lo[i - 1]) * s.out_row_bytes[i - 1];
        band.out0 = start;
        band.out1 = hi[i];
        band.out = out + static_cast<size_t>(i == s.last ? start : start - lo[i]) * row_bytes;
        ctx->op = &op;
        ctx->persistent = it->op_persistent[i];
        ctx->scratch = it->op_scratch[i];
        op.kernel->eval_band(*ctx, band);
      }
      prev_lo[i] = lo[i];
      done[i] = hi[i];
      if (it->profile) it->op_seconds[i] += Now() - t0;
    }
  }
}

}  // namespace

void Invoke(bnn_interpreter* it) {
  EvalContext ctx;
  ctx.kernels = it->kernels;
  ctx.data = it->data;
  for (int i = 0; i < it->model->num_ops; ++i) {
    if (i == it->patch.first) {
      RunStage(it, &ctx);
      i = it->patch.last;
      continue;
    }
    const int partner = it->fused[i];
    if (partner > i) continue;  // a binary convolution that runs with its ADD, later
    if (partner >= 0) {
      RunFused(it, &ctx, partner, i);
    } else {
      RunOp(it, &ctx, i);
    }
  }
}

}  // namespace bnn
