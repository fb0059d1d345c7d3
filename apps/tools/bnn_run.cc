// bnn-run MODEL.bnn --input X.npy [--input X2.npy ...] --output Y.npy|Y.npz
//
// Runs a float32 batch through a model, in the model's own input layout
// (NCHW for models converted from ONNX, NHWC otherwise): every item of the
// batch is one invoke. Writes float32 outputs in the same layout: one output
// as .npy, several as .npz (or as Y_<index>.npy when the name ends in .npy).
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <string>
#include <vector>

#include "bnn/bnn.h"
#include "npy.h"

namespace {

const char kUsage[] =
    "usage: bnn-run MODEL.bnn --input X.npy [--input X2.npy ...] --output Y.npy|Y.npz\n"
    "               [--force-reference]\n"
    "Runs a float32 batch (the model's input layout: NCHW for ONNX models) and writes\n"
    "float32 outputs. Several outputs go to an .npz, or to Y_0.npy, Y_1.npy, ...\n"
    "A camera-frame input (bnn-convert --input-u8) takes pixel values 0-255, NHWC.\n";

int Fail(const std::string& message) {
  fprintf(stderr, "bnn-run: %s\n", message.c_str());
  return 1;
}

// Model tensor dims (NHWC for rank 4) as the user sees them.
std::vector<int64_t> UserDims(const bnn_tensor_info& t, bool nchw) {
  std::vector<int64_t> d(t.dims, t.dims + t.rank);
  if (nchw && t.rank == 4) d = {t.dims[0], t.dims[3], t.dims[1], t.dims[2]};
  return d;
}

// Copies one model tensor's worth (dims[0] images) between NCHW (user) and
// NHWC (model) orders.
void Relayout(const float* src, float* dst, const bnn_tensor_info& t, bool to_model) {
  const int64_t h = t.dims[1], w = t.dims[2], c = t.dims[3], image = h * w * c;
  for (int64_t n = 0; n < t.dims[0]; ++n, src += image, dst += image)
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x)
        for (int64_t k = 0; k < c; ++k) {
          const int64_t nhwc = (y * w + x) * c + k, nchw = (k * h + y) * w + x;
          if (to_model)
            dst[nhwc] = src[nchw];
          else
            dst[nchw] = src[nhwc];
        }
}

// One output item as floats.
void OutputToFloat(const void* data, const bnn_tensor_info& t, std::vector<float>* out) {
  size_t n = 1;
  for (int i = 0; i < t.rank; ++i) n *= static_cast<size_t>(t.dims[i]);
  out->resize(n);
  switch (t.dtype) {
    case BNN_DTYPE_F32: memcpy(out->data(), data, n * sizeof(float)); break;
    case BNN_DTYPE_S8:
      for (size_t i = 0; i < n; ++i) (*out)[i] = (static_cast<const int8_t*>(data)[i] - t.zero_point) * t.scale;
      break;
    case BNN_DTYPE_U8:
      for (size_t i = 0; i < n; ++i) (*out)[i] = (static_cast<const uint8_t*>(data)[i] - t.zero_point) * t.scale;
      break;
    case BNN_DTYPE_S32:
      for (size_t i = 0; i < n; ++i) (*out)[i] = static_cast<float>(static_cast<const int32_t*>(data)[i]);
      break;
    case BNN_DTYPE_BITS: {  // +1 / -1 per channel
      const size_t c = static_cast<size_t>(t.dims[t.rank - 1]), words = (c + 31) / 32;
      const uint32_t* bits = static_cast<const uint32_t*>(data);
      for (size_t r = 0; r < n / c; ++r)
        for (size_t k = 0; k < c; ++k) (*out)[r * c + k] = (bits[r * words + k / 32] >> (k % 32)) & 1 ? -1.0f : 1.0f;
      break;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_path, output_path;
  std::vector<std::string> inputs;
  bool force_reference = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      fputs(kUsage, stdout);
      return 0;
    } else if (a == "--input" && i + 1 < argc) {
      inputs.push_back(argv[++i]);
    } else if (a == "--output" && i + 1 < argc) {
      output_path = argv[++i];
    } else if (a == "--force-reference") {
      force_reference = true;
    } else if (!a.empty() && a[0] != '-' && model_path.empty()) {
      model_path = a;
    } else {
      fputs(kUsage, stderr);
      return Fail("unexpected argument '" + a + "'");
    }
  }
  if (model_path.empty() || inputs.empty() || output_path.empty()) {
    fputs(kUsage, stderr);
    return 2;
  }

  bnn_model* model = nullptr;
  if (bnn_model_load_file(model_path.c_str(), &model) != BNN_OK) return Fail(bnn_last_load_error());
  const bool nchw = bnn_model_input_is_nchw(model);
  const int n_in = bnn_model_input_count(model), n_out = bnn_model_output_count(model);
  if (static_cast<int>(inputs.size()) != n_in) {
    bnn_model_free(model);
    return Fail("the model has " + std::to_string(n_in) + " inputs, " + std::to_string(inputs.size()) + " given");
  }
  bnn_interpreter_options options = bnn_interpreter_default_options();
  options.force_reference = force_reference;
  bnn_interpreter* it = nullptr;
  if (bnn_interpreter_create(model, &options, &it) != BNN_OK) {
    bnn_model_free(model);
    return Fail(bnn_last_load_error());
  }

  // Read and check every input: batch = first dimension, the rest must match.
  std::vector<bnn_tools::Array> arrays(static_cast<size_t>(n_in));
  int64_t batch = -1;
  std::string error;
  int status = 0;
  for (int i = 0; i < n_in && status == 0; ++i) {
    bnn_tensor_info t;
    bnn_model_input_info(model, i, &t);
    if (!bnn_tools::ReadNpy(inputs[i], &arrays[i], &error)) {
      status = Fail(error);
      break;
    }
    if (t.dtype != BNN_DTYPE_F32 && t.dtype != BNN_DTYPE_U8) {
      status = Fail(std::string("input '") + t.name + "' is neither float32 nor 8-bit pixels");
      break;
    }
    if (t.dtype == BNN_DTYPE_U8) {  // a camera-frame input (bnn-convert --input-u8): pixel values
      for (float v : arrays[i].data)
        if (!(v >= 0 && v <= 255 && v == nearbyintf(v))) {
          status = Fail(inputs[i] + ": input '" + t.name + "' takes 8-bit pixels: whole numbers 0 to 255");
          break;
        }
      if (status) break;
    }
    const std::vector<int64_t> want = UserDims(t, nchw);
    const std::vector<int64_t>& got = arrays[i].shape;
    bool ok = got.size() == want.size() && !got.empty();
    for (size_t d = 1; ok && d < got.size(); ++d) ok = got[d] == want[d];
    if (ok && want[0] != 1 && got[0] != want[0]) ok = false;
    if (!ok) {
      std::string w, g;
      for (int64_t d : want) w += (w.empty() ? "" : "x") + std::to_string(d);
      for (int64_t d : got) g += (g.empty() ? "" : "x") + std::to_string(d);
      status = Fail(inputs[i] + " has shape " + g + "; the model's input '" + t.name + "' takes " + w +
                    (nchw ? " (NCHW)" : " (NHWC)") + ", any batch size when the model's is 1");
      break;
    }
    const int64_t items = want[0] == 1 ? got[0] : 1;
    if (batch >= 0 && items != batch) status = Fail("inputs have different batch sizes");
    batch = items;
  }

  std::vector<bnn_tools::Array> outputs(static_cast<size_t>(n_out));
  for (int64_t b = 0; status == 0 && b < batch; ++b) {
    for (int i = 0; i < n_in; ++i) {
      bnn_tensor_info t;
      bnn_model_input_info(model, i, &t);
      const bool pixels = t.dtype == BNN_DTYPE_U8;
      const size_t item = pixels ? t.bytes : t.bytes / sizeof(float);
      const float* src = arrays[i].data.data() + static_cast<size_t>(b) * item;
      void* dst = bnn_interpreter_input(it, i);
      if (pixels)
        for (size_t k = 0; k < item; ++k) static_cast<uint8_t*>(dst)[k] = uint8_t(src[k]);  // checked: 0..255
      else if (nchw && t.rank == 4)
        Relayout(src, static_cast<float*>(dst), t, true);
      else
        memcpy(dst, src, t.bytes);
    }
    if (bnn_interpreter_invoke(it) != BNN_OK) status = Fail(bnn_interpreter_error(it));
    for (int i = 0; status == 0 && i < n_out; ++i) {
      bnn_tensor_info t;
      bnn_model_output_info(model, i, &t);
      std::vector<float> item;
      OutputToFloat(bnn_interpreter_output(it, i), t, &item);
      bnn_tools::Array& o = outputs[static_cast<size_t>(i)];
      if (b == 0) {
        o.shape = UserDims(t, nchw);
        o.shape[0] *= batch;
      }
      const size_t at = o.data.size();
      o.data.resize(at + item.size());
      if (nchw && t.rank == 4)
        Relayout(item.data(), o.data.data() + at, t, false);
      else
        memcpy(o.data.data() + at, item.data(), item.size() * sizeof(float));
    }
  }

  if (status == 0) {
    const bool npz = output_path.size() > 4 && output_path.compare(output_path.size() - 4, 4, ".npz") == 0;
    if (n_out == 1 && !npz) {
      if (!bnn_tools::WriteNpy(output_path, outputs[0], &error)) status = Fail(error);
    } else if (npz) {
      std::vector<std::pair<std::string, bnn_tools::Array>> named;
      for (int i = 0; i < n_out; ++i) {
        bnn_tensor_info t;
        bnn_model_output_info(model, i, &t);
        named.emplace_back(t.name[0] ? t.name : "output_" + std::to_string(i), outputs[static_cast<size_t>(i)]);
      }
      if (!bnn_tools::WriteNpz(output_path, named, &error)) status = Fail(error);
    } else {
      const std::string stem = output_path.size() > 4 && output_path.compare(output_path.size() - 4, 4, ".npy") == 0
                                   ? output_path.substr(0, output_path.size() - 4)
                                   : output_path;
      for (int i = 0; status == 0 && i < n_out; ++i)
        if (!bnn_tools::WriteNpy(stem + "_" + std::to_string(i) + ".npy", outputs[static_cast<size_t>(i)], &error))
          status = Fail(error);
    }
  }
  bnn_interpreter_free(it);
  bnn_model_free(model);
  return status;
}
