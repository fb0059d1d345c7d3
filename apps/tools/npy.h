// Minimal NumPy .npy / .npz support for the command-line tools: float32,
// C order. Reading validates the header fully (untrusted files).
#pragma once

#include <stdint.h>

#include <string>
#include <vector>

namespace bnn_tools {

struct Array {
  std::vector<int64_t> shape;
  std::vector<float> data;
};

// Reads a float32 .npy file; false with `error` naming the problem.
bool ReadNpy(const std::string& path, Array* array, std::string* error);
// Writes one array as .npy; false with `error` on failure.
bool WriteNpy(const std::string& path, const Array& array, std::string* error);
// Writes several named arrays as an uncompressed .npz (a zip of .npy files).
bool WriteNpz(const std::string& path, const std::vector<std::pair<std::string, Array>>& arrays,
              std::string* error);
// Writes `bytes` beside `path` and renames it into place: an interrupted run
// never leaves a half-written file under the real name.
bool WriteFile(const std::string& path, const std::string& bytes, std::string* error);

}  // namespace bnn_tools
