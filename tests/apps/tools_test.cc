// bnn-run and bnn-benchmark, end to end as a user runs them: a model file and
// an .npy batch in, .npy/.npz out, errors on stderr with a non-zero exit.
// The tools' paths come from the environment (tests/meson.build).
#include <catch2/catch.hpp>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <random>
#include <string>

#include "../bnn/models.h"
#include "bnn/bnn.h"
#include "npy.h"

using namespace bnn_test;

namespace {

struct Output {
  int status;
  std::string text;  // stdout and stderr
};

Output Run(const std::string& command) {
  Output o{-1, ""};
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  REQUIRE(p);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) o.text.append(buf, n);
  const int raw = pclose(p);
  o.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
  return o;
}

// The tool's path; in cross builds prefixed by the emulator Meson names
// (there is no binfmt_misc here to run foreign binaries directly).
std::string Tool(const char* var) {
  const char* p = getenv(var);
  REQUIRE(p != nullptr);
  const char* wrapper = getenv("MESON_EXE_WRAPPER");
  return wrapper && *wrapper ? std::string(wrapper) + " " + p : std::string(p);
}

const std::string kDir = "bnn_tools_test_files";

std::string WriteModel() {
  mkdir(kDir.c_str(), 0755);
  const std::string path = kDir + "/tiny.bnn";
  std::string error;
  REQUIRE(TinyBinaryNet().Build().Write(path, &error));
  return path;
}

bnn_tools::Array RandomBatch(int batch) {
  bnn_tools::Array a;
  a.shape = {batch, 9, 9, 40};  // the tiny net's input is NHWC
  std::mt19937 rng(3);
  std::normal_distribution<float> g;
  a.data.resize(static_cast<size_t>(batch) * 9 * 9 * 40);
  for (float& x : a.data) x = g(rng);
  return a;
}

}  // namespace

TEST_CASE("bnn-run runs a batch and writes what the C API computes", "[tools]") {
  const std::string model = WriteModel();
  const bnn_tools::Array batch = RandomBatch(3);
  std::string error;
  REQUIRE(bnn_tools::WriteNpy(kDir + "/x.npy", batch, &error));
  const Output o = Run(Tool("BNN_RUN") + " " + model + " --input " + kDir + "/x.npy --output " + kDir + "/y.npy");
  INFO(o.text);
  REQUIRE(o.status == 0);
  // Two outputs written as y_0.npy and y_1.npy.
  bnn_tools::Array y0, y1;
  REQUIRE(bnn_tools::ReadNpy(kDir + "/y_0.npy", &y0, &error));
  REQUIRE(bnn_tools::ReadNpy(kDir + "/y_1.npy", &y1, &error));
  CHECK(y0.shape == std::vector<int64_t>{3, 4, 4, 20});
  CHECK(y1.shape == std::vector<int64_t>{3, 4, 4, 20});

  // The same through the C API, item by item.
  bnn_model* m = nullptr;
  REQUIRE(bnn_model_load_file(model.c_str(), &m) == BNN_OK);
  bnn_interpreter* it = nullptr;
  REQUIRE(bnn_interpreter_create(m, nullptr, &it) == BNN_OK);
  for (int b = 0; b < 3; ++b) {
    memcpy(bnn_interpreter_input(it, 0), batch.data.data() + b * 9 * 9 * 40, 9 * 9 * 40 * sizeof(float));
    REQUIRE(bnn_interpreter_invoke(it) == BNN_OK);
    CHECK(memcmp(bnn_interpreter_output(it, 0), y0.data.data() + b * 320, 320 * sizeof(float)) == 0);
    CHECK(memcmp(bnn_interpreter_output(it, 1), y1.data.data() + b * 320, 320 * sizeof(float)) == 0);
  }
  bnn_interpreter_free(it);
  bnn_model_free(m);

  // .npz: one archive; check it is a zip holding both arrays.
  const Output z = Run(Tool("BNN_RUN") + " " + model + " --input " + kDir + "/x.npy --output " + kDir + "/y.npz");
  REQUIRE(z.status == 0);
  FILE* f = fopen((kDir + "/y.npz").c_str(), "rb");
  REQUIRE(f);
  char magic[4];
  REQUIRE(fread(magic, 1, 4, f) == 4);
  fclose(f);
  CHECK(memcmp(magic, "PK\x03\x04", 4) == 0);
}

TEST_CASE("bnn-run explains bad input and exits non-zero", "[tools]") {
  const std::string model = WriteModel();
  const std::string run = Tool("BNN_RUN") + " ";
  std::string error;
  bnn_tools::Array wrong;
  wrong.shape = {1, 9, 9, 41};
  wrong.data.resize(9 * 9 * 41);
  REQUIRE(bnn_tools::WriteNpy(kDir + "/wrong.npy", wrong, &error));
  FILE* f = fopen((kDir + "/junk.npy").c_str(), "wb");
  fputs("not numpy at all", f);
  fclose(f);
  struct Case {
    std::string args, message;
  } cases[] = {
      {kDir + "/missing.bnn --input x --output y", "cannot open"},
      {kDir + "/junk.npy --input x --output y", "not a .bnn model"},
      {model + " --input " + kDir + "/missing.npy --output " + kDir + "/o.npy", "cannot open"},
      {model + " --input " + kDir + "/junk.npy --output " + kDir + "/o.npy", "missing the NumPy magic"},
      {model + " --input " + kDir + "/wrong.npy --output " + kDir + "/o.npy", "has shape 1x9x9x41"},
      {model + " --bogus", "unexpected argument"},
  };
  for (const Case& c : cases) {
    const Output o = Run(run + c.args);
    INFO(c.args << " -> " << o.text);
    CHECK(o.status != 0);
    CHECK(o.status < 128);  // no crash
    CHECK(o.text.find(c.message) != std::string::npos);
  }
  CHECK(Run(run + "--help").status == 0);
}

TEST_CASE("bnn-benchmark reports latency, memory and a profile", "[tools]") {
  const std::string model = WriteModel();
  const Output o = Run(Tool("BNN_BENCHMARK") + " " + model + " --runs 5 --warmup 1");
  INFO(o.text);
  REQUIRE(o.status == 0);
  for (const char* part : {"latency:", "median over 5 runs", "arena:", "weights:", "kernels:", "BCONV2D", "conv1",
                           "SOFTMAX"})
    CHECK(o.text.find(part) != std::string::npos);
  const Output bad = Run(Tool("BNN_BENCHMARK") + " " + model + " --runs 0");
  CHECK(bad.status != 0);
  CHECK(Run(Tool("BNN_BENCHMARK") + " /nonexistent.bnn").status == 1);
}

TEST_CASE("bnn-run speaks NCHW for models from ONNX", "[tools]") {
  mkdir(kDir.c_str(), 0755);
  bnn::ModelBuilder b = TinyBinaryNet().Build();
  b.metadata().input_layout = bnn::fb::Layout::NCHW;
  const std::string model = kDir + "/tiny-nchw.bnn";
  std::string error;
  REQUIRE(b.Write(model, &error));
  // The same batch in both layouts.
  const bnn_tools::Array nhwc = RandomBatch(2);
  bnn_tools::Array nchw;
  nchw.shape = {2, 40, 9, 9};
  nchw.data.resize(nhwc.data.size());
  for (int n = 0; n < 2; ++n)
    for (int y = 0; y < 9; ++y)
      for (int x = 0; x < 9; ++x)
        for (int c = 0; c < 40; ++c) nchw.data[((n * 40 + c) * 9 + y) * 9 + x] = nhwc.data[((n * 9 + y) * 9 + x) * 40 + c];
  REQUIRE(bnn_tools::WriteNpy(kDir + "/x-nchw.npy", nchw, &error));
  const Output o = Run(Tool("BNN_RUN") + " " + model + " --input " + kDir + "/x-nchw.npy --output " + kDir + "/z.npy");
  INFO(o.text);
  REQUIRE(o.status == 0);
  bnn_tools::Array z;
  REQUIRE(bnn_tools::ReadNpy(kDir + "/z_0.npy", &z, &error));
  CHECK(z.shape == std::vector<int64_t>{2, 20, 4, 4});
  bnn_model* m = nullptr;
  REQUIRE(bnn_model_load_file(model.c_str(), &m) == BNN_OK);
  CHECK(bnn_model_input_is_nchw(m) == 1);
  bnn_interpreter* it = nullptr;
  REQUIRE(bnn_interpreter_create(m, nullptr, &it) == BNN_OK);
  for (int n = 0; n < 2; ++n) {
    memcpy(bnn_interpreter_input(it, 0), nhwc.data.data() + n * 9 * 9 * 40, 9 * 9 * 40 * sizeof(float));
    REQUIRE(bnn_interpreter_invoke(it) == BNN_OK);
    const float* y = static_cast<const float*>(bnn_interpreter_output(it, 0));  // NHWC [1,4,4,20]
    for (int h = 0; h < 4; ++h)
      for (int w = 0; w < 4; ++w)
        for (int c = 0; c < 20; ++c) CHECK(z.data[((n * 20 + c) * 4 + h) * 4 + w] == y[(h * 4 + w) * 20 + c]);
  }
  bnn_interpreter_free(it);
  bnn_model_free(m);
}
