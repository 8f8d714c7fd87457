// c10d reports rendezvous, collective and peer failures as c10::Error (or std::runtime_error from Gloo). Inside
// native/dist every such failure becomes a maskmix::Error with code DISTRIBUTED_TIMEOUT (a wait ran out) or
// DISTRIBUTED (anything else), and a message saying which operation failed on which rank.
#pragma once

#include <string>

namespace maskmix {

// Rethrows the exception being handled as a maskmix::Error; call only from inside a catch block.
[[noreturn]] void rethrowAsDistributedError(const std::string& operation);

// Runs `body`; whatever it throws comes out as a maskmix::Error (our own errors pass through unchanged).
template <typename Body>
auto translateDistributedErrors(const std::string& operation, Body&& body) -> decltype(body()) {
  try {
    return body();
  } catch (...) {
    rethrowAsDistributedError(operation);
  }
}

}  // namespace maskmix
