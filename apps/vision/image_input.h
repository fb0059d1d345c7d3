// Images into a model's input tensor (OpenCV): resize to the model's input
// size, BGR to RGB (or grey), normalisation from the model's metadata,
// written straight into the interpreter's NHWC input buffer.
#pragma once

#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "bnn/bnn.h"

namespace bnn_vision {

struct InputSpec {
  int width = 0, height = 0, channels = 0;  // channels 1 (grey) or 3 (RGB)
  std::vector<float> mean, std;              // per channel; identity when the model has none
};

// The input the model expects; false with `error` if it is not one image.
bool ReadInputSpec(const bnn_model* model, InputSpec* spec, std::string* error);

// Writes `image` (8-bit BGR, BGRA or grey, any size) into `input`
// (spec.height x spec.width x spec.channels floats, NHWC).
void FillInput(const InputSpec& spec, const cv::Mat& image, float* input);

// Image files in `dir` (jpg, jpeg, png, bmp, pgm, ppm, tif, tiff, webp),
// sorted by name.
std::vector<std::string> ListImages(const std::string& dir);
// Every entry of `dir` but hidden ones, sorted by name.
std::vector<std::string> ListEntries(const std::string& dir);
bool IsDirectory(const std::string& path);
bool HasVideoExtension(const std::string& path);

}  // namespace bnn_vision
