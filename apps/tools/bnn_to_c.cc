// bnn-to-c MODEL.bnn -o NAME.c: a model as a C array for firmware, where
// there is no file system. The array is const, 64-byte aligned (the loader
// reads weights in place with aligned loads) and in its own .rodata
// section, which linker scripts place in flash. The header gives the sizes a
// firmware needs at compile time: the model's bytes, its tables' bounds
// (bnn.h's BNN_MODEL_MEMORY_BYTES and BNN_INTERPRETER_MEMORY_BYTES) and the
// arena of the C reference kernels, layer by layer and patch-based.
//
// The model is loaded through the runtime's verifying loader first: a file
// the runtime would refuse never becomes firmware.
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <cctype>
#include <string>
#include <vector>

#include "bnn/bnn.h"
#include "npy.h"  // bnn_tools::WriteFile: beside the target, then renamed

namespace {

const char kUsage[] =
    "usage: bnn-to-c MODEL.bnn -o NAME.c [--header NAME.h] [--name SYMBOL] [--section SECTION]\n"
    "Writes the model as a const, 64-byte aligned C array (SYMBOL, default from the\n"
    "output's file name) in section SECTION (default .rodata.bnn_model, i.e. flash),\n"
    "and a header with its size, table bounds and the reference kernels' arena\n"
    "(layer by layer and patch-based) as macros for static buffers.\n";

int Fail(const std::string& message) {
  fprintf(stderr, "bnn-to-c: %s\n", message.c_str());
  return 1;
}

std::string BaseName(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  const size_t dot = base.find_last_of('.');
  return dot == std::string::npos ? base : base.substr(0, dot);
}

bool ValidSymbol(const std::string& s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  return true;
}

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

bool ReadFile(const std::string& path, std::vector<unsigned char>* bytes) {
  FILE* f = fopen(path.c_str(), "rb");
  if (!f) return false;
  unsigned char buffer[65536];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, f)) > 0) bytes->insert(bytes->end(), buffer, buffer + n);
  const bool ok = !ferror(f);
  fclose(f);
  return ok;
}

// The arena the C reference kernels (the microcontroller path) need.
bool ReferenceArena(const bnn_model* model, int patch, size_t* bytes) {
  bnn_interpreter_options o = bnn_interpreter_default_options();
  o.force_reference = 1;
  o.patch_based = patch ? 1 : -1;
  bnn_interpreter* it = nullptr;
  if (bnn_interpreter_create(model, &o, &it) != BNN_OK) return false;
  *bytes = bnn_interpreter_arena_bytes(it);
  bnn_interpreter_free(it);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::string input, out_c, out_h, symbol, section = ".rodata.bnn_model";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      fputs(kUsage, stdout);
      return 0;
    } else if (a == "-o" && i + 1 < argc) {
      out_c = argv[++i];
    } else if (a == "--header" && i + 1 < argc) {
      out_h = argv[++i];
    } else if (a == "--name" && i + 1 < argc) {
      symbol = argv[++i];
    } else if (a == "--section" && i + 1 < argc) {
      section = argv[++i];
    } else if (!a.empty() && a[0] != '-' && input.empty()) {
      input = a;
    } else {
      fputs(kUsage, stderr);
      return Fail("unexpected argument '" + a + "'");
    }
  }
  if (input.empty() || out_c.empty()) {
    fputs(kUsage, stderr);
    return 2;
  }
  if (out_h.empty()) out_h = out_c.substr(0, out_c.size() - (out_c.size() > 2 && out_c.substr(out_c.size() - 2) == ".c" ? 2 : 0)) + ".h";
  if (symbol.empty()) symbol = BaseName(out_c);
  for (char& c : symbol)
    if (c == '-' || c == '.') c = '_';
  if (!ValidSymbol(symbol)) return Fail("'" + symbol + "' is not a C identifier: give --name");
  if (section.empty() || section.find_first_of("\"\\\n") != std::string::npos)
    return Fail("--section takes a plain section name");

  std::vector<unsigned char> bytes;
  if (!ReadFile(input, &bytes)) return Fail("cannot read '" + input + "': " + strerror(errno));
  bnn_model* model = nullptr;
  if (bnn_model_load_file(input.c_str(), &model) != BNN_OK) return Fail(bnn_last_load_error());
  size_t layer_arena = 0, patch_arena = 0;
  if (!ReferenceArena(model, 0, &layer_arena) || !ReferenceArena(model, 1, &patch_arena)) {
    const std::string why = bnn_last_load_error();
    bnn_model_free(model);
    return Fail(why);
  }
  const int tensors = bnn_model_tensor_count(model), ops = bnn_model_op_count(model);
  const int inputs = bnn_model_input_count(model), outputs = bnn_model_output_count(model);
  const std::string name = bnn_model_name(model);
  bnn_model_free(model);

  const std::string up = Upper(symbol);
  const std::string guard = up + "_H";
  char line[512];
  std::string h;
  h += "/* " + BaseName(out_h) + ".h - generated by bnn-to-c from " + BaseName(input) +
       ".bnn; do not edit. */\n";
  h += "#ifndef " + guard + "\n#define " + guard + "\n\n#include <stddef.h>\n#include <stdint.h>\n\n"
       "#include \"bnn/bnn.h\"\n\n";
  snprintf(line, sizeof line, "#define %s_BYTES %zuu\n", up.c_str(), bytes.size());
  h += line;
  snprintf(line, sizeof line, "#define %s_TENSORS %d\n#define %s_OPS %d\n#define %s_INPUTS %d\n#define %s_OUTPUTS %d\n",
           up.c_str(), tensors, up.c_str(), ops, up.c_str(), inputs, up.c_str(), outputs);
  h += line;
  h += "/* Arena of the C reference kernels: layer by layer (options.patch_based = -1), and\n"
       "   patch-based (the default). */\n";
  snprintf(line, sizeof line, "#define %s_ARENA_BYTES %zuu\n#define %s_PATCH_ARENA_BYTES %zuu\n", up.c_str(),
           layer_arena, up.c_str(), patch_arena);
  h += line;
  h += "/* Bounds for bnn_model_load_static's and options.memory's buffers (tables only). */\n";
  h += "#define " + up + "_MODEL_MEMORY_BYTES BNN_MODEL_MEMORY_BYTES(" + up + "_TENSORS, " + up + "_OPS)\n";
  h += "#define " + up + "_INTERPRETER_MEMORY_BYTES BNN_INTERPRETER_MEMORY_BYTES(" + up + "_TENSORS, " + up +
       "_OPS, " + up + "_INPUTS)\n\n";
  h += "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n";
  h += "/* The model \"" + name + "\" (" + std::to_string(bytes.size()) + " bytes), 64-byte aligned, in flash. */\n";
  h += "extern const uint8_t " + symbol + "[" + up + "_BYTES];\n\n";
  h += "#ifdef __cplusplus\n}\n#endif\n\n#endif /* " + guard + " */\n";

  std::string c;
  c.reserve(bytes.size() * 6 + 512);
  c += "/* " + BaseName(out_c) + ".c - generated by bnn-to-c from " + BaseName(input) + ".bnn; do not edit. */\n";
  c += "#include \"" + BaseName(out_h) + ".h\"\n\n";
  c += "__attribute__((aligned(64), section(\"" + section + "\")))\nconst uint8_t " + symbol + "[" + up +
       "_BYTES] = {\n";
  for (size_t i = 0; i < bytes.size(); ++i) {
    snprintf(line, sizeof line, "%s0x%02x,%s", i % 16 == 0 ? "  " : "", bytes[i],
             i % 16 == 15 || i + 1 == bytes.size() ? "\n" : " ");
    c += line;
  }
  c += "};\n";

  std::string error;
  if (!bnn_tools::WriteFile(out_h, h, &error) || !bnn_tools::WriteFile(out_c, c, &error)) return Fail(error);
  printf("bnn-to-c: %s -> %s, %s (%zu bytes; reference arena %zu layer by layer, %zu patch-based)\n", input.c_str(),
         out_c.c_str(), out_h.c_str(), bytes.size(), layer_arena, patch_arena);
  return 0;
}
