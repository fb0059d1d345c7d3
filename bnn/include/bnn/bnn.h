/* bnn.h - the public C API of the bnn binary neural-network runtime.
 *
 * Flow: load a model (from a file or a caller-owned buffer) -> create an
 * interpreter (plans one arena for every intermediate tensor) -> write the
 * inputs -> invoke -> read the outputs. Invoke allocates nothing, throws
 * nothing, and gives the same bits on every SIMD target.
 *
 * Errors: functions return a bnn_status; the text of the last error of an
 * object is available from bnn_model_error()/bnn_interpreter_error(), and
 * from bnn_last_load_error() for a load that returned no model.
 *
 * Lifetimes:
 *  - A model loaded with bnn_model_load_buffer() reads the caller's bytes in
 *    place: they must stay valid and unchanged until bnn_model_free(). The
 *    buffer must be 64-byte aligned (weights are read with aligned vector
 *    loads), as flash or mmap'ed files are.
 *  - bnn_model_load_file() maps (or reads) the file itself.
 *  - An interpreter references its model: free interpreters before the model.
 *  - A caller-supplied arena (bnn_interpreter_options.arena) must outlive the
 *    interpreter; tensor data pointers stay valid until the interpreter is freed.
 *
 * Thread safety: a model is immutable after loading and may be shared by
 * interpreters on different threads. An interpreter is used by one thread at
 * a time. Every interpreter runs on the calling thread only (one core).
 */
#ifndef BNN_BNN_H
#define BNN_BNN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BNN_VERSION_MAJOR 0
#define BNN_VERSION_MINOR 1
#define BNN_VERSION_PATCH 0

/* "0.1.0": the library's version. */
const char* bnn_version(void);

typedef enum bnn_status {
  BNN_OK = 0,
  BNN_ERROR_INVALID_ARGUMENT = 1, /* a NULL pointer, a wrong index or size from the caller */
  BNN_ERROR_IO = 2,               /* a file could not be opened or read */
  BNN_ERROR_INVALID_MODEL = 3,    /* the model file is damaged, hostile or inconsistent */
  BNN_ERROR_UNSUPPORTED = 4,      /* a valid file this build cannot run (newer format, unknown op) */
  BNN_ERROR_OUT_OF_MEMORY = 5,    /* an allocation at load, or a caller arena too small */
} bnn_status;

/* "invalid model", ... */
const char* bnn_status_string(bnn_status status);

typedef struct bnn_model bnn_model;
typedef struct bnn_interpreter bnn_interpreter;

/* ---- Models ---------------------------------------------------------------- */

bnn_status bnn_model_load_file(const char* path, bnn_model** model);
bnn_status bnn_model_load_buffer(const void* data, size_t size, bnn_model** model);
void bnn_model_free(bnn_model* model);

/* Heap-free loading (microcontrollers; any build): the model's tables go in
 * the caller's `memory` (16-byte aligned), which must stay valid until
 * bnn_model_free, which then frees nothing. Too small a buffer gives
 * BNN_ERROR_OUT_OF_MEMORY with the bytes needed in bnn_last_load_error();
 * BNN_MODEL_MEMORY_BYTES bounds them at compile time. Builds without a heap
 * (-Dheap=false, the Cortex-M cross files) load only this way. */
bnn_status bnn_model_load_static(const void* data, size_t size, void* memory, size_t memory_bytes,
                                 bnn_model** model);
/* The bytes of memory bnn_model_load_static needs for this model (whichever
 * way it was loaded). */
size_t bnn_model_memory_bytes(const bnn_model* model);

/* Upper bounds for static buffers, from the model's tensor, operator and
 * graph-input counts (bnn-to-c writes them into the model's header): the
 * runtime checks at compile time that its tables fit them, on every target.
 * The arena (bnn_interpreter_arena_bytes) and packed weights (none with the
 * C reference kernels) come on top of the interpreter's. */
#define BNN_MODEL_MEMORY_BYTES(tensors, ops) (256u + 96u * (size_t)(tensors) + 416u * (size_t)(ops))
#define BNN_INTERPRETER_MEMORY_BYTES(tensors, ops, inputs) \
  (1024u + 64u * (size_t)(tensors) + 96u * (size_t)(ops) + 16u * (size_t)(inputs))

/* Why the last bnn_model_load_* on this thread that failed did so. */
const char* bnn_last_load_error(void);

typedef enum bnn_task {
  BNN_TASK_OTHER = 0,
  BNN_TASK_CLASSIFIER = 1,
  BNN_TASK_DETECTOR = 2,
  BNN_TASK_EMBEDDER = 3,
} bnn_task;

typedef enum bnn_dtype {
  BNN_DTYPE_F32 = 0,
  BNN_DTYPE_S8 = 1,
  BNN_DTYPE_S32 = 2,
  BNN_DTYPE_BITS = 3, /* packed bits (see bnn_kernels.h's bit contract) */
  BNN_DTYPE_U8 = 4,
} bnn_dtype;

#define BNN_MAX_DIMS 6

typedef struct bnn_tensor_info {
  const char* name;
  bnn_dtype dtype;
  int rank;
  int32_t dims[BNN_MAX_DIMS]; /* NHWC for images */
  size_t bytes;               /* size of the data */
  float scale;                /* S8/U8 quantisation, 0 when none */
  int32_t zero_point;
} bnn_tensor_info;

int bnn_model_input_count(const bnn_model* model);
int bnn_model_output_count(const bnn_model* model);
/* Every tensor (constants included) and every operator of the graph. */
int bnn_model_tensor_count(const bnn_model* model);
int bnn_model_op_count(const bnn_model* model);
bnn_status bnn_model_input_info(const bnn_model* model, int index, bnn_tensor_info* info);
bnn_status bnn_model_output_info(const bnn_model* model, int index, bnn_tensor_info* info);

/* Metadata strings are owned by the model; NULL-free ("" when absent). */
bnn_task bnn_model_task(const bnn_model* model);
const char* bnn_model_name(const bnn_model* model);
const char* bnn_model_producer(const bnn_model* model);
/* What the model is, and for the shipped models what it was trained on and
 * under which terms (bnn-convert --description). */
const char* bnn_model_description(const bnn_model* model);
int bnn_model_label_count(const bnn_model* model);
const char* bnn_model_label(const bnn_model* model, int index);
/* 1 when the user-facing input layout is NCHW (models from ONNX), 0 for NHWC. */
int bnn_model_input_is_nchw(const bnn_model* model);
/* Per-channel input normalisation (x / 255 - mean) / std; returns the number
 * of channels written (0 when the model has none). */
int bnn_model_normalization(const bnn_model* model, float* mean, float* std, int max_channels);
/* Bytes of constant weights in the file. */
size_t bnn_model_weights_bytes(const bnn_model* model);
/* What graph output `index` means (e.g. "boxes", "scores"); "" when unnamed. */
const char* bnn_model_output_meaning(const bnn_model* model, int index);

/* The pixels a U8 image input takes: models converted with
 * `bnn-convert --input-u8 FORMAT` read camera frames (NHWC, 8 bits per
 * channel) as they are, their first operator (NORMALIZE) doing the channel
 * order and the normalisation. BNN_PIXELS_NONE for float inputs, which the
 * caller normalises (bnn_model_normalization) and gives in RGB order. */
typedef enum bnn_pixel_format {
  BNN_PIXELS_NONE = 0,
  BNN_PIXELS_RGB = 1,
  BNN_PIXELS_BGR = 2,
  BNN_PIXELS_RGBA = 3, /* 4 bytes a pixel, the 4th ignored */
  BNN_PIXELS_BGRA = 4,
  BNN_PIXELS_GREY = 5,
} bnn_pixel_format;
bnn_pixel_format bnn_model_input_pixel_format(const bnn_model* model);

/* Detector metadata (task BNN_TASK_DETECTOR): how to decode the outputs into
 * boxes. Anchors are in input pixels; YOLO-style anchors have cx = cy = 0. */
typedef struct bnn_anchor {
  float cx, cy, w, h;
} bnn_anchor;
/* The decoding scheme ("yolo", "yolo-landmarks", ...); "" when the model has none. */
const char* bnn_model_detector_decoding(const bnn_model* model);
/* Landmark points the detector predicts per box ("yolo-landmarks", format
 * 1.3: five for the shipped face detector, YuNet's order: the eye on the
 * image's left, the other eye, the nose tip, the mouth corner on the image's
 * left, the other one, for a face seen from the front); 0 for models without
 * landmarks. */
int bnn_model_detector_landmarks(const bnn_model* model);
/* Copies up to max_anchors anchors; returns how many the model has. */
int bnn_model_detector_anchors(const bnn_model* model, bnn_anchor* anchors, int max_anchors);
/* Copies up to max_strides strides; returns how many the model has. */
int bnn_model_detector_strides(const bnn_model* model, int32_t* strides, int max_strides);
/* The score and IoU thresholds the model was tuned with (0.25 and 0.45 when
 * the model gives none). */
float bnn_model_detector_score_threshold(const bnn_model* model);
float bnn_model_detector_iou_threshold(const bnn_model* model);

/* Embedder metadata (task BNN_TASK_EMBEDDER): the cosine similarity of two
 * embeddings from which they are taken as the same identity, as the model's
 * producer calibrated it (bnn-convert --match-threshold; the loader refuses
 * values outside [-1, 1]); BNN_DEFAULT_MATCH_THRESHOLD when the model gives
 * none (files before format 1.2). */
#define BNN_DEFAULT_MATCH_THRESHOLD 0.5f
float bnn_model_embedder_match_threshold(const bnn_model* model);

/* Checks that a detector's metadata can decode its outputs: task detector,
 * "yolo" decoding (or "yolo-landmarks" with 1 to BNN_MAX_LANDMARKS points), a
 * whole number of anchors per stride, one image input [1, H, W, C], and one
 * float output per stride, [1, H / stride, W / stride, anchors x (5 + classes
 * + 2 x landmarks)]. BNN_OK, or BNN_ERROR_UNSUPPORTED (an unknown decoding) /
 * BNN_ERROR_INVALID_MODEL with the reason in bnn_last_load_error(). */
bnn_status bnn_model_detector_check(const bnn_model* model);
/* Classes of a detector that passes the check (0 otherwise). */
int bnn_model_detector_classes(const bnn_model* model);
/* Candidate boxes a detector can produce (its anchors over every output
 * cell; 0 when the check fails): a bnn_interpreter_detect buffer this large
 * keeps every candidate above the threshold. */
int bnn_model_detector_max_boxes(const bnn_model* model);

/* ---- Interpreters -------------------------------------------------------- */

typedef struct bnn_interpreter_options {
  size_t size;          /* sizeof(bnn_interpreter_options): lets the struct grow */
  void* arena;          /* optional caller memory for all intermediate tensors and scratch, */
  size_t arena_bytes;   /* 64-byte aligned; NULL: the interpreter allocates it once */
  int force_reference;  /* 1: the C reference kernels, for debugging in the field */
  int profile;          /* 1: time every operator on each invoke */
  /* Patch-based inference, on by default (0 or 1); -1: layer by layer, every
   * intermediate tensor whole. The longest chain of row-local operators at
   * the start of the graph (convolutions, pools, NORMALIZE, BITPACK,
   * element-wise activations) runs band by band of output rows, the rows
   * two bands share (where windows overlap) carried from one band to the
   * next rather than recomputed, so that its large intermediate tensors
   * never exist whole; the chain's end and the band height are those giving
   * the smallest arena. Outputs are bit-identical and no MAC runs twice
   * (bnn_interpreter_patch_info); the smaller working set also makes it a
   * little faster (the shipped detectors: half the arena, 2-8 % faster).
   * Nothing changes when it would not lower the arena. */
  int patch_based;
  /* Optional caller memory (16-byte aligned) for the interpreter itself,
   * its tables, planning temporaries, packed weights and, when `arena` is
   * NULL, the arena: with it, creation calls no allocator at all and
   * bnn_interpreter_free frees nothing. Too small: BNN_ERROR_OUT_OF_MEMORY
   * with the bytes needed. */
  void* memory;
  size_t memory_bytes;
  /* 1: run every operator as the model lists it. By default a binary
   * convolution whose float output only a residual ADD reads computes the
   * sum itself (bit-identical, faster, less arena); its profile entry is then
   * "BCONV2D+ADD" and the ADD's "ADD:fused" with no time. */
  int no_fusion;
} bnn_interpreter_options;

/* Options with every default (size filled in). */
bnn_interpreter_options bnn_interpreter_default_options(void);

bnn_status bnn_interpreter_create(const bnn_model* model, const bnn_interpreter_options* options,
                                  bnn_interpreter** interpreter);
void bnn_interpreter_free(bnn_interpreter* interpreter);
const char* bnn_interpreter_error(const bnn_interpreter* interpreter);

/* The arena bytes a model needs (planned at creation); create with a smaller
 * caller arena fails with BNN_ERROR_OUT_OF_MEMORY and says how much is needed. */
size_t bnn_interpreter_arena_bytes(const bnn_interpreter* interpreter);
/* Bytes of weights re-packed for the selected kernels (persistent). */
size_t bnn_interpreter_packed_weights_bytes(const bnn_interpreter* interpreter);
/* The bytes options.memory needs for this model and these options (an upper
 * bound when the interpreter was made on the heap). */
size_t bnn_interpreter_memory_bytes(const bnn_interpreter* interpreter);

/* Patch-based inference (options.patch_based): returns 1 and fills `info`
 * when a stage runs in bands, 0 otherwise (layer_arena_bytes still set). */
typedef struct bnn_patch_info {
  int first_op, last_op;    /* operators run band by band */
  int band_rows, bands;     /* output rows of last_op per band, and the bands */
  size_t layer_arena_bytes; /* the arena layer-by-layer execution needs */
  double recompute;         /* MACs run in the stage / MACs of the stage run layer by layer: 1, or
                               below when whole-layer execution computes rows nothing reads (shared
                               rows are carried between bands, never recomputed) */
} bnn_patch_info;
int bnn_interpreter_patch_info(const bnn_interpreter* interpreter, bnn_patch_info* info);
/* "AVX3_DL", "NEON", "reference", ... */
const char* bnn_interpreter_kernels(const bnn_interpreter* interpreter);

/* Tensor data in the arena: write inputs before bnn_interpreter_invoke, read
 * outputs after. Inputs are left intact by invoke (invoking again reuses
 * them); outputs stay valid until the next invoke. Both are in the model's
 * internal layout (NHWC); bnn-run shows how to convert from NCHW. */
void* bnn_interpreter_input(bnn_interpreter* interpreter, int index);
const void* bnn_interpreter_output(const bnn_interpreter* interpreter, int index);

/* Zero copy: input `index` is read from the caller's `data` (exactly the
 * input's bytes, aligned to its element size) instead of the arena, from
 * the next invoke on, until set again; NULL returns to the arena buffer.
 * The caller keeps `data` valid and unchanged during each invoke, which only
 * reads it. With a U8 image input (bnn_model_input_pixel_format) this takes
 * a camera frame of the model's size and pixel format as it is. */
bnn_status bnn_interpreter_set_input(bnn_interpreter* interpreter, int index, const void* data, size_t bytes);

bnn_status bnn_interpreter_invoke(bnn_interpreter* interpreter);

/* Boxes after the last invoke of a detector (bnn_model_detector_check):
 * YOLO decoding (centre = (sigmoid(t) + cell) x stride, size = anchor x
 * exp(t), score = sigmoid(objectness) x sigmoid(best class)), then greedy
 * non-maximum suppression per class. Boxes are in model-input pixels, best
 * first. A threshold below 0 takes the model's. `boxes` also holds the
 * candidates: with max_boxes below bnn_model_detector_max_boxes() only the
 * max_boxes best candidates go through suppression. Returns the number of
 * boxes written, or -1 when the model is not a decodable detector (the
 * reason in bnn_interpreter_error). Allocates nothing. */
typedef struct bnn_box {
  float x0, y0, x1, y1; /* corners */
  float score;
  int32_t label; /* class index: bnn_model_label(model, label) */
} bnn_box;
int bnn_interpreter_detect(bnn_interpreter* interpreter, float score_threshold, float iou_threshold, bnn_box* boxes,
                           int max_boxes);

/* Boxes with their landmarks (bnn_model_detector_landmarks), for detectors
 * with "yolo-landmarks" decoding: landmark k of the box from anchor a of
 * output cell (cx, cy) at stride s is ((cx + 0.5) x s + tx x anchor.w,
 * (cy + 0.5) x s + ty x anchor.h), (tx, ty) the output fields 5 + classes +
 * 2k and the next one, in model-input pixels. The first members are
 * bnn_box's. Models without landmarks give num_landmarks 0 (the same boxes
 * as bnn_interpreter_detect). Same arguments, results and guarantees as
 * bnn_interpreter_detect; allocates nothing. */
#define BNN_MAX_LANDMARKS 8
typedef struct bnn_point {
  float x, y;
} bnn_point;
typedef struct bnn_detection {
  float x0, y0, x1, y1; /* corners */
  float score;
  int32_t label;
  int32_t num_landmarks; /* bnn_model_detector_landmarks */
  bnn_point landmarks[BNN_MAX_LANDMARKS];
} bnn_detection;
int bnn_interpreter_detect_with_landmarks(bnn_interpreter* interpreter, float score_threshold, float iou_threshold,
                                          bnn_detection* detections, int max_detections);

/* Face alignment, and any similarity fit: the rotation, uniform scale and
 * translation that map the n points `from` onto `to` (n >= 2 pairs) with the
 * least squared error, never a reflection, as the 2 x 3 matrix
 * {a, -b, tx, b, a, ty}: x' = a x - b y + tx, y' = b x + a y + ty. Given a
 * face's landmarks and a template's points, it is the matrix that OpenCV's
 * warpAffine takes to cut the aligned chip. Exact (to float rounding) when
 * such a transform exists. BNN_ERROR_INVALID_ARGUMENT for n < 2, NULL
 * pointers, points that are not finite, or `from` points that all coincide
 * (no scale or angle to tell); `matrix` is then left alone. Allocates nothing. */
bnn_status bnn_similarity_transform(const bnn_point* from, const bnn_point* to, int n, float matrix[6]);

/* Profiling (options.profile = 1): per operator of the last invoke. */
int bnn_interpreter_op_count(const bnn_interpreter* interpreter);
typedef struct bnn_op_profile {
  const char* type;    /* "BCONV2D", ...; "BCONV2D+ADD" and "ADD:fused" for a fused pair (options.no_fusion) */
  const char* name;    /* the operator's name in the model, or "" */
  double seconds;      /* last invoke */
  double macs;         /* multiply-accumulates (binary ones for binary ops) */
} bnn_op_profile;
bnn_status bnn_interpreter_op_profile(const bnn_interpreter* interpreter, int index,
                                      bnn_op_profile* profile);

#ifdef __cplusplus
}
#endif

#endif /* BNN_BNN_H */
