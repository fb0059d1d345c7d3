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
  int width = 0, height = 0;
  int channels = 0;                          // float input: 1 (grey) or 3 (RGB); pixels: bytes a pixel
  bnn_pixel_format pixels = BNN_PIXELS_NONE; // a camera-frame (U8) input, or NONE for float
  std::vector<float> mean, std;              // float input: per channel; identity when the model has none
  size_t bytes = 0;                          // of the input tensor
};

// The input the model expects; false with `error` if it is not one image.
bool ReadInputSpec(const bnn_model* model, InputSpec* spec, std::string* error);

// Writes `image` (8-bit BGR, BGRA or grey, any size) into `input`: floats
// normalised as the model says, or, for a pixel input, the pixels in its
// format (the model normalises them).
void FillInput(const InputSpec& spec, const cv::Mat& image, void* input);

// True when `image` already is the model's input, byte for byte: a pixel
// input of the image's size and layout (BGR or BGRA frames as OpenCV gives
// them). The runners then hand the frame to the runtime without a copy.
bool IsModelInput(const InputSpec& spec, const cv::Mat& image);

// Image files in `dir` (jpg, jpeg, png, bmp, pgm, ppm, tif, tiff, webp),
// sorted by name.
std::vector<std::string> ListImages(const std::string& dir);
// Every entry of `dir` but hidden ones, sorted by name.
std::vector<std::string> ListEntries(const std::string& dir);
bool IsDirectory(const std::string& path);
bool HasVideoExtension(const std::string& path);

}  // namespace bnn_vision
