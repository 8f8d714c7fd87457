// Errors that native code raises on purpose carry a stable code (mirrored by MaskmixErrorCode in lib/errors.ts).
// They are C++ exceptions only inside the addon: every entry point catches them (see guard.h / promise_worker.h)
// and hands JavaScript a plain Error with `code` set, so no C++ exception ever crosses N-API.
#pragma once

#include <stdexcept>
#include <string>

namespace maskmix {

class Error : public std::runtime_error {
 public:
  Error(std::string code, const std::string& message) : std::runtime_error(message), code_(std::move(code)) {}
  const std::string& code() const { return code_; }

 private:
  std::string code_;
};

// A failure described as code + message; what an exception becomes once caught.
struct ErrorInfo {
  std::string code;
  std::string message;
};

// Converts whatever was thrown (our Error, c10 errors including out-of-memory, std exceptions) into code + message.
// Call only from inside a catch block.
ErrorInfo describeCurrentException();

[[noreturn]] inline void fail(const std::string& code, const std::string& message) { throw Error(code, message); }

inline void require(bool condition, const std::string& message, const char* code = "INVALID_ARGUMENT") {
  if (!condition) throw Error(code, message);
}

}  // namespace maskmix
