#include "common/error.h"

#include <c10/util/Exception.h>

#include <exception>
#include <string>

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
    // libtorch reports these two as plain c10::Errors; only their text tells them apart from real bugs.
    const std::string message = e.what_without_backtrace();
    bool hostOutOfMemory = message.find("DefaultCPUAllocator: can't allocate memory") != std::string::npos ||
                           message.find("DefaultCPUAllocator: not enough memory") != std::string::npos;
    if (hostOutOfMemory) return {"OUT_OF_MEMORY", "host memory allocation failed: " + message};
    if (message.find("not linked with support for cuda") != std::string::npos) return {"CUDA_UNAVAILABLE", message};
    return {"INTERNAL", "libtorch: " + message};
  } catch (const std::bad_alloc&) {
    return {"OUT_OF_MEMORY", "host memory allocation failed"};
  } catch (const std::exception& e) {
    return {"INTERNAL", e.what()};
  } catch (...) {
    return {"INTERNAL", "unknown native exception"};
  }
}

}  // namespace maskmix
