#!/usr/bin/env node
// Prints the addon's source files (native/sources.txt) for binding.gyp, so node-gyp and CMake build one list.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const lines = readFileSync(join(root, 'native', 'sources.txt'), 'utf8').split('\n');
const sources = lines.map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
process.stdout.write(sources.map((s) => `native/${s}`).join(' ') + '\n');
