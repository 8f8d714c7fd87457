/**
 * Test-loads an addon in a child process before the user's process touches it: a binary that does not match its
 * libtorch can abort or crash while loading, and then it is the child that dies, not the user's program. The
 * verdict is cached per (addon file, libtorch) so the probe runs once; only successes are cached, so fixing an
 * install takes effect at once.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

import type { LibtorchInfo } from '../../scripts/find-libtorch.mjs';
import { PRELOAD_SOURCE } from './preload.js';

export interface ProbeVerdict {
  ok: boolean;
  /** libtorch version the addon reported, when it loaded. */
  torchVersion?: string;
  /** Why it did not load: the child's error, or the signal that killed it. */
  error?: string;
}

function cacheFile(): string {
  const base = process.env.XDG_CACHE_HOME || (homedir() ? join(homedir(), '.cache') : tmpdir());
  return join(base, 'maskmix', 'addon-verdicts.json');
}

function cacheKey(addonPath: string, torch: LibtorchInfo): string {
  const stat = statSync(addonPath);
  return createHash('sha256').update([addonPath, stat.size, stat.mtimeMs, torch.root, torch.version, process.version].join('|')).digest('hex');
}

function readCache(): Record<string, ProbeVerdict> {
  try {
    return JSON.parse(readFileSync(cacheFile(), 'utf8')) as Record<string, ProbeVerdict>;
  } catch {
    return {};
  }
}

function writeCache(cache: Record<string, ProbeVerdict>): void {
  try {
    mkdirSync(join(cacheFile(), '..'), { recursive: true });
    writeFileSync(cacheFile(), JSON.stringify(cache, null, 1));
  } catch {
    // A cache we cannot write only costs a probe next time.
  }
}

export function probeAddon(addonPath: string, torch: LibtorchInfo): ProbeVerdict {
  const key = cacheKey(addonPath, torch);
  const cache = readCache();
  if (cache[key]) return cache[key];
  const script = `${PRELOAD_SOURCE}
    preload(JSON.parse(process.argv[1]));
    const addon = require(process.argv[2]);
    process.stdout.write(JSON.stringify({ ok: true, torchVersion: addon.runtimeInfo().torchVersion }));`;
  const child = spawnSync(process.execPath, ['-e', script, JSON.stringify(torch.libraries), addonPath], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  let verdict: ProbeVerdict;
  if (child.status === 0 && child.stdout) {
    verdict = JSON.parse(child.stdout) as ProbeVerdict;
  } else {
    const reason = child.signal
      ? `the test load was killed by ${child.signal}`
      : (child.stderr || child.error?.message || `exit code ${child.status}`).split('\n').find((l) => /error|Error|undefined symbol|cannot open|invalid ELF/.test(l)) ??
        (child.stderr || '').trim().split('\n')[0];
    verdict = { ok: false, error: reason.trim() };
  }
  if (verdict.ok) {
    cache[key] = verdict;
    writeCache(cache);
  }
  return verdict;
}
