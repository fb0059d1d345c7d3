// JSON output of the apps: string escaping, nothing more (the apps write
// their documents with printf-style code).
#pragma once

#include <stdio.h>

#include <string>

namespace bnn_vision {

// `s` as a JSON string literal, quotes included.
inline std::string JsonString(const std::string& s) {
  std::string r = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      r += '\\';
      r += char(c);
    } else if (c < 0x20) {
      char buf[8];
      snprintf(buf, sizeof buf, "\\u%04x", c);
      r += buf;
    } else {
      r += char(c);
    }
  }
  return r + "\"";
}

}  // namespace bnn_vision
