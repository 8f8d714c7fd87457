#include "common/error.h"

#include <c10/util/Exception.h>

#include <exception>

namespace maskmix {

ErrorInfo describeCurrentException() {
  try {
    throw;
  } catch (const Error& e) {
    return {e.code(), e.what()};
  } catch (const c10::OutOfMemoryError& e) {
    // Out of memory is data, not an abort: the caller can shrink the batch and retry.
    return {"CUDA_OOM", e.what_without_backtrace()};
  } catch (const c10::Error& e) {
    return {"INTERNAL", std::string("libtorch: ") + e.what_without_backtrace()};
  } catch (const std::bad_alloc&) {
    return {"OUT_OF_MEMORY", "host memory allocation failed"};
  } catch (const std::exception& e) {
    return {"INTERNAL", e.what()};
  } catch (...) {
    return {"INTERNAL", "unknown native exception"};
  }
}

}  // namespace maskmix
