#include "npy.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "format.h"  // bnn::Crc32, for the zip entries

namespace bnn_tools {
namespace {

std::string NpyHeader(const Array& a) {
  std::string shape = "(";
  for (size_t i = 0; i < a.shape.size(); ++i) shape += std::to_string(a.shape[i]) + (a.shape.size() == 1 ? "," : i + 1 < a.shape.size() ? ", " : "");
  shape += ")";
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
  // Magic (6) + version (2) + length (2) + dict + padding + '\n' = multiple of 64.
  const size_t total = (10 + dict.size() + 1 + 63) / 64 * 64;
  dict.append(total - 10 - dict.size() - 1, ' ');
  dict += '\n';
  std::string h("\x93NUMPY\x01\x00", 8);
  h += static_cast<char>(dict.size() & 0xFF);
  h += static_cast<char>(dict.size() >> 8);
  return h + dict;
}

std::string NpyBytes(const Array& a) {
  std::string bytes = NpyHeader(a);
  bytes.append(reinterpret_cast<const char*>(a.data.data()), a.data.size() * sizeof(float));
  return bytes;
}


// Value of `key` in the header dict, up to the next ',' or '}' (or ')' + 1 for tuples).
bool DictValue(const std::string& dict, const std::string& key, std::string* value) {
  const size_t k = dict.find("'" + key + "'");
  if (k == std::string::npos) return false;
  size_t v = dict.find(':', k);
  if (v == std::string::npos) return false;
  ++v;
  while (v < dict.size() && dict[v] == ' ') ++v;
  size_t end = v;
  if (v < dict.size() && dict[v] == '(') {
    end = dict.find(')', v);
    if (end == std::string::npos) return false;
    ++end;
  } else {
    while (end < dict.size() && dict[end] != ',' && dict[end] != '}') ++end;
  }
  *value = dict.substr(v, end - v);
  return true;
}

}  // namespace

bool WriteFile(const std::string& path, const std::string& bytes, std::string* error) {
  // Write beside the target and rename: an interrupted run never leaves a
  // half-written file under the real name.
  const std::string tmp = path + ".tmp";
  FILE* f = fopen(tmp.c_str(), "wb");
  if (!f) {
    *error = "cannot create " + tmp + ": " + strerror(errno);
    return false;
  }
  const bool ok = fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  if (fclose(f) != 0 || !ok || rename(tmp.c_str(), path.c_str()) != 0) {
    *error = "cannot write " + path + ": " + strerror(errno);
    remove(tmp.c_str());
    return false;
  }
  return true;
}

bool ReadNpy(const std::string& path, Array* a, std::string* error) {
  FILE* f = fopen(path.c_str(), "rb");
  if (!f) {
    *error = "cannot open " + path + ": " + strerror(errno);
    return false;
  }
  std::string bytes;
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
    bytes.append(buf, n);
    if (static_cast<uint64_t>(bytes.size()) > (uint64_t{1} << 34)) break;  // 16 GiB: not an input batch
  }
  fclose(f);
  const std::string bad = path + ": not a float32 .npy file: ";
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0) {
    *error = bad + "missing the NumPy magic";
    return false;
  }
  const int major = static_cast<uint8_t>(bytes[6]);
  size_t header_len, start;
  if (major == 1) {
    header_len = static_cast<uint8_t>(bytes[8]) | (static_cast<size_t>(static_cast<uint8_t>(bytes[9])) << 8);
    start = 10;
  } else if ((major == 2 || major == 3) && bytes.size() >= 12) {
    header_len = 0;
    for (int i = 0; i < 4; ++i) header_len |= static_cast<size_t>(static_cast<uint8_t>(bytes[8 + i])) << (8 * i);
    start = 12;
  } else {
    *error = bad + "unknown format version " + std::to_string(major);
    return false;
  }
  if (header_len > bytes.size() - start) {
    *error = bad + "truncated header";
    return false;
  }
  const std::string dict = bytes.substr(start, header_len);
  std::string descr, order, shape;
  if (!DictValue(dict, "descr", &descr) || !DictValue(dict, "fortran_order", &order) ||
      !DictValue(dict, "shape", &shape)) {
    *error = bad + "malformed header";
    return false;
  }
  if (descr != "'<f4'" && descr != "'float32'") {
    *error = bad + "dtype is " + descr + ", expected '<f4' (convert with x.astype(np.float32))";
    return false;
  }
  if (order != "False") {
    *error = bad + "Fortran order is not supported (use np.ascontiguousarray)";
    return false;
  }
  a->shape.clear();
  uint64_t count = 1;
  for (size_t i = 1; i < shape.size();) {
    while (i < shape.size() && (shape[i] == ' ' || shape[i] == ',')) ++i;
    if (i >= shape.size() || shape[i] == ')') break;
    if (shape[i] < '0' || shape[i] > '9') {
      *error = bad + "malformed shape " + shape;
      return false;
    }
    int64_t d = 0;
    while (i < shape.size() && shape[i] >= '0' && shape[i] <= '9') {
      d = d * 10 + (shape[i++] - '0');
      if (d > (int64_t{1} << 40)) {
        *error = bad + "dimension too large";
        return false;
      }
    }
    a->shape.push_back(d);
    count *= static_cast<uint64_t>(d);
    if (count > (uint64_t{1} << 32)) {
      *error = bad + "too many elements";
      return false;
    }
  }
  const size_t data_start = start + header_len;
  if (bytes.size() - data_start != count * sizeof(float)) {
    *error = bad + "holds " + std::to_string(bytes.size() - data_start) + " data bytes, its shape needs " +
             std::to_string(count * sizeof(float));
    return false;
  }
  a->data.resize(count);
  if (count) memcpy(a->data.data(), bytes.data() + data_start, count * sizeof(float));
  return true;
}

bool WriteNpy(const std::string& path, const Array& a, std::string* error) {
  return WriteFile(path, NpyBytes(a), error);
}

bool WriteNpz(const std::string& path, const std::vector<std::pair<std::string, Array>>& arrays,
              std::string* error) {
  // A zip archive of stored (uncompressed) entries, as numpy.savez writes.
  auto le16 = [](std::string& s, uint32_t v) { s += static_cast<char>(v & 0xFF); s += static_cast<char>((v >> 8) & 0xFF); };
  auto le32 = [&](std::string& s, uint32_t v) { le16(s, v & 0xFFFF); le16(s, v >> 16); };
  std::string zip, central;
  for (const auto& [name, array] : arrays) {
    const std::string file = name + ".npy";
    const std::string body = NpyBytes(array);
    const uint32_t crc = bnn::Crc32(body.data(), body.size());
    const uint32_t offset = static_cast<uint32_t>(zip.size());
    std::string local;
    le32(local, 0x04034b50); le16(local, 20); le16(local, 0); le16(local, 0); le16(local, 0); le16(local, 0x21);
    le32(local, crc); le32(local, static_cast<uint32_t>(body.size())); le32(local, static_cast<uint32_t>(body.size()));
    le16(local, static_cast<uint32_t>(file.size())); le16(local, 0);
    zip += local + file + body;
    le32(central, 0x02014b50); le16(central, 20); le16(central, 20); le16(central, 0); le16(central, 0);
    le16(central, 0); le16(central, 0x21); le32(central, crc); le32(central, static_cast<uint32_t>(body.size()));
    le32(central, static_cast<uint32_t>(body.size())); le16(central, static_cast<uint32_t>(file.size()));
    le16(central, 0); le16(central, 0); le16(central, 0); le16(central, 0); le32(central, 0); le32(central, offset);
    central += file;
  }
  std::string end;
  le32(end, 0x06054b50); le16(end, 0); le16(end, 0);
  le16(end, static_cast<uint32_t>(arrays.size())); le16(end, static_cast<uint32_t>(arrays.size()));
  le32(end, static_cast<uint32_t>(central.size())); le32(end, static_cast<uint32_t>(zip.size())); le16(end, 0);
  return WriteFile(path, zip + central + end, error);
}

}  // namespace bnn_tools
