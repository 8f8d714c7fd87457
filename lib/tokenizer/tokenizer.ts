/**
 * The tokenizer maskmix models use: a thin, checked wrapper around a Hugging Face `tokenizer.json` loaded by the
 * `tokenizers` library, so that text is encoded exactly as Python's `tokenizers`/`transformers` would encode it.
 */
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Tokenizer as HfTokenizer } from 'tokenizers';

import { check, MaskmixError } from '../errors.js';
import { END_OF_TEXT } from './bpe-trainer.js';

/** Options for {@link Tokenizer.fromFile} and {@link Tokenizer.fromJSON}. */
export interface TokenizerLoadOptions {
  /**
   * The end-of-text token. Default: `<|endoftext|>` if the vocabulary has it, else the first special token
   * listed in `added_tokens`.
   */
  eosToken?: string;
  /** The padding token. Default: the end-of-text token. */
  padToken?: string;
}

/** Options for {@link Tokenizer.decode}. */
export interface DecodeOptions {
  /** Leave special tokens such as `<|endoftext|>` out of the text (default false). */
  skipSpecialTokens?: boolean;
}

/** Encodes text to token ids and back. Create one with {@link Tokenizer.fromFile} or {@link Tokenizer.fromJSON}. */
export class Tokenizer {
  /** Number of ids, special tokens included; valid ids are `0 … vocabSize - 1`. */
  readonly vocabSize: number;
  /** Id of the end-of-text token, which separates documents. */
  readonly eosId: number;
  /** Id used to fill sequences past the end of the data. */
  readonly padId: number;

  private constructor(
    private readonly hf: HfTokenizer,
    private readonly json: string,
    options: TokenizerLoadOptions,
    specials: string[],
  ) {
    this.vocabSize = hf.getVocabSize(true);
    this.eosId = this.requireToken(options.eosToken ?? (hf.tokenToId(END_OF_TEXT) !== null ? END_OF_TEXT : specials[0]), 'eosToken');
    this.padId = options.padToken === undefined ? this.eosId : this.requireToken(options.padToken, 'padToken');
  }

  /**
   * Loads a `tokenizer.json` file, or the `tokenizer.json` inside a folder.
   * Throws `NOT_FOUND` if there is no such file, `DATA_INVALID` naming the file if it is not a usable tokenizer
   * (`INVALID_ARGUMENT` when an `eosToken`/`padToken` option names a token it lacks).
   */
  static fromFile(path: string, options: TokenizerLoadOptions = {}): Tokenizer {
    check(typeof path === 'string' && path.length > 0, 'tokenizer path must be a non-empty string');
    let file = path;
    try {
      if (statSync(path).isDirectory()) file = join(path, 'tokenizer.json');
      return Tokenizer.fromJSON(readFileSync(file, 'utf8'), options);
    } catch (error) {
      // Bad content of a file is bad data (DATA_INVALID, naming the file); an eosToken/padToken option naming a
      // token the file lacks stays the caller's INVALID_ARGUMENT.
      const optionError = error instanceof MaskmixError && /^(eosToken|padToken) /.test(error.message);
      if (error instanceof MaskmixError && error.code === 'INVALID_ARGUMENT' && !optionError) {
        throw new MaskmixError('DATA_INVALID', `${file}: ${error.message}`, { cause: error });
      }
      if (error instanceof MaskmixError) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        throw new MaskmixError('NOT_FOUND', `no tokenizer file at ${file}`, { cause: error });
      }
      throw new MaskmixError('INVALID_ARGUMENT', `cannot read tokenizer file ${file}: ${String(error)}`, { cause: error });
    }
  }

  /**
   * Loads a tokenizer from `tokenizer.json` text (or the parsed object, e.g. from `toTokenizerJson`).
   * Throws `INVALID_ARGUMENT` for malformed JSON, a structure the library rejects, or no end-of-text token.
   */
  static fromJSON(json: string | object, options: TokenizerLoadOptions = {}): Tokenizer {
    check(typeof json === 'string' || (json !== null && typeof json === 'object'), 'tokenizer JSON must be a string or an object');
    const text = typeof json === 'string' ? json : JSON.stringify(json);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (cause) {
      throw new MaskmixError('INVALID_ARGUMENT', `tokenizer JSON is malformed: ${(cause as Error).message}`, { cause });
    }
    check(parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed), 'tokenizer JSON must be an object');
    const model = (parsed as { model?: unknown }).model;
    check(model !== null && typeof model === 'object', 'tokenizer JSON has no "model" section');
    let hf: HfTokenizer;
    try {
      hf = HfTokenizer.fromString(text);
    } catch (cause) {
      throw new MaskmixError('INVALID_ARGUMENT', `the tokenizers library rejected this tokenizer: ${String(cause)}`, { cause });
    }
    return new Tokenizer(hf, text, options, specialTokensOf(parsed));
  }

  /** Encodes `text` to ids. No special tokens are added; an empty string gives `[]`. */
  async encode(text: string): Promise<number[]> {
    check(typeof text === 'string', `text to encode must be a string, got ${typeof text}`);
    if (text.length === 0) return [];
    const encoding = await this.hf.encode(text, null, { addSpecialTokens: false });
    return encoding.getIds();
  }

  /** Encodes many texts at once (the library spreads the work over threads). */
  async encodeBatch(texts: readonly string[]): Promise<number[][]> {
    check(Array.isArray(texts), 'encodeBatch needs an array of strings');
    for (const text of texts) check(typeof text === 'string', `texts to encode must be strings, got ${typeof text}`);
    if (texts.length === 0) return [];
    const encodings = await this.hf.encodeBatch([...texts], { addSpecialTokens: false });
    return encodings.map((encoding) => encoding.getIds());
  }

  /**
   * Decodes ids back to text. Throws `TOKEN_OUT_OF_RANGE` for an id that is not an integer in `[0, vocabSize)`,
   * which the library itself would silently drop.
   */
  async decode(ids: ArrayLike<number>, options: DecodeOptions = {}): Promise<string> {
    check(ids != null && typeof ids.length === 'number', 'ids to decode must be an array of numbers');
    const list = Array.from(ids);
    for (const id of list) {
      if (!(Number.isInteger(id) && id >= 0 && id < this.vocabSize)) {
        throw new MaskmixError('TOKEN_OUT_OF_RANGE', `token id ${id} is not an integer in [0, ${this.vocabSize})`);
      }
    }
    if (list.length === 0) return '';
    return this.hf.decode(list, options.skipSpecialTokens ?? false);
  }

  /** The token string of an id (byte-level spelling), or `undefined` if the id is unused. */
  idToToken(id: number): string | undefined {
    return this.hf.idToToken(id) ?? undefined;
  }

  /** The id of a token string, or `undefined` if it is not in the vocabulary. */
  tokenToId(token: string): number | undefined {
    return this.hf.tokenToId(token) ?? undefined;
  }

  /** The `tokenizer.json` text this tokenizer was loaded from. */
  toJSON(): string {
    return this.json;
  }

  /** Writes the `tokenizer.json` to `path`, creating missing parent folders. */
  save(path: string): void {
    check(typeof path === 'string' && path.length > 0, 'save path must be a non-empty string');
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, this.json);
  }

  private requireToken(token: string | undefined, what: string): number {
    check(token !== undefined, 'the tokenizer has no special token to use as end-of-text; pass eosToken');
    const id = this.hf.tokenToId(token);
    check(id !== null, `${what} ${JSON.stringify(token)} is not in the tokenizer's vocabulary`);
    return id;
  }
}

/** Contents of the `added_tokens` marked special, in the order listed. */
function specialTokensOf(parsed: object): string[] {
  const added = (parsed as { added_tokens?: unknown }).added_tokens;
  if (!Array.isArray(added)) return [];
  return added
    .filter((t): t is { content: string } => t !== null && typeof t === 'object' && t.special === true && typeof t.content === 'string')
    .map((t) => t.content);
}
