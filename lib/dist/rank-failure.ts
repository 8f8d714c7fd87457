/** What the launcher reports when a rank stops the job: which rank, where, and why. */
export interface RankFailure {
  /** Global rank, or -1 when a whole node's launcher was lost. */
  rank: number;
  nodeRank: number;
  /** Rank on its node, or -1 when a whole node's launcher was lost. */
  localRank: number;
  /** E.g. 'exited with code 1', 'was killed by SIGKILL', 'stopped responding (no heartbeat for 300 s)'. */
  reason: string;
  /** When it was noticed (ms since the epoch). A rank's failure makes its peers fail soon after, so the earliest is the cause. */
  at: number;
}

/** One line naming the failure, e.g. "rank 3 (node 1, local rank 1) exited with code 1". */
export function describeFailure(f: RankFailure): string {
  if (f.rank < 0) return `node ${f.nodeRank}: ${f.reason}`;
  return `rank ${f.rank} (node ${f.nodeRank}, local rank ${f.localRank}) ${f.reason}`;
}
