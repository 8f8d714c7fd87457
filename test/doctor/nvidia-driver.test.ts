// The driver version doctor prints comes from the kernel module's /proc file, in both of its known wordings.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { nvidiaDriverVersion } from '../../lib/doctor.js';

function procFile(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'maskmix-nvidia-')), 'version');
  writeFileSync(path, text);
  return path;
}

describe('nvidiaDriverVersion', () => {
  it('reads the proprietary and the open kernel module wordings', () => {
    expect(nvidiaDriverVersion(procFile('NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.104.05  Sat Aug 19 01:15:15 UTC 2023\nGCC version: gcc 12\n'))).toBe('535.104.05');
    expect(nvidiaDriverVersion(procFile('NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  580.82.07  Release Build  (dvs-builder@U16)\n'))).toBe('580.82.07');
  });

  it('is undefined without a driver or with an unknown text', () => {
    expect(nvidiaDriverVersion('/nonexistent/driver/version')).toBeUndefined();
    expect(nvidiaDriverVersion(procFile('something else\n'))).toBeUndefined();
  });
});
