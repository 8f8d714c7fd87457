// The pre-tokenisation progress line: a redrawn line on a terminal, periodic plain lines in logs.
import { describe, expect, it } from 'vitest';

import { formatShardProgress, shardProgress } from '../../lib/cli/shard-progress.js';
import type { ShardProgress } from '../../lib/data/shards/shard-writer.js';

const at = (elapsedSeconds: number): ShardProgress => ({
  documents: 12_345,
  tokens: 4_500_000,
  trainTokens: 4_400_000,
  valTokens: 100_000,
  shards: 3,
  elapsedSeconds,
  tokensPerSecond: 123_456,
  documentsPerSecond: 400,
});

function sink(isTTY: boolean) {
  const out: string[] = [];
  return { out, stream: { isTTY, write: (s: string) => out.push(s) } as unknown as NodeJS.WriteStream };
}

describe('shard progress', () => {
  it('shows documents, tokens, tokens/s and shards', () => {
    expect(formatShardProgress(at(30))).toBe('tokenize 12.3k docs | 4.50M tokens (train 4.40M, val 100.0k) | 123.5k tok/s | 3 shards | 30s');
  });

  it('prints a line every logEverySeconds when not on a terminal, and the last state at the end', () => {
    const { out, stream } = sink(false);
    const display = shardProgress({ enabled: true, logEverySeconds: 10, stream });
    for (const t of [0, 4, 9, 11, 15]) display.update(at(t));
    display.stop();
    expect(out.map((l) => l.match(/\| (\d+)s\n$/)?.[1])).toEqual(['0', '11', '15']);
  });

  it('redraws one line on a terminal, and does nothing when disabled', () => {
    const { out, stream } = sink(true);
    const display = shardProgress({ enabled: true, stream });
    display.update(at(1));
    display.update(at(2));
    display.stop();
    expect(out).toEqual([`\r\x1b[K${formatShardProgress(at(1))}`, `\r\x1b[K${formatShardProgress(at(2))}`, '\n']);
    const quiet = sink(true);
    shardProgress({ enabled: false, stream: quiet.stream }).update(at(1));
    expect(quiet.out).toEqual([]);
  });
});
