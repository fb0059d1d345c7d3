// bnn-convert: ONNX in, .bnn out. Imports the model, runs the graph passes
// (constant folding, straight-through-estimator stripping, BatchNorm and
// scale folding, binary layer recognition), writes the model, and with
// --check compares it against the converter's own float interpreter.
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bnn/bnn.hpp"
#include "apps/tools/npy.h"
#include "src/calibrate.h"
#include "src/check.h"
#include "src/evaluator.h"
#include "src/lower.h"
#include "src/onnx_import.h"
#include "src/passes.h"

namespace {

const char kUsage[] =
    "usage: bnn-convert MODEL.onnx -o MODEL.bnn [options]\n"
    "\n"
    "Converts an ONNX model (opsets 9 to 17) to the .bnn format. Convolutions and\n"
    "fully-connected layers whose input is a Sign and whose weights are +/-alpha per\n"
    "output channel become binary layers; everything else stays float.\n"
    "\n"
    "  -o, --output FILE        the .bnn file to write (written to FILE.tmp, then renamed)\n"
    "  --input-shape [NAME:]DIMS  fix a dynamic input shape, e.g. 1x3x224x224\n"
    "  --name TEXT              model name (metadata)\n"
    "  --description TEXT       model description (metadata)\n"
    "  --task KIND              classifier, detector, embedder or other (default other)\n"
    "  --labels FILE            class names, one per line (metadata)\n"
    "  --mean A,B,C --std A,B,C input normalisation (pixel / 255 - mean) / std (metadata)\n"
    "  --input-u8 FORMAT        the image input takes 8-bit NHWC camera pixels, FORMAT rgb,\n"
    "                           bgr, rgba, bgra or grey; the model does the channel order and\n"
    "                           the normalisation above itself (a NORMALIZE first operator)\n"
    "  --calibration X.npy      real inputs (float32, NCHW batch) for --int8 and --binarize\n"
    "  --int8                   run the first and last float convolutions in int8, with the\n"
    "                           input range from --calibration (weights per output channel)\n"
    "  --binarize LAYERS        post-training binarisation of a float model: 'all' (every\n"
    "                           Conv/Gemm but the first and last) or comma-separated node\n"
    "                           names; XNOR-Net scaling, activation scale from --calibration.\n"
    "                           Prints how far the result drifts from the float model.\n"
    "  --output-names A,B       what each model output means (metadata), e.g. boxes,scores\n"
    "  detectors (--task detector), read by bnn-detect:\n"
    "  --decoding NAME          box decoding scheme: yolo, or yolo-landmarks with --landmarks\n"
    "  --landmarks N            points per box after the classes (x, y offsets; yolo-landmarks)\n"
    "  --anchors WxH,WxH,...    YOLO-style anchor sizes in input pixels\n"
    "  --anchor-file FILE       SSD-style anchors, one 'cx cy w h' per line\n"
    "  --strides S,S,...        output strides of the detection heads\n"
    "  --score-threshold T --iou-threshold T   defaults for the app (0.25, 0.45)\n"
    "  embedders (--task embedder), read by bnn-face and bnn-demo:\n"
    "  --match-threshold T      the cosine similarity (in [-1, 1]) from which two embeddings\n"
    "                           are one identity, as calibrated for this model (default for\n"
    "                           the apps without one: 0.5)\n"
    "  --check X.npy            run X (float32, the model's NCHW input, a batch) through the\n"
    "                           ONNX model (OpenCV DNN, or the converter's float interpreter\n"
    "                           where OpenCV cannot run it) and the .bnn; print the largest\n"
    "                           difference and the top-1 agreement\n"
    "  --min-agreement PCT      with --check: exit 1 if top-1 agreement is below PCT\n"
    "  --max-difference D       with --check: exit 1 if the largest difference exceeds D\n"
    "  -v, --verbose            print what each pass did\n"
    "  --list-ops               print the ONNX ops bnn-convert accepts and exit\n";

bool ParseDims(const std::string& s, std::vector<int64_t>* dims) {
  dims->clear();
  size_t pos = 0;
  while (pos <= s.size()) {
    const size_t x = s.find_first_of("x,", pos);
    const std::string part = s.substr(pos, x == std::string::npos ? std::string::npos : x - pos);
    char* end = nullptr;
    const long long v = strtoll(part.c_str(), &end, 10);
    if (part.empty() || *end || v <= 0) return false;
    dims->push_back(v);
    if (x == std::string::npos) break;
    pos = x + 1;
  }
  return !dims->empty();
}

bool ParseFloats(const std::string& s, std::vector<float>* out) {
  out->clear();
  size_t pos = 0;
  while (pos <= s.size()) {
    const size_t c = s.find(',', pos);
    const std::string part = s.substr(pos, c == std::string::npos ? std::string::npos : c - pos);
    char* end = nullptr;
    const float v = strtof(part.c_str(), &end);
    if (part.empty() || *end) return false;
    out->push_back(v);
    if (c == std::string::npos) break;
    pos = c + 1;
  }
  return true;
}

int Fail(const std::string& message) {
  fprintf(stderr, "bnn-convert: %s\n", message.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string input, output, check_path, calibration_path;
  std::vector<std::string> binarize;
  bool int8 = false;
  bnnc::PassOptions pass_options;
  bnnc::ModelInfo info;
  bool verbose = false;
  double min_agreement = -1, max_difference = -1;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](std::string* v) {
      if (i + 1 >= argc) return false;
      *v = argv[++i];
      return true;
    };
    std::string v;
    if (a == "-h" || a == "--help") {
      fputs(kUsage, stdout);
      return 0;
    } else if (a == "--list-ops") {
      for (const std::string& op : bnnc::LoweredOps())
        if (op.rfind("bnn.", 0) != 0) printf("%s\n", op.c_str());
      printf("Sign\n");
      return 0;
    } else if (a == "-o" || a == "--output") {
      if (!value(&output)) return Fail("-o needs a file name");
    } else if (a == "--input-shape") {
      if (!value(&v)) return Fail("--input-shape needs dimensions");
      std::string name;
      const size_t colon = v.rfind(':');
      if (colon != std::string::npos) {
        name = v.substr(0, colon);
        v = v.substr(colon + 1);
      }
      std::vector<int64_t> dims;
      if (!ParseDims(v, &dims)) return Fail("--input-shape '" + v + "' is not like 1x3x224x224");
      pass_options.input_shapes[name] = dims;
    } else if (a == "--name") {
      if (!value(&info.name)) return Fail("--name needs text");
    } else if (a == "--description") {
      if (!value(&info.description)) return Fail("--description needs text");
    } else if (a == "--task") {
      if (!value(&v)) return Fail("--task needs a kind");
      if (v == "classifier") info.task = bnn::fb::Task::CLASSIFIER;
      else if (v == "detector") info.task = bnn::fb::Task::DETECTOR;
      else if (v == "embedder") info.task = bnn::fb::Task::EMBEDDER;
      else if (v == "other") info.task = bnn::fb::Task::OTHER;
      else return Fail("--task must be classifier, detector, embedder or other, not '" + v + "'");
    } else if (a == "--labels") {
      if (!value(&v)) return Fail("--labels needs a file");
      std::ifstream f(v);
      if (!f) return Fail("cannot read labels file '" + v + "': " + strerror(errno));
      for (std::string line; std::getline(f, line);) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        info.labels.push_back(line);
      }
      while (!info.labels.empty() && info.labels.back().empty()) info.labels.pop_back();
    } else if (a == "--mean" || a == "--std") {
      if (!value(&v) || !ParseFloats(v, a == "--mean" ? &info.mean : &info.std))
        return Fail(a + " needs comma-separated numbers");
    } else if (a == "--input-u8") {
      if (!value(&v)) return Fail("--input-u8 needs a pixel format");
      const std::map<std::string, bnn::fb::PixelFormat> formats = {
          {"rgb", bnn::fb::PixelFormat::RGB},   {"bgr", bnn::fb::PixelFormat::BGR},
          {"rgba", bnn::fb::PixelFormat::RGBA}, {"bgra", bnn::fb::PixelFormat::BGRA},
          {"grey", bnn::fb::PixelFormat::GREY}, {"gray", bnn::fb::PixelFormat::GREY}};
      const auto f = formats.find(v);
      if (f == formats.end()) return Fail("--input-u8 must be rgb, bgr, rgba, bgra or grey, not '" + v + "'");
      info.input_pixels = f->second;
    } else if (a == "--output-names") {
      if (!value(&v)) return Fail("--output-names needs names");
      for (size_t pos = 0; pos <= v.size();) {
        const size_t c = v.find(',', pos);
        info.output_meaning.push_back(v.substr(pos, c == std::string::npos ? std::string::npos : c - pos));
        if (c == std::string::npos) break;
        pos = c + 1;
      }
    } else if (a == "--decoding") {
      if (!value(&info.decoding)) return Fail("--decoding needs a name");
    } else if (a == "--landmarks") {
      std::vector<int64_t> n;
      if (!value(&v) || !ParseDims(v, &n) || n.size() != 1 || n[0] < 1 || n[0] > 64)
        return Fail("--landmarks needs a number of points in 1..64");
      info.landmarks = int32_t(n[0]);
    } else if (a == "--anchors") {
      if (!value(&v)) return Fail("--anchors needs sizes");
      std::vector<float> f;
      std::string spaced = v;
      for (char& ch : spaced) if (ch == 'x') ch = ',';
      if (!ParseFloats(spaced, &f) || f.size() % 2) return Fail("--anchors must be like 10x13,16x30");
      for (size_t k = 0; k < f.size(); k += 2) info.anchors.push_back({0.0f, 0.0f, f[k], f[k + 1]});
    } else if (a == "--anchor-file") {
      if (!value(&v)) return Fail("--anchor-file needs a file");
      std::ifstream f(v);
      if (!f) return Fail("cannot read anchor file '" + v + "': " + strerror(errno));
      int line_no = 0;
      for (std::string line; std::getline(f, line);) {
        ++line_no;
        if (line.find_first_not_of(" \t\r") == std::string::npos || line[0] == '#') continue;
        float cx, cy, w, h;
        char extra;
        if (sscanf(line.c_str(), "%f %f %f %f %c", &cx, &cy, &w, &h, &extra) != 4)
          return Fail(v + ":" + std::to_string(line_no) + ": expected 'cx cy w h'");
        info.anchors.push_back({cx, cy, w, h});
      }
    } else if (a == "--strides") {
      std::vector<int64_t> s;
      if (!value(&v) || !ParseDims(v, &s)) return Fail("--strides must be like 8,16,32");
      for (int64_t x : s) info.strides.push_back(int32_t(x));
    } else if (a == "--score-threshold" || a == "--iou-threshold") {
      std::vector<float> f;
      if (!value(&v) || !ParseFloats(v, &f) || f.size() != 1 || !(f[0] >= 0 && f[0] <= 1))
        return Fail(a + " needs a number in [0, 1]");
      (a == "--score-threshold" ? info.score_threshold : info.iou_threshold) = f[0];
    } else if (a == "--match-threshold") {
      std::vector<float> f;
      if (!value(&v) || !ParseFloats(v, &f) || f.size() != 1 || !(f[0] >= -1 && f[0] <= 1))
        return Fail("--match-threshold needs a number in [-1, 1]");
      info.match_threshold = f[0];
    } else if (a == "--calibration") {
      if (!value(&calibration_path)) return Fail("--calibration needs a .npy file");
    } else if (a == "--int8") {
      int8 = true;
    } else if (a == "--binarize") {
      if (!value(&v) || v.empty()) return Fail("--binarize needs 'all' or layer names");
      for (size_t pos = 0; pos <= v.size();) {
        const size_t c = v.find(',', pos);
        binarize.push_back(v.substr(pos, c == std::string::npos ? std::string::npos : c - pos));
        if (c == std::string::npos) break;
        pos = c + 1;
      }
    } else if (a == "--check") {
      if (!value(&check_path)) return Fail("--check needs a .npy file");
    } else if (a == "--min-agreement" || a == "--max-difference") {
      if (!value(&v)) return Fail(a + " needs a number");
      char* end = nullptr;
      const double d = strtod(v.c_str(), &end);
      if (*end || !(d >= 0)) return Fail(a + " needs a non-negative number, not '" + v + "'");
      (a == "--min-agreement" ? min_agreement : max_difference) = d;
    } else if (a == "-v" || a == "--verbose") {
      verbose = true;
    } else if (!a.empty() && a[0] == '-') {
      return Fail("unknown option '" + a + "' (see --help)");
    } else if (input.empty()) {
      input = a;
    } else {
      return Fail("more than one input model ('" + input + "', '" + a + "')");
    }
  }
  if (input.empty() || output.empty()) {
    fputs(kUsage, stderr);
    return 2;
  }
  if ((int8 || !binarize.empty()) && calibration_path.empty())
    return Fail(std::string(int8 ? "--int8" : "--binarize") + " needs --calibration X.npy");
  if ((info.landmarks > 0) != (info.decoding == "yolo-landmarks"))
    return Fail(info.landmarks > 0 ? "--landmarks needs --decoding yolo-landmarks"
                                   : "--decoding yolo-landmarks needs --landmarks N");
  if (info.match_threshold && info.task != bnn::fb::Task::EMBEDDER)
    return Fail("--match-threshold is for embedders (--task embedder)");
  if (info.mean.size() != info.std.size()) return Fail("--mean and --std need the same number of values");
  for (float s : info.std)
    if (!(s > 0)) return Fail("--std values must be positive");

  std::string error;
  bnnc::Graph graph;
  if (!bnnc::ImportOnnx(input, &graph, &error)) return Fail(error);
  if (!info.output_meaning.empty() && info.output_meaning.size() != graph.outputs.size())
    return Fail("--output-names gives " + std::to_string(info.output_meaning.size()) + " names; the model has " +
                std::to_string(graph.outputs.size()) + " outputs");
  if (info.name.empty()) {
    const size_t slash = input.find_last_of('/');
    info.name = input.substr(slash == std::string::npos ? 0 : slash + 1);
    if (info.name.size() > 5 && info.name.substr(info.name.size() - 5) == ".onnx") info.name.resize(info.name.size() - 5);
  }
  bnnc::Graph original;  // the float reference for --check, shapes fixed
  bnnc::Value calibration;
  bnnc::PassLog log;
  {
    bnnc::Graph g = graph;
    bnnc::RemoveIdentities(&g, nullptr);
    if (!bnnc::InferShapes(&g, pass_options, &error)) return Fail(input + ": " + error);
    original = g;
  }
  bnnc::LowerOptions lower_options;
  if (!calibration_path.empty()) {
    bnn_tools::Array a;
    if (!bnn_tools::ReadNpy(calibration_path, &a, &error)) return Fail("--calibration: " + error);
    calibration = bnnc::Value::Float(a.shape, std::move(a.data));
    if (!bnnc::CollectStats(original, calibration, &lower_options.stats, &error)) return Fail("--calibration: " + error);
  }
  if (!binarize.empty()) {
    graph = original;
    std::vector<std::string> chosen;
    if (!bnnc::BinarizeLayers(&graph, binarize, lower_options.stats, &chosen, &error)) return Fail(error);
    bnnc::Drift drift;
    if (!bnnc::MeasureDrift(original, graph, calibration, &drift, &error)) return Fail("--binarize: " + error);
    printf("binarized %zu layers:", chosen.size());
    for (const std::string& c : chosen) printf(" %s", c.c_str());
    printf("\ndrift from the float model on %lld calibration inputs: largest relative difference %.3g, "
           "top-1 agreement %.2f %%\n",
           (long long)calibration.shape[0], drift.max_relative, drift.top1_agree);
    fprintf(stderr,
            "bnn-convert: warning: post-training binarisation loses accuracy; for a usable model train it "
            "binary-aware (docs/training-kit.md)\n");
  }
  if (!bnnc::RunPasses(&graph, pass_options, &log, &error)) return Fail(input + ": " + error);
  if (int8) {
    lower_options.int8_layers = bnnc::Int8Layers(graph);
    if (lower_options.int8_layers.empty())
      fprintf(stderr, "bnn-convert: warning: --int8: no float convolution reads the input or writes an output\n");
    for (const std::string& l : lower_options.int8_layers) printf("int8: %s\n", l.c_str());
  }
  if (verbose)
    for (const std::string& n : log.notes) fprintf(stderr, "  %s\n", n.c_str());
  for (const std::string& w : log.warnings) fprintf(stderr, "bnn-convert: warning: %s\n", w.c_str());

  bnn::ModelBuilder builder;
  if (!bnnc::Lower(graph, info, &builder, &error, lower_options)) return Fail(input + ": " + error);
  const std::vector<uint8_t> bytes = builder.Finish();
  // The converter must never write a model the runtime refuses. The runtime
  // reads buffers in place, so they must be 64-byte aligned (and outlive it).
  std::unique_ptr<uint8_t, decltype(&free)> aligned(
      static_cast<uint8_t*>(aligned_alloc(64, (bytes.size() + 63) / 64 * 64)), &free);
  if (!aligned) return Fail("out of memory");
  memcpy(aligned.get(), bytes.data(), bytes.size());
  bnn::Model model;
  if (bnn::Model::Load(aligned.get(), bytes.size(), &model) != BNN_OK)
    return Fail(input + ": the runtime cannot run the converted model (nothing was written): " +
                std::string(bnn_last_load_error()));
  const std::string tmp = output + ".tmp";
  {
    FILE* f = fopen(tmp.c_str(), "wb");
    if (!f) return Fail("cannot write '" + tmp + "': " + strerror(errno));
    const bool ok = fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
    if (fclose(f) != 0 || !ok) {
      remove(tmp.c_str());
      return Fail("cannot write '" + tmp + "': " + strerror(errno));
    }
    if (rename(tmp.c_str(), output.c_str()) != 0) {
      remove(tmp.c_str());
      return Fail("cannot rename '" + tmp + "' to '" + output + "': " + strerror(errno));
    }
  }
  int binary = 0, total = 0;
  for (const bnnc::Node& n : graph.nodes) {
    binary += n.op == "bnn.BinaryConv" || n.op == "bnn.BinaryGemm";
    ++total;
  }
  printf("%s: %d layers (%d binary), %zu bytes\n", output.c_str(), total, binary, bytes.size());

  if (check_path.empty()) return 0;
  bnnc::CheckResult r;
  if (!bnnc::CheckModel(original, input, model, check_path, &r, &error)) return Fail("--check: " + error);
  printf("check: reference %s\n", r.reference.c_str());
  printf("check: %lld inputs, largest difference %.6g (output '%s'), top-1 agreement %.2f %% (%lld of %lld)\n",
         (long long)r.items, r.max_difference, r.worst_output.c_str(), r.agreement_percent(), (long long)r.top1_agree,
         (long long)r.items);
  bool ok = true;
  if (min_agreement >= 0 && r.agreement_percent() < min_agreement) {
    fprintf(stderr, "bnn-convert: top-1 agreement %.2f %% is below --min-agreement %.2f\n", r.agreement_percent(),
            min_agreement);
    ok = false;
  }
  if (max_difference >= 0 && !(r.max_difference <= max_difference)) {
    fprintf(stderr, "bnn-convert: largest difference %.6g exceeds --max-difference %.6g\n", r.max_difference,
            max_difference);
    ok = false;
  }
  return ok ? 0 : 1;
}
