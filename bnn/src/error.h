// Error text for the C API: a fixed buffer, formatted with printf syntax.
// BNN_STRIP_ERROR_STRINGS keeps only the status codes (for small MCUs).
#pragma once

#include <stdarg.h>
#include <stddef.h>

#include "bnn/bnn.h"

namespace bnn {

struct ErrorBuffer {
  char text[256];
};

#if defined(__GNUC__)
#define BNN_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define BNN_PRINTF(f, a)
#endif

// Writes the message and returns `status`, so callers can `return Fail(...)`.
bnn_status Fail(ErrorBuffer* error, bnn_status status, const char* format, ...) BNN_PRINTF(3, 4);
bnn_status VFail(ErrorBuffer* error, bnn_status status, const char* format, va_list args);

}  // namespace bnn
