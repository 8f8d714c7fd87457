/**
 * How many collectives this process has entered, and the last one's name. Collectives are matched by order, so
 * when one times out the rank that has entered fewer than its peers is the one that stalled. Each rank's
 * heartbeat (rank-bootstrap.ts) carries this count to `maskmix launch`, which names the rank that is behind
 * instead of only the one whose collective timed out.
 *
 * Kept on `globalThis` under a registered symbol: the heartbeat is sent by the bootstrap module, which
 * `node --import` may load as a separate module instance from the one the rank's script imports.
 */
export interface CollectiveProgress {
  /** Collectives entered so far (barrier, all-reduce, broadcast, data-parallel training step). */
  entered: number;
  /** Name of the last one entered: 'barrier', 'all-reduce', 'broadcast' or 'training step'. */
  last?: string;
}

const KEY = Symbol.for('maskmix.collectiveProgress');

/** This process's progress (one object per process, created on first use). */
export function collectiveProgress(): CollectiveProgress {
  const holder = globalThis as { [KEY]?: CollectiveProgress };
  holder[KEY] ??= { entered: 0 };
  return holder[KEY];
}

/** Records that this process is entering a collective named `name`. */
export function enterCollective(name: string): void {
  const progress = collectiveProgress();
  progress.entered += 1;
  progress.last = name;
}

/** A rank's last reported progress, as the launcher keeps it. */
export interface RankProgress {
  rank: number;
  entered: number;
  last?: string;
}

/**
 * The ranks that are behind the furthest one, or nothing when every rank has entered as many collectives.
 * E.g. "rank 1 is behind: it entered 0 collectives, rank 0 entered 1 (last: barrier)".
 */
export function describeLaggingRanks(ranks: readonly RankProgress[]): string[] {
  if (ranks.length < 2) return [];
  const ahead = ranks.reduce((a, b) => (b.entered > a.entered ? b : a));
  return ranks
    .filter((r) => r.entered < ahead.entered)
    .map((r) => {
      const own = r.last ? ` (last: ${r.last})` : '';
      return `rank ${r.rank} is behind: it entered ${r.entered} collective${r.entered === 1 ? '' : 's'}${own}, rank ${ahead.rank} entered ${ahead.entered} (last: ${ahead.last ?? '?'})`;
    });
}
