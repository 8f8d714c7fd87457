#include "dist/distributed_error.h"

#include <c10/util/Exception.h>

#include <algorithm>
#include <cctype>

#include "common/error.h"

namespace maskmix {

namespace {
bool mentionsTimeout(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text.find("timed out") != std::string::npos || text.find("timeout") != std::string::npos;
}

// c10d messages can run to many lines (backtraces, hints); the first line says what happened.
std::string firstLine(const std::string& text) {
  size_t end = text.find('\n');
  return end == std::string::npos ? text : text.substr(0, end);
}
}  // namespace

void rethrowAsDistributedError(const std::string& operation) {
  std::string message;
  try {
    throw;
  } catch (const Error&) {
    throw;
  } catch (const c10::Error& e) {
    message = firstLine(e.what_without_backtrace());
  } catch (const std::exception& e) {
    message = firstLine(e.what());
  } catch (...) {
    message = "unknown failure";
  }
  fail(mentionsTimeout(message) ? "DISTRIBUTED_TIMEOUT" : "DISTRIBUTED", operation + " failed: " + message);
}

}  // namespace maskmix
