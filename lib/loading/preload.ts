/**
 * Loads libtorch's shared libraries by absolute path, globally, before the addon: the addon then finds them
 * already loaded (by soname) and needs no RPATH and no LD_LIBRARY_PATH. Node's process.dlopen loads any shared
 * library; for one that is not a Node addon it then throws "did not self-register", which is expected here.
 * Node then dlcloses the handle, which would unload a library nothing else depends on (PyTorch's libtorch.so, the
 * addon's own dependency, was: the addon then failed with "libtorch.so: cannot open shared object file" wherever
 * libtorch is not on the default search path). RTLD_NODELETE keeps every library loaded; Node's constants lack it,
 * its value is 0x1000 in glibc and musl alike.
 */
import { constants } from 'node:os';

const RTLD_NODELETE = 0x1000;

export function preloadLibraries(paths: readonly string[]): void {
  const flags = constants.dlopen.RTLD_NOW | constants.dlopen.RTLD_GLOBAL | RTLD_NODELETE;
  for (const path of paths) {
    try {
      process.dlopen({ exports: {} } as NodeJS.Module, path, flags);
    } catch (error) {
      const message = (error as Error).message;
      if (!/self-register|napi_register_module/i.test(message)) throw error;
    }
  }
}

/** The same, as source text for a child process (`node -e`). */
export const PRELOAD_SOURCE = `
function preload(paths) {
  const { constants } = require('node:os');
  const flags = constants.dlopen.RTLD_NOW | constants.dlopen.RTLD_GLOBAL | ${RTLD_NODELETE};
  for (const path of paths) {
    try { process.dlopen({ exports: {} }, path, flags); }
    catch (error) { if (!/self-register|napi_register_module/i.test(error.message)) throw error; }
  }
}`;
