/**
 * Byte-level pre-tokenisation, written to agree exactly with the Hugging Face `ByteLevel` pre-tokenizer
 * (GPT-2 split pattern, `add_prefix_space: false`, `use_regex: true`). The trainer must split text the same way
 * the library will split it at encoding time, or the merges it learns would not be the ones the library applies.
 */

/**
 * Whitespace as the library's regex engine (Oniguruma) understands `\s`: the ASCII controls, NEL and the Unicode
 * separators. JavaScript's own `\s` differs (it includes U+FEFF and excludes U+0085), so it is spelled out here.
 */
const WS = String.raw`\t\n\v\f\r\u0085\p{Zs}\p{Zl}\p{Zp}`;

/**
 * The GPT-2 split pattern: English contractions, optionally space-led runs of letters, of digits, or of other
 * symbols, then whitespace (a whitespace run gives its last character to the word that follows it).
 */
const SPLIT_PATTERN = new RegExp(
  String.raw`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^${WS}\p{L}\p{N}]+|[${WS}]+(?![^${WS}])|[${WS}]+`,
  'gu',
);

/**
 * The GPT-2 byte-to-character table: printable Latin-1 bytes stand for themselves, and the other 68 bytes are
 * moved to U+0100 and up, so every byte has a visible, non-space character (a space becomes `Ġ`, U+0120).
 * Index by byte value.
 */
export const BYTE_TO_CHAR: readonly string[] = buildByteToChar();

/** The inverse of {@link BYTE_TO_CHAR}: byte-level character to its byte value. */
export const CHAR_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_CHAR.map((ch, byte) => [ch, byte]));

function buildByteToChar(): string[] {
  const table: string[] = new Array(256);
  const keepsItself = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let shifted = 0;
  for (let b = 0; b < 256; b++) {
    // Bytes that are not printable take the next free code point above Latin-1, in byte order.
    table[b] = String.fromCodePoint(keepsItself(b) ? b : 256 + shifted++);
  }
  return table;
}

/** Splits `text` into pre-tokens (still as ordinary strings, before the byte mapping). */
export function splitPreTokens(text: string): string[] {
  return text.match(SPLIT_PATTERN) ?? [];
}

const utf8 = new TextEncoder();

/** The byte-level spelling of a string: its UTF-8 bytes, each written as its {@link BYTE_TO_CHAR} character. */
export function toByteLevel(text: string): string {
  let out = '';
  for (const b of utf8.encode(text)) out += BYTE_TO_CHAR[b];
  return out;
}

/** Pre-tokenises `text` exactly as the library's `ByteLevel(add_prefix_space=false)` does, byte-mapped pieces. */
export function byteLevelPreTokenize(text: string): string[] {
  return splitPreTokens(text).map(toByteLevel);
}
