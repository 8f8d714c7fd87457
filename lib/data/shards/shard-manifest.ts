/**
 * manifest.json of a token-shard folder: what the shards hold (vocabulary, dtype, counts, checksums) and how the
 * documents were split. The writer saves it last, so a folder without one is an interrupted or foreign folder.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { z } from 'zod';

import { MaskmixError } from '../../errors.js';
import { fileError } from '../../io/file-errors.js';

/** The manifest's file name inside a shard folder. */
export const MANIFEST_FILE = 'manifest.json';
/** The `format` field every manifest carries. */
export const MANIFEST_FORMAT = 'maskmix-token-shards';

const count = z.number().int().nonnegative();

const shardFileSchema = z.object({
  /** File name inside the folder. */
  file: z.string().regex(/^[\w.-]+$/, 'must be a plain file name'),
  tokens: count,
  documents: count,
  bytes: count,
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 hex digits'),
});

const splitSchema = z.object({
  tokens: count,
  documents: count,
  shards: z.array(shardFileSchema),
});

const manifestSchema = z.object({
  format: z.literal(MANIFEST_FORMAT),
  version: z.literal(1),
  vocabSize: z.number().int().min(1).max(2 ** 31),
  dtype: z.enum(['uint16', 'uint32']),
  eosId: count,
  /** How documents were assigned to train and validation: by a seeded hash of their text. */
  split: z.object({
    by: z.literal('text-hash'),
    valFraction: z.number().min(0).lt(1),
    seed: z.number().int(),
    /** Documents put on the side their hash did not pick, because that side would have been empty. */
    moved: z.object({ to: z.enum(['train', 'val']), documents: count }).optional(),
    /** Set when every document was a copy of one text, so validation had to stay empty (absent in older folders). */
    oneText: z.literal(true).optional(),
  }),
  train: splitSchema,
  val: splitSchema,
  /** Documents that encoded to no token at all (empty texts), left out. */
  skippedDocuments: count,
  /** The tokenizer the tokens come from, saved beside the shards when known. */
  tokenizer: z.object({ file: z.string(), sha256: z.string() }).optional(),
  createdAt: z.string(),
});

/** One shard file as the manifest lists it. */
export type ShardFileEntry = z.infer<typeof shardFileSchema>;
/** The shards of one side of the split. */
export type ShardSplitEntry = z.infer<typeof splitSchema>;
/** The whole manifest. */
export type ShardManifest = z.infer<typeof manifestSchema>;
/** The two sides of the document split. */
export type ShardSplitName = 'train' | 'val';

/**
 * Reads and checks `dir/manifest.json`. Throws `NOT_FOUND` when the folder has none (not a shard folder, or the
 * writer never finished) and `DATA_INVALID` naming every bad field of a malformed one.
 */
export function readShardManifest(dir: string): ShardManifest {
  const path = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const mapped = fileError(error, path);
    if (mapped.code === 'NOT_FOUND') {
      throw new MaskmixError('NOT_FOUND', `${dir} is not a token-shard folder: it has no ${MANIFEST_FILE} (was the writing interrupted?)`, {
        cause: error,
      });
    }
    throw mapped;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new MaskmixError('DATA_INVALID', `${path} is not valid JSON: ${(cause as Error).message}`, { cause });
  }
  const parsed = manifestSchema.safeParse(value);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
    throw new MaskmixError('DATA_INVALID', `${path} is not a valid token-shard manifest:\n${lines.join('\n')}`);
  }
  const manifest = parsed.data;
  for (const name of ['train', 'val'] as const) {
    const split = manifest[name];
    const tokens = split.shards.reduce((sum, s) => sum + s.tokens, 0);
    const documents = split.shards.reduce((sum, s) => sum + s.documents, 0);
    if (tokens !== split.tokens || documents !== split.documents) {
      throw new MaskmixError('DATA_INVALID', `${path}: the ${name} shards add up to ${tokens} tokens and ${documents} documents, not ${split.tokens} and ${split.documents}`);
    }
  }
  return manifest;
}
