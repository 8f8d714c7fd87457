/**
 * Progress of pre-tokenisation on stderr: documents, tokens, tokens/s and shards written. The total is unknown
 * while a stream is read, so this is a counter rather than a bar: one redrawn line on a terminal, and a plain
 * line every `logEverySeconds` elsewhere (CI logs, pipes).
 */
import type { ShardProgress } from '../data/shards/shard-writer.js';

/** A sink for {@link writeTokenShards}' `onProgress`, plus `stop()` to end the line. */
export interface ShardProgressDisplay {
  update(progress: ShardProgress): void;
  stop(): void;
}

/** Formats a count with a k/M/G suffix. */
function compact(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return String(Math.round(n));
}

/** One status line for a progress report. */
export function formatShardProgress(p: ShardProgress): string {
  return (
    `tokenize ${compact(p.documents)} docs | ${compact(p.tokens)} tokens (train ${compact(p.trainTokens)}, val ${compact(p.valTokens)}) | ` +
    `${compact(p.tokensPerSecond)} tok/s | ${p.shards} shards | ${Math.round(p.elapsedSeconds)}s`
  );
}

/** A progress display on `stream` (default stderr); disabled, it does nothing. */
export function shardProgress(options: { enabled: boolean; logEverySeconds?: number; stream?: NodeJS.WriteStream }): ShardProgressDisplay {
  const stream = options.stream ?? process.stderr;
  if (!options.enabled) return { update() {}, stop() {} };
  let last: ShardProgress | undefined;
  if (!stream.isTTY) {
    let printedAt = -Infinity;
    return {
      update(p) {
        last = p;
        if (p.elapsedSeconds - printedAt < (options.logEverySeconds ?? 10)) return;
        printedAt = p.elapsedSeconds;
        stream.write(`${formatShardProgress(p)}\n`);
      },
      stop() {
        if (last && last.elapsedSeconds !== printedAt) stream.write(`${formatShardProgress(last)}\n`);
      },
    };
  }
  return {
    update(p) {
      last = p;
      stream.write(`\r\x1b[K${formatShardProgress(p)}`);
    },
    stop() {
      if (last) stream.write('\n');
    },
  };
}
