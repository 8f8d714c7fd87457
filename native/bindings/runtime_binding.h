// What the loaded libtorch is and can do: version, threads, CUDA devices.
#pragma once

#include <napi.h>

namespace maskmix {
void defineRuntime(Napi::Env env, Napi::Object exports);
}
