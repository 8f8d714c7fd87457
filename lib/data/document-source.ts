/**
 * The common shape of every data source: an async stream of documents, each with the place it came from. Readers
 * (plain text, JSONL, Parquet) produce it; pre-tokenisation (shards/) consumes it without caring about the format.
 */
import { check } from '../errors.js';

/** One document of a data source. */
export interface SourceDocument {
  /** The document's text, as stored. */
  text: string;
  /** Where it came from, for messages: `file:line` for text and JSONL, `file row N` for Parquet. */
  origin: string;
}

/** A stream of documents, read lazily so a large corpus never has to fit in memory. */
export type DocumentStream = AsyncIterable<SourceDocument>;

/** What a consumer of documents accepts: a stream from a reader, or plain strings (sync or async). */
export type DocumentInput = AsyncIterable<SourceDocument | string> | Iterable<SourceDocument | string>;

/**
 * Iterates any {@link DocumentInput} as {@link SourceDocument}s; plain strings get `origin` `document N` (from 0).
 * Throws `INVALID_ARGUMENT` for an input that is not iterable or an item that is neither a string nor a document.
 */
export async function* asDocuments(input: DocumentInput): AsyncGenerator<SourceDocument> {
  check(
    input != null && (Symbol.asyncIterator in Object(input) || Symbol.iterator in Object(input)),
    'documents must be an iterable or async iterable of strings or { text, origin } objects',
  );
  check(typeof input !== 'string', 'documents must be an iterable of strings, not one string');
  let index = 0;
  for await (const item of input as AsyncIterable<SourceDocument | string>) {
    if (typeof item === 'string') {
      yield { text: item, origin: `document ${index}` };
    } else {
      check(
        item !== null && typeof item === 'object' && typeof item.text === 'string',
        `document ${index} is ${item === null ? 'null' : typeof item}, not a string or a { text } object`,
      );
      yield { text: item.text, origin: typeof item.origin === 'string' ? item.origin : `document ${index}` };
    }
    index++;
  }
}
