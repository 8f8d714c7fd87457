// What every model builder shares, language model or not: the check that an asked-for device exists, and the
// lock that makes initial weights a function of the seed alone.
#pragma once

#include <mutex>
#include <string>

namespace maskmix {

// Asked-for CUDA that cannot be had is an error (CUDA_UNAVAILABLE), never a silent CPU run.
void requireDeviceAvailable(const std::string& device);

// libtorch draws initial weights from its global generator; holding this while seeding and building makes a
// model's weights depend on its seed alone even when several models are built at once on different threads.
std::mutex& weightInitMutex();

}  // namespace maskmix
