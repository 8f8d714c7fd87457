/**
 * Which prebuilt addon fits a libtorch: prebuilds are keyed by platform, architecture, libtorch major.minor and
 * CUDA version (`linux-x64-torch1.13-cpu`, `linux-x64-torch2.11-cu13.0`), since an addon links libtorch's C++
 * ABI, which changes between minor versions.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { LibtorchInfo } from '../../scripts/find-libtorch.mjs';

/** What a prebuild records about itself (prebuilds/<key>/info.json). */
export interface PrebuildInfo {
  key: string;
  torchVersion: string;
  cuda: string | null;
  cxx11Abi: 0 | 1;
  builtAt: string;
  cudaArchitectures?: string;
}

export function prebuildKey(torch: Pick<LibtorchInfo, 'version' | 'cuda' | 'cudaVersion'>): string {
  const [major, minor] = torch.version.split('.');
  const variant = torch.cuda ? `cu${torch.cudaVersion ?? 'unknown'}` : 'cpu';
  return `${process.platform}-${process.arch}-torch${major}.${minor}-${variant}`;
}

export function prebuildDir(packageRoot: string, key: string): string {
  return join(packageRoot, 'prebuilds', key);
}

export function readPrebuildInfo(dir: string): PrebuildInfo | undefined {
  const file = join(dir, 'info.json');
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as PrebuildInfo;
  } catch {
    return undefined;
  }
}
