/**
 * Writing learned BPE merges as a Hugging Face `tokenizer.json`, the one file that the `tokenizers` library (npm
 * and Python) and `transformers` all load.
 */
import type { TrainedBpe } from './bpe-trainer.js';

/** A `tokenizer.json` entry for a token the library must match before pre-tokenisation. */
export interface HfAddedToken {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

/** The shape of the `tokenizer.json` that maskmix writes: byte-level BPE with no normalizer. */
export interface HfTokenizerJson {
  version: '1.0';
  truncation: null;
  padding: null;
  added_tokens: HfAddedToken[];
  normalizer: null;
  pre_tokenizer: { type: 'ByteLevel'; add_prefix_space: boolean; trim_offsets: boolean; use_regex: boolean };
  post_processor: { type: 'ByteLevel'; add_prefix_space: boolean; trim_offsets: boolean; use_regex: boolean };
  decoder: { type: 'ByteLevel'; add_prefix_space: boolean; trim_offsets: boolean; use_regex: boolean };
  model: {
    type: 'BPE';
    dropout: null;
    unk_token: null;
    continuing_subword_prefix: null;
    end_of_word_suffix: null;
    fuse_unk: boolean;
    byte_fallback: boolean;
    vocab: Record<string, number>;
    merges: string[];
  };
}

/**
 * Builds the `tokenizer.json` object for a trained BPE (serialise it with `JSON.stringify`).
 *
 * Merges are written as `"left right"` strings: byte-level tokens never contain a space, so this form is
 * unambiguous, and unlike the newer pair form it is also read by older Python `tokenizers` releases.
 * `ignore_merges` is left out (it defaults to false): whole-word vocabulary lookups would bypass the merge order.
 */
export function toTokenizerJson(trained: TrainedBpe): HfTokenizerJson {
  // A prototype-free object, so that a learned token spelled "__proto__" is stored like any other.
  const vocab: Record<string, number> = Object.create(null);
  trained.tokens.forEach((token, id) => {
    vocab[token] = id;
  });
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true } as const;
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: trained.specialTokens.map((content, id) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: { ...byteLevel },
    // trim_offsets false: offsets then cover the leading space, and no token text is hidden from callers.
    post_processor: { ...byteLevel, trim_offsets: false },
    decoder: { ...byteLevel },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges: trained.merges.map(([left, right]) => `${left} ${right}`),
    },
  };
}
