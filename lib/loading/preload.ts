/**
 * Loads libtorch's shared libraries by absolute path, globally, before the addon: the addon then finds them
 * already loaded (by soname) and needs no RPATH and no LD_LIBRARY_PATH. Node's process.dlopen loads any shared
 * library; for one that is not a Node addon it then throws "did not self-register", which is expected here.
 */
import { constants } from 'node:os';

export function preloadLibraries(paths: readonly string[]): void {
  const flags = constants.dlopen.RTLD_NOW | constants.dlopen.RTLD_GLOBAL;
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
  const flags = constants.dlopen.RTLD_NOW | constants.dlopen.RTLD_GLOBAL;
  for (const path of paths) {
    try { process.dlopen({ exports: {} }, path, flags); }
    catch (error) { if (!/self-register|napi_register_module/i.test(error.message)) throw error; }
  }
}`;
