# node-gyp build of the CPU addon (`npm run build:gyp`): the same sources (native/sources.txt) and the same libtorch
# discovery (scripts/find-libtorch.mjs) as CMakeLists.txt. CUDA kernels build only through CMake.
{
  "targets": [
    {
      "target_name": "maskmix",
      "sources": ["<!@(node scripts/native-sources.mjs)"],
      "include_dirs": [
        "native",
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!@(node scripts/find-libtorch.mjs --include-dirs)"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS",
        "MASKMIX_VERSION=\"<!(node -p \"require('./package.json').version\")\""
      ],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++1y", "-std=gnu++20"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti", "-O2", "<!@(node scripts/find-libtorch.mjs --cflags)"],
      "libraries": ["<!@(node scripts/find-libtorch.mjs --ldflags)"]
    }
  ]
}
