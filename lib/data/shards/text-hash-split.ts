/**
 * The train/validation split of a document stream whose length is not known in advance. Each document's side is
 * decided by a seeded hash of its text alone, so the split does not depend on document order or on how the data
 * is cut into files, and copies of one text (common in web corpora) can never sit on both sides.
 */
import { createHash } from 'node:crypto';

import { check } from '../../errors.js';

/**
 * Whether a document goes to validation: true for about `valFraction` of distinct texts. The same text, seed and
 * fraction always give the same answer, on every machine.
 */
export function isValidationText(text: string, seed: number, valFraction: number): boolean {
  check(valFraction >= 0 && valFraction < 1, `valFraction must be in [0, 1), got ${valFraction}`);
  if (valFraction === 0) return false;
  return textSplitScore(text, seed) < valFraction;
}

/**
 * The seeded hash of `text` as a uniform number in [0, 1): a document goes to validation when it is below
 * valFraction, so the score also says how near a document is to the other side.
 */
export function textSplitScore(text: string, seed: number): number {
  // The seed goes in first, so different seeds give unrelated splits; the digest's first 32 bits act as uniform.
  const digest = createHash('sha256').update(`${seed}\u0000`).update(text).digest();
  return digest.readUInt32LE(0) / 4294967296;
}
