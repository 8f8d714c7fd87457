// Functional ops on Tensor handles, synchronous: meant for small tensors (tests, checks), not training loops.
#pragma once

#include <napi.h>

namespace maskmix {
void defineOps(Napi::Env env, Napi::Object exports);
}
