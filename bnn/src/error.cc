#include "error.h"

#include <stdio.h>

namespace bnn {

bnn_status VFail(ErrorBuffer* error, bnn_status status, const char* format, va_list args) {
  if (!error) return status;
#if defined(BNN_STRIP_ERROR_STRINGS)
  (void)format;
  (void)args;
  snprintf(error->text, sizeof error->text, "%s", bnn_status_string(status));
#else
  vsnprintf(error->text, sizeof error->text, format, args);
#endif
  return status;
}

bnn_status Fail(ErrorBuffer* error, bnn_status status, const char* format, ...) {
  va_list args;
  va_start(args, format);
  VFail(error, status, format, args);
  va_end(args);
  return status;
}

}  // namespace bnn
