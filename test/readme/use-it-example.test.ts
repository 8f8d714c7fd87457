// The README's first TypeScript example ("Use it") runs as written: the block is read from README.md, its
// `'maskmix'` import pointed at this checkout and its output folder at a temporary one.
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..', '..');

function useItExample(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Use it'));
  const match = /From TypeScript:\s*```ts\n([\s\S]*?)```/.exec(section);
  if (!match) throw new Error("README.md has no TypeScript block under '## Use it'");
  return match[1];
}

describe("README 'Use it' example", () => {
  it('trains a step, runs a forward pass and saves the model into a folder it makes', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'maskmix-readme-')), 'runs', 'mine');
    const code = useItExample()
      .replace("from 'maskmix'", `from ${JSON.stringify(join(root, 'lib', 'index.ts'))}`)
      .replace("'runs/mine'", JSON.stringify(out));
    const file = join(root, 'test', 'readme', '.use-it-example.generated.ts');
    writeFileSync(file, `${code}\nexport const result = { loss, gradNorm, shape: logits.shape };\n`);
    const { result } = (await import(file)) as { result: { loss: number; gradNorm: number; shape: number[] } };
    expect(Number.isFinite(result.loss)).toBe(true);
    expect(result.gradNorm).toBeGreaterThan(0);
    expect(result.shape).toEqual([1, 128, 4096]);
    for (const f of ['config.json', 'model.safetensors']) expect(existsSync(join(out, f))).toBe(true);
  });
});
