// Reading maskmix's MASKMIX_* environment switches: the opt-ins and off-switches kept for measuring one code path
// against another (scripts/gpu/*) read them through these, so every switch parses its value the same way.
#pragma once

#include <strings.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace maskmix {

// Whether the variable is set to exactly `value`.
inline bool envIs(const char* name, const char* value) {
  const char* setting = std::getenv(name);
  return setting != nullptr && std::strcmp(setting, value) == 0;
}

// Whether the variable turns something off: 0, false, off or no, in any case.
inline bool envSaysOff(const char* name) {
  const char* setting = std::getenv(name);
  if (setting == nullptr) return false;
  for (const char* off : {"0", "false", "off", "no"})
    if (strcasecmp(setting, off) == 0) return true;
  return false;
}

// The variable as an integer clamped to [lowest, highest]; unset: fallback. Text that is no number reads as 0.
inline long envInt(const char* name, long fallback, long lowest, long highest) {
  const char* setting = std::getenv(name);
  if (setting == nullptr) return fallback;
  return std::min(std::max(std::strtol(setting, nullptr, 10), lowest), highest);
}

}  // namespace maskmix
