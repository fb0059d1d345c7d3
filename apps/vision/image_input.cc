#include "image_input.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <opencv2/imgproc.hpp>

namespace bnn_vision {
namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = char(tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Extension(const std::string& path) {
  const size_t dot = path.find_last_of('.'), slash = path.find_last_of('/');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return "";
  return Lower(path.substr(dot + 1));
}

int PixelBytes(bnn_pixel_format f) {
  return f == BNN_PIXELS_GREY ? 1 : f == BNN_PIXELS_RGBA || f == BNN_PIXELS_BGRA ? 4 : 3;
}

}  // namespace

bool ReadInputSpec(const bnn_model* model, InputSpec* spec, std::string* error) {
  bnn_tensor_info in;
  const bnn_pixel_format pixels = bnn_model_input_pixel_format(model);
  const bool ok = bnn_model_input_count(model) == 1 && bnn_model_input_info(model, 0, &in) == BNN_OK &&
                  in.rank == 4 && in.dims[0] == 1 &&
                  (pixels != BNN_PIXELS_NONE ? in.dtype == BNN_DTYPE_U8 && in.dims[3] == PixelBytes(pixels)
                                             : in.dtype == BNN_DTYPE_F32 && (in.dims[3] == 1 || in.dims[3] == 3));
  if (!ok) {
    *error = "the model does not take one image (1 x H x W x 1 or 3 floats, or 8-bit pixels of a stated format)";
    return false;
  }
  *spec = InputSpec();
  spec->height = in.dims[1];
  spec->width = in.dims[2];
  spec->channels = in.dims[3];
  spec->pixels = pixels;
  spec->bytes = in.bytes;
  if (pixels != BNN_PIXELS_NONE) return true;  // the model normalises its pixels itself
  spec->mean.assign(size_t(spec->channels), 0.0f);
  spec->std.assign(size_t(spec->channels), 1.0f);
  float mean[3], std[3];
  const int n = bnn_model_normalization(model, mean, std, 3);
  for (int c = 0; c < spec->channels; ++c) {
    if (n == 1 || n == spec->channels) {
      spec->mean[size_t(c)] = mean[n == 1 ? 0 : c];
      spec->std[size_t(c)] = std[n == 1 ? 0 : c];
    }
  }
  return true;
}

bool IsModelInput(const InputSpec& spec, const cv::Mat& image) {
  const int type = spec.pixels == BNN_PIXELS_BGR ? CV_8UC3 : spec.pixels == BNN_PIXELS_BGRA ? CV_8UC4
                   : spec.pixels == BNN_PIXELS_GREY ? CV_8UC1 : -1;
  return type >= 0 && image.type() == type && image.isContinuous() && image.cols == spec.width &&
         image.rows == spec.height;
}

void FillInput(const InputSpec& spec, const cv::Mat& image, void* input) {
  if (spec.pixels != BNN_PIXELS_NONE) {
    // 8-bit pixels in the model's format, resized; the model normalises them.
    const int code3 = spec.pixels == BNN_PIXELS_RGB ? cv::COLOR_BGR2RGB : spec.pixels == BNN_PIXELS_RGBA ? cv::COLOR_BGR2RGBA
                      : spec.pixels == BNN_PIXELS_BGRA ? cv::COLOR_BGR2BGRA : spec.pixels == BNN_PIXELS_GREY ? cv::COLOR_BGR2GRAY
                                                                                                              : -1;
    cv::Mat bgr, resized;
    if (image.channels() == 1) cv::cvtColor(image, bgr, cv::COLOR_GRAY2BGR);
    else if (image.channels() == 4) cv::cvtColor(image, bgr, cv::COLOR_BGRA2BGR);
    else bgr = image;
    if (bgr.cols != spec.width || bgr.rows != spec.height)
      cv::resize(bgr, resized, cv::Size(spec.width, spec.height), 0, 0, cv::INTER_AREA);
    else
      resized = bgr;
    cv::Mat out(spec.height, spec.width, CV_8UC(spec.channels), input);  // written straight into the input
    if (code3 >= 0) cv::cvtColor(resized, out, code3);
    else resized.copyTo(out);
    return;
  }
  // Resize first, convert after: colour conversion then touches only the
  // model's pixels (the channel swap commutes with resizing, bit for bit).
  const cv::Size size(spec.width, spec.height);
  cv::Mat src = image, resized;
  if (spec.channels == 1) {
    if (image.channels() == 3) cv::cvtColor(image, src, cv::COLOR_BGR2GRAY);
    else if (image.channels() == 4) cv::cvtColor(image, src, cv::COLOR_BGRA2GRAY);
  } else if (image.channels() == 1) {
    cv::cvtColor(image, src, cv::COLOR_GRAY2BGR);
  } else if (image.channels() == 4) {
    cv::cvtColor(image, src, cv::COLOR_BGRA2BGR);
  }
  if (src.size() != size) cv::resize(src, resized, size, 0, 0, cv::INTER_AREA);
  else resized = src;
  const int C = spec.channels;
  float scale[3], shift[3];
  for (int c = 0; c < C; ++c) {
    scale[c] = 1.0f / (255.0f * spec.std[size_t(c)]);
    shift[c] = -spec.mean[size_t(c)] / spec.std[size_t(c)];
  }
  for (int y = 0; y < spec.height; ++y) {
    const uint8_t* row = resized.ptr<uint8_t>(y);
    float* out = static_cast<float*>(input) + size_t(y) * size_t(spec.width) * size_t(C);
    if (C == 1) {
      for (int x = 0; x < spec.width; ++x) out[x] = float(row[x]) * scale[0] + shift[0];
      continue;
    }
    for (int x = 0; x < spec.width; ++x, row += 3, out += 3) {  // BGR in, RGB out
      out[0] = float(row[2]) * scale[0] + shift[0];
      out[1] = float(row[1]) * scale[1] + shift[1];
      out[2] = float(row[0]) * scale[2] + shift[2];
    }
  }
}

bool IsDirectory(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::vector<std::string> ListEntries(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = opendir(dir.c_str());
  if (!d) return names;
  while (const dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (!name.empty() && name[0] != '.') names.push_back(name);
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> ListImages(const std::string& dir) {
  static const char* kExt[] = {"jpg", "jpeg", "png", "bmp", "pgm", "ppm", "tif", "tiff", "webp"};
  std::vector<std::string> files;
  for (const std::string& name : ListEntries(dir)) {
    const std::string ext = Extension(name);
    for (const char* k : kExt)
      if (ext == k) files.push_back(dir + "/" + name);
  }
  return files;
}

bool HasVideoExtension(const std::string& path) {
  static const char* kExt[] = {"avi", "mp4", "mkv", "mov", "webm", "mpg", "mpeg", "m4v", "wmv", "flv"};
  const std::string ext = Extension(path);
  for (const char* k : kExt)
    if (ext == k) return true;
  return false;
}

}  // namespace bnn_vision
