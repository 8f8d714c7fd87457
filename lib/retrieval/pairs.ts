/**
 * Retrieval data: (query, passage) pairs, from the user's JSONL files or built from the embedded Brown corpus by
 * taking one sentence out of a short passage as the query and keeping the rest of the passage as its target.
 */
import { loadBrownDocuments } from '../data/brown.js';
import { mulberry32 } from '../data/random.js';
import { check, MaskmixError } from '../errors.js';
import { readJsonlObjects } from '../data/jsonl-source.js';

export interface RetrievalPair {
  query: string;
  passage: string;
  /** Where the pair came from (a Brown document id, or `file:line`); pairs of one source split together. */
  source?: string;
}

/**
 * Reads a JSONL file of `{"query": …, "passage": …}` objects (other fields are ignored; `.gz` is decompressed).
 * Throws `NOT_FOUND` for a missing file and `DATA_INVALID` naming `file:line` for a line that is not such an
 * object, has an empty text, or when the file holds no pair.
 */
export async function readRetrievalPairs(path: string): Promise<RetrievalPair[]> {
  const pairs: RetrievalPair[] = [];
  for await (const { record, where } of readJsonlObjects(path, () => 'expected an object {"query": …, "passage": …}')) {
    for (const field of ['query', 'passage']) {
      const text = record[field];
      if (typeof text !== 'string') throw new MaskmixError('DATA_INVALID', `${where}: "${field}" must be a string, got ${text === undefined ? 'nothing' : typeof text}`);
      if (text.trim() === '') throw new MaskmixError('DATA_INVALID', `${where}: "${field}" is empty`);
    }
    pairs.push({ query: record.query as string, passage: record.passage as string, source: where });
  }
  if (pairs.length === 0) throw new MaskmixError('DATA_INVALID', `${path} holds no {"query", "passage"} pairs`);
  return pairs;
}

/** Splits prose into sentences at ., ? or ! (optionally closed by a quote) followed by a capital or a quote. */
export function splitSentences(text: string): string[] {
  return text
    .split(/(?<=[.?!]["')]?)\s+(?=["'(]?[A-Z0-9])/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

export interface BrownPairsOptions {
  /** Sentences per passage window, the query included (default 3: a query and a two-sentence target). */
  sentences?: number;
  /** Sentences shorter than this many words are not used (headlines, fragments); default 5. */
  minWords?: number;
  /** Seed of which sentence of each window becomes the query (default 0). */
  seed?: number;
  /** Use only the first N Brown documents. */
  documents?: number;
}

/**
 * The built-in retrieval set: every Brown document's sentences cut into consecutive windows; from each window one
 * sentence (drawn with `seed`) is the query and the others, in order, are its passage.
 */
export function brownRetrievalPairs(options: BrownPairsOptions = {}): RetrievalPair[] {
  const window = options.sentences ?? 3;
  const minWords = options.minWords ?? 5;
  check(Number.isInteger(window) && window >= 2, `a passage window needs at least 2 sentences, got ${window}`);
  const rng = mulberry32(options.seed ?? 0);
  const pairs: RetrievalPair[] = [];
  for (const doc of loadBrownDocuments({ maxDocuments: options.documents })) {
    const sentences = doc.text
      .split(/\n\s*\n/)
      .flatMap(splitSentences)
      .filter((s) => s.split(/\s+/).length >= minWords);
    for (let start = 0; start + window <= sentences.length; start += window) {
      const group = sentences.slice(start, start + window);
      const pick = Math.floor(rng() * window);
      pairs.push({ query: group[pick], passage: group.filter((_, i) => i !== pick).join(' '), source: doc.id });
    }
  }
  return pairs;
}

/**
 * Splits pairs into train and evaluation sets by source (all pairs of a Brown document, or of a JSONL file line,
 * go to one side), drawing the evaluation sources with `seed` until at least `evalFraction` of the pairs are held
 * out.
 */
export function splitPairs(pairs: readonly RetrievalPair[], options: { evalFraction?: number; seed?: number } = {}): { train: RetrievalPair[]; eval: RetrievalPair[] } {
  const fraction = options.evalFraction ?? 0.1;
  check(fraction > 0 && fraction < 1, `evalFraction must be in (0, 1), got ${fraction}`);
  const sources = [...new Set(pairs.map((p, i) => p.source ?? String(i)))];
  const rng = mulberry32(options.seed ?? 0);
  for (let i = sources.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [sources[i], sources[j]] = [sources[j], sources[i]];
  }
  const bySource = new Map<string, number>();
  pairs.forEach((p, i) => bySource.set(p.source ?? String(i), (bySource.get(p.source ?? String(i)) ?? 0) + 1));
  const held = new Set<string>();
  let count = 0;
  for (const s of sources) {
    if (count >= fraction * pairs.length) break;
    held.add(s);
    count += bySource.get(s)!;
  }
  const train: RetrievalPair[] = [];
  const evalSet: RetrievalPair[] = [];
  pairs.forEach((p, i) => (held.has(p.source ?? String(i)) ? evalSet : train).push(p));
  return { train, eval: evalSet };
}
