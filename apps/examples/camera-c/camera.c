/* camera.c: a camera app in plain C that links the installed bnn runtime
 * (only <bnn/bnn.h> and `pkg-config --cflags --libs bnn`). It reads raw
 * 8-bit BGR frames, as a V4L2 capture or
 *   ffmpeg -i clip.mp4 -f rawvideo -pix_fmt bgr24 frames.bgr
 * gives them, runs a detector on each and prints the boxes.
 *
 * The frame goes to the runtime without a copy when the model takes BGR
 * pixels of the frame's size (bnn-convert --input-u8 bgr): the runtime reads
 * the caller's buffer in place and normalises it in its first operator.
 * Otherwise the frame is resized (nearest pixel) into the model's input.
 *
 *   usage: camera MODEL.bnn FRAMES.bgr WIDTH HEIGHT [MAX_FRAMES]
 */
#include <bnn/bnn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char* what, const char* why) {
  fprintf(stderr, "camera: %s: %s\n", what, why);
  return 1;
}

/* The frame (BGR, w x h) into the model's input (mw x mh), nearest pixel:
 * 8-bit pixels in the model's format, or floats normalised as it says. */
static void fill_input(const bnn_model* model, const uint8_t* frame, int w, int h, void* input, int mw, int mh,
                       int channels) {
  const bnn_pixel_format f = bnn_model_input_pixel_format(model);
  float mean[3] = {0, 0, 0}, std[3] = {1, 1, 1};
  const int n = bnn_model_normalization(model, mean, std, 3);
  for (int c = n; n == 1 && c < 3; ++c) {  /* one value for every channel */
    mean[c] = mean[0];
    std[c] = std[0];
  }
  for (int y = 0; y < mh; ++y) {
    const uint8_t* row = frame + (size_t)(y * h / mh) * (size_t)w * 3;
    for (int x = 0; x < mw; ++x) {
      const uint8_t* bgr = row + (size_t)(x * w / mw) * 3;
      const uint8_t rgb[3] = {bgr[2], bgr[1], bgr[0]};
      const size_t at = ((size_t)y * (size_t)mw + (size_t)x) * (size_t)channels;
      if (f == BNN_PIXELS_NONE) {
        float* out = (float*)input + at;
        if (channels == 1) {
          out[0] = ((0.299f * rgb[0] + 0.587f * rgb[1] + 0.114f * rgb[2]) / 255.0f - mean[0]) / std[0];
        } else {
          for (int c = 0; c < 3; ++c) out[c] = (rgb[c] / 255.0f - mean[c]) / std[c];
        }
      } else {
        uint8_t* out = (uint8_t*)input + at;
        switch (f) {
          case BNN_PIXELS_GREY: out[0] = (uint8_t)(0.299f * rgb[0] + 0.587f * rgb[1] + 0.114f * rgb[2] + 0.5f); break;
          case BNN_PIXELS_RGB: case BNN_PIXELS_RGBA: memcpy(out, rgb, 3); break;
          default: memcpy(out, bgr, 3); break;
        }
        if (channels == 4) out[3] = 255;
      }
    }
  }
}

int main(int argc, char** argv) {
  if (argc < 5 || argc > 6) {
    fprintf(stderr, "usage: camera MODEL.bnn FRAMES.bgr WIDTH HEIGHT [MAX_FRAMES]\n");
    return 2;
  }
  const int w = atoi(argv[3]), h = atoi(argv[4]);
  const long max_frames = argc == 6 ? atol(argv[5]) : -1;
  if (w <= 0 || h <= 0 || w > 16384 || h > 16384) return fail(argv[3], "WIDTH and HEIGHT must be 1 to 16384");

  bnn_model* model = NULL;
  if (bnn_model_load_file(argv[1], &model) != BNN_OK) return fail(argv[1], bnn_last_load_error());
  if (bnn_model_detector_check(model) != BNN_OK) {
    fail(argv[1], bnn_last_load_error());
    bnn_model_free(model);
    return 1;
  }
  bnn_interpreter* it = NULL;
  if (bnn_interpreter_create(model, NULL, &it) != BNN_OK) {
    fail(argv[1], bnn_last_load_error());
    bnn_model_free(model);
    return 1;
  }
  bnn_tensor_info in;
  bnn_model_input_info(model, 0, &in);
  const int mh = in.dims[1], mw = in.dims[2], channels = in.dims[3];
  const int zero_copy = bnn_model_input_pixel_format(model) == BNN_PIXELS_BGR && mw == w && mh == h;
  printf("model %s: %d x %d, %s input, kernels %s; %s\n", bnn_model_name(model), mw, mh,
         in.dtype == BNN_DTYPE_U8 ? "pixel" : "float", bnn_interpreter_kernels(it),
         zero_copy ? "frames go in without a copy" : "frames are resized into the input");

  /* Every buffer is allocated once, before the first frame. */
  const size_t frame_bytes = (size_t)w * (size_t)h * 3;
  const int max_boxes = bnn_model_detector_max_boxes(model);
  uint8_t* frame = malloc(frame_bytes);
  bnn_box* boxes = malloc(sizeof(bnn_box) * (size_t)max_boxes);
  FILE* f = fopen(argv[2], "rb");
  int status = 0;
  if (!frame || !boxes) status = fail("memory", "out of memory");
  else if (!f) status = fail(argv[2], strerror(errno));

  for (long k = 0; status == 0 && (max_frames < 0 || k < max_frames); ++k) {
    const size_t got = fread(frame, 1, frame_bytes, f);
    if (got == 0) break;
    if (got != frame_bytes) {
      status = fail(argv[2], "ends inside a frame (wrong WIDTH or HEIGHT?)");
      break;
    }
    if (zero_copy) {
      bnn_interpreter_set_input(it, 0, frame, frame_bytes);  /* read in place by invoke */
    } else {
      fill_input(model, frame, w, h, bnn_interpreter_input(it, 0), mw, mh, channels);
    }
    if (bnn_interpreter_invoke(it) != BNN_OK) {
      status = fail("invoke", bnn_interpreter_error(it));
      break;
    }
    const int n = bnn_interpreter_detect(it, -1.0f, -1.0f, boxes, max_boxes);
    if (n < 0) {
      status = fail("detect", bnn_interpreter_error(it));
      break;
    }
    const float sx = (float)w / (float)mw, sy = (float)h / (float)mh;
    printf("frame %ld: %d boxes\n", k, n);
    for (int i = 0; i < n; ++i)
      printf("  %s %.3f [%.1f %.1f %.1f %.1f]\n", bnn_model_label(model, boxes[i].label), boxes[i].score,
             boxes[i].x0 * sx, boxes[i].y0 * sy, boxes[i].x1 * sx, boxes[i].y1 * sy);
  }
  if (f) fclose(f);
  free(boxes);
  free(frame);
  bnn_interpreter_free(it);
  bnn_model_free(model);
  return status;
}
