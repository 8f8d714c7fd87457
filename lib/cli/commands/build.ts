import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

import type { Command } from 'commander';

import { MaskmixError } from '../../errors.js';
import { packageRoot } from '../../native.js';
import { log } from '../output.js';

export function registerBuild(program: Command): void {
  program
    .command('build')
    .summary('build the native addon from source for the libtorch on this machine')
    .description(
      'Build the native addon from source (cmake-js + CMake + a C++17 compiler; CUDA kernels when the libtorch found ' +
        'has CUDA) against the libtorch that `maskmix doctor` reports. Needed only when no shipped prebuild fits.',
    )
    .action(() => {
      const root = packageRoot();
      let cmakeJs: string;
      try {
        cmakeJs = join(dirname(createRequire(import.meta.url).resolve('cmake-js/package.json')), 'bin', 'cmake-js');
      } catch {
        throw new MaskmixError('NATIVE_UNAVAILABLE', 'cmake-js is not installed beside maskmix; run `npm install cmake-js` and try again');
      }
      log(`building the addon in ${root} …`);
      try {
        execFileSync(process.execPath, [cmakeJs, 'compile', '--out', 'build'], { cwd: root, stdio: 'inherit' });
      } catch {
        throw new MaskmixError('NATIVE_UNAVAILABLE', 'the source build failed (see the compiler output above); `maskmix doctor` shows the libtorch it used');
      }
      log('built build/Release/maskmix.node; `maskmix doctor` checks it');
    });
}
