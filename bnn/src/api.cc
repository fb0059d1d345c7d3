// The C API (bnn.h): argument checks and ownership; the work is in model.cc
// and interpreter.cc.
#include <string.h>

#if !defined(BNN_NO_FILESYSTEM)
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

#include "bnn/bnn.h"
#include "interpreter.h"
#include "model.h"

using bnn::Allocator;
using bnn::ErrorBuffer;
using bnn::Fail;

namespace {

// Bare-metal builds (BNN_NO_THREADS) have one thread and no TLS support.
#if defined(BNN_NO_THREADS)
ErrorBuffer g_load_error;
#else
thread_local ErrorBuffer g_load_error;
#endif

}  // namespace

namespace bnn {
ErrorBuffer& LoadErrorBuffer() { return g_load_error; }
}  // namespace bnn

namespace {

const bnn::TensorDesc* GraphTensor(const bnn_model* m, const int32_t* list, int count, int index) {
  if (!m || index < 0 || index >= count) return nullptr;
  return &m->tensors[list[index]];
}

bnn_status FillInfo(const bnn::TensorDesc* t, bnn_tensor_info* info) {
  if (!t || !info) return BNN_ERROR_INVALID_ARGUMENT;
  memset(info, 0, sizeof *info);
  info->name = t->name;
  info->dtype = t->dtype;
  info->rank = t->rank;
  for (int i = 0; i < t->rank; ++i) info->dims[i] = t->dims[i];
  info->bytes = t->bytes;
  info->scale = t->scale;
  info->zero_point = t->zero_point;
  return BNN_OK;
}

bnn_status Finish(bnn_model* m, Allocator* alloc, bnn_model** out) {
  const bnn_status s = bnn::LoadModel(m, alloc, &g_load_error);
  m->memory_bytes = alloc->needed();
  if (s != BNN_OK) {
    bnn_model_free(m);
    return s;
  }
  *out = m;
  return BNN_OK;
}

// The model struct itself, from the heap or the front of the caller's memory.
bnn_model* NewModel(Allocator* alloc) {
  bnn_model* m = static_cast<bnn_model*>(alloc->Alloc(sizeof(bnn_model)));
  if (m) m->caller_memory = alloc->is_region();
  return m;
}

bnn_status NoModelMemory(const Allocator& alloc) {
  if (alloc.is_region())
    return Fail(&g_load_error, BNN_ERROR_OUT_OF_MEMORY, "the model memory has %zu bytes; a model needs at least %zu",
                alloc.capacity(), alloc.needed());
#if defined(BNN_NO_HEAP)
  return Fail(&g_load_error, BNN_ERROR_UNSUPPORTED, "this build has no heap: load with bnn_model_load_static");
#else
  return Fail(&g_load_error, BNN_ERROR_OUT_OF_MEMORY, "out of memory");
#endif
}

}  // namespace

extern "C" {

const char* bnn_version(void) { return "0.1.0"; }

const char* bnn_status_string(bnn_status status) {
  switch (status) {
    case BNN_OK: return "ok";
    case BNN_ERROR_INVALID_ARGUMENT: return "invalid argument";
    case BNN_ERROR_IO: return "input/output error";
    case BNN_ERROR_INVALID_MODEL: return "invalid model";
    case BNN_ERROR_UNSUPPORTED: return "unsupported";
    case BNN_ERROR_OUT_OF_MEMORY: return "out of memory";
  }
  return "unknown status";
}

const char* bnn_last_load_error(void) { return g_load_error.text; }

namespace {

bnn_status LoadBuffer(const void* data, size_t size, Allocator* alloc, bnn_model** model) {
  if (!model) return Fail(&g_load_error, BNN_ERROR_INVALID_ARGUMENT, "model output pointer is NULL");
  *model = nullptr;
  if (!data) return Fail(&g_load_error, BNN_ERROR_INVALID_ARGUMENT, "model buffer is NULL");
  bnn_model* m = NewModel(alloc);
  if (!m) return NoModelMemory(*alloc);
  m->bytes = static_cast<const uint8_t*>(data);
  m->size = size;
  return Finish(m, alloc, model);
}

}  // namespace

bnn_status bnn_model_load_buffer(const void* data, size_t size, bnn_model** model) {
  Allocator heap = Allocator::Heap();
  return LoadBuffer(data, size, &heap, model);
}

bnn_status bnn_model_load_static(const void* data, size_t size, void* memory, size_t memory_bytes,
                                 bnn_model** model) {
  if (model) *model = nullptr;
  if (!memory) return Fail(&g_load_error, BNN_ERROR_INVALID_ARGUMENT, "model memory is NULL");
  if (reinterpret_cast<uintptr_t>(memory) % bnn::kTableAlign != 0)
    return Fail(&g_load_error, BNN_ERROR_INVALID_ARGUMENT, "model memory must be 16-byte aligned");
  Allocator region = Allocator::Region(memory, memory_bytes);
  return LoadBuffer(data, size, &region, model);
}

size_t bnn_model_memory_bytes(const bnn_model* m) { return m ? m->memory_bytes : 0; }

bnn_status bnn_model_load_file(const char* path, bnn_model** model) {
  if (!model) return Fail(&g_load_error, BNN_ERROR_INVALID_ARGUMENT, "model output pointer is NULL");
  *model = nullptr;
  if (!path) return Fail(&g_load_error, BNN_ERROR_INVALID_ARGUMENT, "model path is NULL");
#if defined(BNN_NO_FILESYSTEM) || defined(BNN_NO_HEAP)
  return Fail(&g_load_error, BNN_ERROR_UNSUPPORTED,
              "this build has no file system: link the model as an array (bnn-to-c) and load it with "
              "bnn_model_load_static");
#else
  const int fd = open(path, O_RDONLY);
  if (fd < 0) return Fail(&g_load_error, BNN_ERROR_IO, "cannot open '%s': %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return Fail(&g_load_error, BNN_ERROR_IO, "'%s' is not a regular file", path);
  }
  const size_t size = static_cast<size_t>(st.st_size);
  if (size == 0) {
    close(fd);
    return Fail(&g_load_error, BNN_ERROR_INVALID_MODEL, "'%s' is empty", path);
  }
  // Mapped read-only: the weights are read in place, page-aligned.
  void* p = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (p == MAP_FAILED) return Fail(&g_load_error, BNN_ERROR_IO, "cannot map '%s': %s", path, strerror(errno));
  Allocator heap = Allocator::Heap();
  bnn_model* m = NewModel(&heap);
  if (!m) {
    munmap(p, size);
    return Fail(&g_load_error, BNN_ERROR_OUT_OF_MEMORY, "out of memory");
  }
  m->bytes = static_cast<const uint8_t*>(p);
  m->size = size;
  m->owned = p;
  m->owned_size = size;
  m->mapped = true;
  const bnn_status s = Finish(m, &heap, model);
  if (s != BNN_OK) {
    // Name the file in the message.
    ErrorBuffer inner = g_load_error;
    Fail(&g_load_error, s, "%s: %s", path, inner.text);
  }
  return s;
#endif
}

void bnn_model_free(bnn_model* model) {
  if (!model) return;
  bnn::FreeModelTables(model);
#if !defined(BNN_NO_FILESYSTEM) && !defined(BNN_NO_HEAP)
  if (model->mapped) munmap(model->owned, model->owned_size);
#endif
  if (!model->caller_memory) Allocator::Heap().Free(model);
}

int bnn_model_input_count(const bnn_model* m) { return m ? m->num_inputs : 0; }
int bnn_model_output_count(const bnn_model* m) { return m ? m->num_outputs : 0; }
int bnn_model_tensor_count(const bnn_model* m) { return m ? m->num_tensors : 0; }
int bnn_model_op_count(const bnn_model* m) { return m ? m->num_ops : 0; }
bnn_status bnn_model_input_info(const bnn_model* m, int index, bnn_tensor_info* info) {
  return FillInfo(GraphTensor(m, m ? m->inputs : nullptr, m ? m->num_inputs : 0, index), info);
}
bnn_status bnn_model_output_info(const bnn_model* m, int index, bnn_tensor_info* info) {
  return FillInfo(GraphTensor(m, m ? m->outputs : nullptr, m ? m->num_outputs : 0, index), info);
}

bnn_task bnn_model_task(const bnn_model* m) {
  const auto* md = m ? m->fb->metadata() : nullptr;
  const int task = md ? static_cast<int>(md->task()) : 0;
  return task >= 0 && task <= BNN_TASK_EMBEDDER ? static_cast<bnn_task>(task) : BNN_TASK_OTHER;
}
const char* bnn_model_name(const bnn_model* m) {
  const auto* md = m ? m->fb->metadata() : nullptr;
  return md && md->name() ? md->name()->c_str() : "";
}
const char* bnn_model_description(const bnn_model* m) {
  const auto* md = m ? m->fb->metadata() : nullptr;
  return md && md->description() ? md->description()->c_str() : "";
}
const char* bnn_model_producer(const bnn_model* m) {
  const auto* md = m ? m->fb->metadata() : nullptr;
  return md && md->producer() ? md->producer()->c_str() : "";
}
int bnn_model_label_count(const bnn_model* m) {
  const auto* md = m ? m->fb->metadata() : nullptr;
  return md && md->labels() ? static_cast<int>(md->labels()->size()) : 0;
}
const char* bnn_model_label(const bnn_model* m, int index) {
  if (index < 0 || index >= bnn_model_label_count(m)) return "";
  const auto* s = m->fb->metadata()->labels()->Get(static_cast<uint32_t>(index));
  return s ? s->c_str() : "";
}
int bnn_model_input_is_nchw(const bnn_model* m) {
  const auto* md = m ? m->fb->metadata() : nullptr;
  return md && md->input_layout() == bnn::fb::Layout::NCHW;
}
int bnn_model_normalization(const bnn_model* m, float* mean, float* std, int max_channels) {
  const auto* md = m ? m->fb->metadata() : nullptr;
  const auto* n = md ? md->normalization() : nullptr;
  if (!n || !n->mean() || !n->std() || n->mean()->size() != n->std()->size()) return 0;
  int count = static_cast<int>(n->mean()->size());
  if (count > max_channels) count = max_channels;
  for (int i = 0; i < count; ++i) {
    if (mean) mean[i] = n->mean()->Get(static_cast<uint32_t>(i));
    if (std) std[i] = n->std()->Get(static_cast<uint32_t>(i));
  }
  return count;
}
size_t bnn_model_weights_bytes(const bnn_model* m) { return m ? m->weights_bytes : 0; }
const char* bnn_model_output_meaning(const bnn_model* m, int index) {
  const auto* md = m ? m->fb->metadata() : nullptr;
  const auto* v = md ? md->output_meaning() : nullptr;
  if (!v || index < 0 || static_cast<uint32_t>(index) >= v->size()) return "";
  const auto* s = v->Get(static_cast<uint32_t>(index));
  return s ? s->c_str() : "";
}

namespace {
const bnn::fb::DetectorInfo* Detector(const bnn_model* m) {
  const auto* md = m ? m->fb->metadata() : nullptr;
  return md ? md->detector() : nullptr;
}
}  // namespace

bnn_pixel_format bnn_model_input_pixel_format(const bnn_model* m) {
  const auto* md = m ? m->fb->metadata() : nullptr;
  const int f = md ? static_cast<int>(md->input_pixel_format()) : 0;
  return f >= BNN_PIXELS_RGB && f <= BNN_PIXELS_GREY ? static_cast<bnn_pixel_format>(f) : BNN_PIXELS_NONE;
}

const char* bnn_model_detector_decoding(const bnn_model* m) {
  const auto* d = Detector(m);
  return d && d->decoding() ? d->decoding()->c_str() : "";
}
int bnn_model_detector_anchors(const bnn_model* m, bnn_anchor* anchors, int max_anchors) {
  const auto* d = Detector(m);
  if (!d || !d->anchors()) return 0;
  const int count = static_cast<int>(d->anchors()->size());
  for (int i = 0; i < count && i < max_anchors && anchors; ++i) {
    const auto* a = d->anchors()->Get(static_cast<uint32_t>(i));
    anchors[i] = a ? bnn_anchor{a->cx(), a->cy(), a->w(), a->h()} : bnn_anchor{0, 0, 0, 0};
  }
  return count;
}
int bnn_model_detector_strides(const bnn_model* m, int32_t* strides, int max_strides) {
  const auto* d = Detector(m);
  if (!d || !d->strides()) return 0;
  const int count = static_cast<int>(d->strides()->size());
  for (int i = 0; i < count && i < max_strides && strides; ++i) strides[i] = d->strides()->Get(static_cast<uint32_t>(i));
  return count;
}
int bnn_model_detector_landmarks(const bnn_model* m) {
  const auto* d = Detector(m);
  return d ? d->landmarks() : 0;
}
float bnn_model_detector_score_threshold(const bnn_model* m) {
  const auto* d = Detector(m);
  return d ? d->score_threshold() : 0.25f;
}
float bnn_model_detector_iou_threshold(const bnn_model* m) {
  const auto* d = Detector(m);
  return d ? d->iou_threshold() : 0.45f;
}

float bnn_model_embedder_match_threshold(const bnn_model* m) {
  const auto* md = m ? m->fb->metadata() : nullptr;
  const auto* e = md ? md->embedder() : nullptr;
  return e ? e->match_threshold() : BNN_DEFAULT_MATCH_THRESHOLD;
}

bnn_interpreter_options bnn_interpreter_default_options(void) {
  bnn_interpreter_options o;
  memset(&o, 0, sizeof o);
  o.size = sizeof o;
  return o;
}

bnn_status bnn_interpreter_create(const bnn_model* model, const bnn_interpreter_options* options,
                                  bnn_interpreter** interpreter) {
  if (!interpreter) return BNN_ERROR_INVALID_ARGUMENT;
  *interpreter = nullptr;
  if (!model) return Fail(&g_load_error, BNN_ERROR_INVALID_ARGUMENT, "model is NULL");
  bnn_interpreter_options o = bnn_interpreter_default_options();
  if (options) {
    if (options->size < sizeof(size_t) || options->size > sizeof o)
      return Fail(&g_load_error, BNN_ERROR_INVALID_ARGUMENT, "options.size is %zu; set it to sizeof(bnn_interpreter_options)", options->size);
    memcpy(&o, options, options->size);  // fields a smaller (older) struct lacks keep their defaults
  }
  if (o.memory && reinterpret_cast<uintptr_t>(o.memory) % bnn::kTableAlign != 0)
    return Fail(&g_load_error, BNN_ERROR_INVALID_ARGUMENT, "options.memory must be 16-byte aligned");
  Allocator alloc = o.memory ? Allocator::Region(o.memory, o.memory_bytes) : Allocator::Heap();
  bnn_interpreter* it = static_cast<bnn_interpreter*>(alloc.Alloc(sizeof(bnn_interpreter)));
  if (!it) {
    if (alloc.is_region())
      return Fail(&g_load_error, BNN_ERROR_OUT_OF_MEMORY, "options.memory has %zu bytes; an interpreter needs more",
                  o.memory_bytes);
#if defined(BNN_NO_HEAP)
    return Fail(&g_load_error, BNN_ERROR_UNSUPPORTED, "this build has no heap: give bnn_interpreter_options.memory");
#else
    return Fail(&g_load_error, BNN_ERROR_OUT_OF_MEMORY, "out of memory");
#endif
  }
  it->caller_memory = alloc.is_region();
  const bnn_status s = bnn::CreateInterpreter(model, &o, &alloc, it);
  it->memory_bytes = alloc.needed();
  if (s != BNN_OK) {
    g_load_error = it->error;
    bnn_interpreter_free(it);
    return s;
  }
  *interpreter = it;
  return BNN_OK;
}

void bnn_interpreter_free(bnn_interpreter* it) {
  if (!it) return;
  bnn::DestroyInterpreter(it);
  if (!it->caller_memory) Allocator::Heap().Free(it);
}

size_t bnn_interpreter_memory_bytes(const bnn_interpreter* it) { return it ? it->memory_bytes : 0; }

int bnn_interpreter_patch_info(const bnn_interpreter* it, bnn_patch_info* info) {
  if (!it || it->patch.first < 0) {
    if (info) memset(info, 0, sizeof *info);
    if (info && it) info->layer_arena_bytes = it->layer_arena_bytes;
    return 0;
  }
  if (info) {
    info->first_op = it->patch.first;
    info->last_op = it->patch.last;
    info->band_rows = it->patch.band_rows;
    info->bands = it->patch.bands;
    info->layer_arena_bytes = it->layer_arena_bytes;
    info->recompute = it->patch.recompute;
  }
  return 1;
}

const char* bnn_interpreter_error(const bnn_interpreter* it) { return it ? it->error.text : "interpreter is NULL"; }
size_t bnn_interpreter_arena_bytes(const bnn_interpreter* it) { return it ? it->arena_bytes : 0; }
size_t bnn_interpreter_packed_weights_bytes(const bnn_interpreter* it) { return it ? it->persistent_bytes : 0; }
const char* bnn_interpreter_kernels(const bnn_interpreter* it) { return it ? it->kernels->name : ""; }

void* bnn_interpreter_input(bnn_interpreter* it, int index) {
  if (!it || index < 0 || index >= it->model->num_inputs) return nullptr;
  return it->data[it->model->inputs[index]];
}
const void* bnn_interpreter_output(const bnn_interpreter* it, int index) {
  if (!it || index < 0 || index >= it->model->num_outputs) return nullptr;
  return it->data[it->model->outputs[index]];
}

bnn_status bnn_interpreter_set_input(bnn_interpreter* it, int index, const void* data, size_t bytes) {
  if (!it) return BNN_ERROR_INVALID_ARGUMENT;
  if (index < 0 || index >= it->model->num_inputs)
    return Fail(&it->error, BNN_ERROR_INVALID_ARGUMENT, "the model has no input %d", index);
  const int t = it->model->inputs[index];
  const bnn::TensorDesc& d = it->model->tensors[t];
  if (!data) {
    it->data[t] = it->input_home[index];
    return BNN_OK;
  }
  if (bytes != d.bytes)
    return Fail(&it->error, BNN_ERROR_INVALID_ARGUMENT, "input '%s' takes %zu bytes, not %zu", d.name, d.bytes, bytes);
  const size_t align = d.dtype == BNN_DTYPE_F32 || d.dtype == BNN_DTYPE_S32 || d.dtype == BNN_DTYPE_BITS ? 4 : 1;
  if (reinterpret_cast<uintptr_t>(data) % align != 0)
    return Fail(&it->error, BNN_ERROR_INVALID_ARGUMENT, "input '%s' must be %zu-byte aligned", d.name, align);
  it->data[t] = const_cast<void*>(data);  // read only: invoke leaves its inputs intact
  return BNN_OK;
}

bnn_status bnn_interpreter_invoke(bnn_interpreter* it) {
  if (!it) return BNN_ERROR_INVALID_ARGUMENT;
  bnn::Invoke(it);
  return BNN_OK;
}

int bnn_interpreter_op_count(const bnn_interpreter* it) { return it ? it->model->num_ops : 0; }
bnn_status bnn_interpreter_op_profile(const bnn_interpreter* it, int index, bnn_op_profile* p) {
  if (!it || !p || index < 0 || index >= it->model->num_ops) return BNN_ERROR_INVALID_ARGUMENT;
  const bnn::OpDesc& op = it->model->ops[index];
  const int partner = it->fused[index];
  p->type = partner < 0 ? op.kernel->type_name : partner > index ? "BCONV2D+ADD" : "ADD:fused";
  p->name = op.name;
  p->seconds = it->op_seconds[index];
  p->macs = op.macs;
  return BNN_OK;
}

}  // extern "C"
