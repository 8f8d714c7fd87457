#!/usr/bin/env node
// The `maskmix` command: runs the compiled CLI (npm run build:ts makes dist/).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const entry = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'lib', 'cli', 'main.js');
if (!existsSync(entry)) {
  process.stderr.write('maskmix: the TypeScript sources are not compiled yet; run `npm run build` in the package folder\n');
  process.exit(1);
}
const { main } = await import(pathToFileURL(entry).href);
await main(process.argv);
