#!/usr/bin/env node
// Finds the libtorch that maskmix builds against and loads at run time. One implementation serves CMake
// (execute_process), node-gyp (<!@(...) commands in binding.gyp) and lib/native.ts (`maskmix doctor`), so the
// three can never disagree about which libtorch they use.
//
// Order: MASKMIX_LIBTORCH or LIBTORCH → the `torch` package of python3 → the system (Debian's libtorch-dev).
// Every attempt is recorded, so a failure can say what was looked for and where.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * @typedef {object} LibtorchAttempt
 * @property {string} source  where we looked ('env:MASKMIX_LIBTORCH', 'python3', 'system')
 * @property {string} path    the folder we looked in ('' when there was none to look in)
 * @property {string} result  'found' or why not
 *
 * @typedef {object} LibtorchInfo
 * @property {string} source      which attempt succeeded
 * @property {string} root        the libtorch folder (include/, lib/ inside; '/usr' for the system)
 * @property {string[]} includeDirs
 * @property {string} libDir      folder of libtorch.so, libc10.so ...
 * @property {string} cmakeDir    folder of TorchConfig.cmake
 * @property {string} version     e.g. '1.13.0'
 * @property {boolean} cuda       whether libtorch_cuda is present
 * @property {string|null} cudaVersion  CUDA runtime version libtorch was built with, when known
 * @property {0|1} cxx11Abi       the _GLIBCXX_USE_CXX11_ABI libtorch was built with
 * @property {string[]} defines   compile definitions libtorch's CMake targets hand to their users that our sources
 *                                test (USE_DISTRIBUTED, USE_C10D_GLOO: which c10d backends exist)
 * @property {string[]} libraries shared libraries to link, in load order (absolute paths)
 * @property {LibtorchAttempt[]} attempts
 */

const SYSTEM_CMAKE_DIRS = [
  '/usr/lib/x86_64-linux-gnu/cmake/Torch',
  '/usr/lib/aarch64-linux-gnu/cmake/Torch',
  '/usr/lib64/cmake/Torch',
  '/usr/lib/cmake/Torch',
  '/usr/share/cmake/Torch',
];

/**
 * Reads TORCH_VERSION_{MAJOR,MINOR,PATCH} from torch/version.h (1.x) or torch/headeronly/version.h (2.9+, where
 * torch/version.h only includes it) under one of the include dirs.
 */
function readVersion(includeDirs) {
  const files = includeDirs.flatMap((dir) => [join(dir, 'torch', 'version.h'), join(dir, 'torch', 'headeronly', 'version.h')]);
  for (const file of files) {
    if (!existsSync(file)) continue;
    const text = readFileSync(file, 'utf8');
    const part = (name) => text.match(new RegExp(`#define TORCH_VERSION_${name}\\s+(\\d+)`))?.[1];
    const [major, minor, patch] = [part('MAJOR'), part('MINOR'), part('PATCH')];
    if (major && minor) return `${major}.${minor}.${patch ?? 0}`;
  }
  return null;
}

/** The C++ ABI flag libtorch was built with, as its CMake config records it (default 1: both 1.13 and 2.x use it). */
function readCxx11Abi(cmakeDir) {
  const file = join(cmakeDir, 'TorchConfig.cmake');
  if (!existsSync(file)) return 1;
  const m = readFileSync(file, 'utf8').match(/_GLIBCXX_USE_CXX11_ABI=([01])/);
  return m ? /** @type {0|1} */ (Number(m[1])) : 1;
}

/**
 * The c10d-related compile definitions torch_cpu's imported target carries (Caffe2Targets.cmake). CMake builds get
 * them through the target; node-gyp gets them from here (--cflags), so both see the same backends.
 */
function readTorchDefines(cmakeDir) {
  const file = join(cmakeDir, '..', 'Caffe2', 'Caffe2Targets.cmake');
  if (!existsSync(file)) return [];
  const block = readFileSync(file, 'utf8').match(/set_target_properties\(torch_cpu PROPERTIES([\s\S]*?)\n\)/);
  const defines = block?.[1].match(/INTERFACE_COMPILE_DEFINITIONS "([^"]*)"/)?.[1].split(';') ?? [];
  return defines.filter((d) => d === 'USE_DISTRIBUTED' || d.startsWith('USE_C10D_'));
}

/**
 * The folder holding nccl.h, which c10d's ProcessGroupNCCL.hpp includes. pip's torch does not ship it in
 * torch/include: it comes with the nvidia-nccl package beside torch (site-packages/nvidia/nccl/include).
 */
function findNcclInclude(info) {
  const candidates = [
    process.env.NCCL_INCLUDE_DIR,
    process.env.NCCL_HOME && join(process.env.NCCL_HOME, 'include'),
    ...info.includeDirs,
    join(info.root, '..', 'nvidia', 'nccl', 'include'),
    '/usr/include',
    '/usr/local/cuda/include',
    '/usr/local/include',
  ].filter(Boolean);
  return candidates.find((dir) => existsSync(join(dir, 'nccl.h'))) ?? '';
}

/**
 * CUDA version a CUDA build of libtorch was made with: the python package records it in version.py
 * (`cuda = '13.0'`), a libtorch zip in build-version / its Caffe2 CMake config.
 */
function readCudaVersion(root, cmakeDir) {
  const versionPy = join(root, 'version.py');
  if (existsSync(versionPy)) {
    const m = readFileSync(versionPy, 'utf8').match(/^cuda(?::\s*\S+)?\s*=\s*'([0-9.]+)'/m);
    if (m) return m[1];
  }
  const buildVersion = join(root, 'build-version');
  if (existsSync(buildVersion)) {
    const m = readFileSync(buildVersion, 'utf8').match(/\+cu(\d+)(\d)\b/);
    if (m) return `${m[1]}.${m[2]}`;
  }
  const caffe2 = join(cmakeDir, '..', 'Caffe2', 'Caffe2Config.cmake');
  if (existsSync(caffe2)) {
    const m = readFileSync(caffe2, 'utf8').match(/set\(CUDA_VERSION "?([0-9.]+)"?\)/);
    if (m) return m[1];
  }
  return null;
}

/** Shared libraries of one libtorch, absolute paths; the unversioned .so first, else the newest versioned one. */
function findLibraries(libDir) {
  const names = ['c10', 'torch_cpu', 'c10_cuda', 'torch_cuda', 'torch'];
  let entries = [];
  try {
    entries = readdirSync(libDir);
  } catch {
    return [];
  }
  const out = [];
  for (const name of names) {
    const plain = `lib${name}.so`;
    if (entries.includes(plain)) {
      out.push(join(libDir, plain));
      continue;
    }
    const versioned = entries.filter((e) => e.startsWith(`${plain}.`)).sort((a, b) => a.length - b.length);
    if (versioned.length) out.push(join(libDir, versioned[0]));
  }
  return out;
}

/** Describes a libtorch laid out as the zip or the python package ships it: include/, lib/, share/cmake/Torch. */
function fromRoot(source, root, attempts) {
  const abs = resolve(root);
  const includeDirs = [join(abs, 'include'), join(abs, 'include', 'torch', 'csrc', 'api', 'include')];
  const libDir = join(abs, 'lib');
  const cmakeDir = join(abs, 'share', 'cmake', 'Torch');
  if (!existsSync(join(cmakeDir, 'TorchConfig.cmake'))) {
    attempts.push({ source, path: abs, result: 'no share/cmake/Torch/TorchConfig.cmake there' });
    return null;
  }
  return describe(source, abs, includeDirs, libDir, cmakeDir, attempts);
}

function describe(source, root, includeDirs, libDir, cmakeDir, attempts) {
  const version = readVersion(includeDirs);
  if (!version) {
    attempts.push({ source, path: root, result: 'no torch/version.h in its include folders' });
    return null;
  }
  const libraries = findLibraries(libDir);
  if (!libraries.some((l) => l.includes('libtorch_cpu'))) {
    attempts.push({ source, path: root, result: `no libtorch_cpu.so in ${libDir}` });
    return null;
  }
  attempts.push({ source, path: root, result: 'found' });
  const cuda = libraries.some((l) => l.includes('libtorch_cuda'));
  return {
    source,
    root,
    includeDirs,
    libDir,
    cmakeDir,
    version,
    cuda,
    cudaVersion: cuda ? readCudaVersion(root, cmakeDir) : null,
    cxx11Abi: readCxx11Abi(cmakeDir),
    defines: readTorchDefines(cmakeDir),
    libraries,
    attempts,
  };
}

function fromPython(attempts) {
  const python = process.env.MASKMIX_PYTHON || 'python3';
  let folder;
  try {
    folder = execFileSync(python, ['-c', 'import os, torch; print(os.path.dirname(torch.__file__))'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 60_000,
    }).trim();
  } catch {
    attempts.push({ source: 'python3', path: '', result: `\`${python} -c "import torch"\` failed (no torch package)` });
    return null;
  }
  return fromRoot('python3', folder, attempts);
}

function fromSystem(attempts) {
  for (const cmakeDir of SYSTEM_CMAKE_DIRS) {
    if (!existsSync(join(cmakeDir, 'TorchConfig.cmake'))) continue;
    const libDir = resolve(cmakeDir, '..', '..');
    const includeDirs = ['/usr/include', '/usr/include/torch/csrc/api/include'];
    return describe('system', '/usr', includeDirs, libDir, cmakeDir, attempts);
  }
  attempts.push({ source: 'system', path: SYSTEM_CMAKE_DIRS.join(', '), result: 'no TorchConfig.cmake (apt-get install libtorch-dev)' });
  return null;
}

/**
 * Finds libtorch. Returns the description, or null with `attempts` filled in so the caller can explain.
 * @param {{ attempts?: LibtorchAttempt[], skipPython?: boolean }} [options]
 * @returns {LibtorchInfo|null}
 */
export function findLibtorch(options = {}) {
  const attempts = options.attempts ?? [];
  for (const name of ['MASKMIX_LIBTORCH', 'LIBTORCH']) {
    const value = process.env[name];
    if (!value) continue;
    // An explicit setting is final: falling through to another libtorch would build against the wrong one.
    return fromRoot(`env:${name}`, value, attempts);
  }
  if (!options.skipPython && process.env.MASKMIX_SKIP_PYTHON_TORCH !== '1') {
    const found = fromPython(attempts);
    if (found) return found;
  }
  return fromSystem(attempts);
}

/** One line per attempt, for error messages. */
export function describeAttempts(attempts) {
  return attempts.map((a) => `  - ${a.source}${a.path ? ` (${a.path})` : ''}: ${a.result}`).join('\n');
}

// Command-line use by CMakeLists.txt and binding.gyp.
const isMain = process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const attempts = [];
  const info = findLibtorch({ attempts });
  const flag = process.argv[2] ?? '--json';
  if (!info) {
    process.stderr.write(`maskmix: libtorch not found. Looked in:\n${describeAttempts(attempts)}\n` +
      'Fix: apt-get install libtorch-dev libopenblas0-pthread, or set MASKMIX_LIBTORCH to a libtorch folder.\n');
    process.exit(1);
  }
  const print = (s) => process.stdout.write(`${s}\n`);
  switch (flag) {
    case '--json': print(JSON.stringify(info, null, 2)); break;
    case '--cmake-dir': print(info.cmakeDir); break;
    case '--include-dirs': print(info.includeDirs.join(' ')); break;
    case '--lib-dir': print(info.libDir); break;
    case '--cflags': print([`-D_GLIBCXX_USE_CXX11_ABI=${info.cxx11Abi}`, ...info.defines.map((d) => `-D${d}`)].join(' ')); break;
    // node-gyp: link the libraries by path and record libtorch's folder as RPATH of this source build.
    case '--ldflags': print([`-L${info.libDir}`, `-Wl,-rpath,${info.libDir}`, ...info.libraries.map((l) => `-l:${l.split('/').pop()}`)].join(' ')); break;
    case '--cuda': print(info.cuda ? '1' : '0'); break;
    case '--nccl-include': print(findNcclInclude(info)); break;
    default:
      process.stderr.write(`unknown flag ${flag}; use --json, --cmake-dir, --include-dirs, --lib-dir, --cflags, --ldflags, --cuda, --nccl-include\n`);
      process.exit(2);
  }
}
