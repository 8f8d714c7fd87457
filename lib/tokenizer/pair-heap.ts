/**
 * A max-heap of (count, key) entries for the BPE trainer: highest count first, and among equal counts the
 * smallest key first, so the pair chosen at every merge is fully determined by the data.
 *
 * Entries are never updated in place. The trainer pushes a fresh entry whenever a pair's count grows and lets
 * stale entries surface and be re-checked later, which is much cheaper than a decrease-key heap.
 */
export class PairHeap {
  private readonly counts: number[] = [];
  private readonly keys: number[] = [];

  /** Number of entries, stale ones included. */
  get size(): number {
    return this.counts.length;
  }

  /** Adds an entry. */
  push(count: number, key: number): void {
    this.counts.push(count);
    this.keys.push(key);
    this.siftUp(this.counts.length - 1);
  }

  /** The top entry's count; only meaningful when `size > 0`. */
  peekCount(): number {
    return this.counts[0];
  }

  /** The top entry's key; only meaningful when `size > 0`. */
  peekKey(): number {
    return this.keys[0];
  }

  /** Removes the top entry. */
  pop(): void {
    const lastCount = this.counts.pop()!;
    const lastKey = this.keys.pop()!;
    if (this.counts.length === 0) return;
    this.counts[0] = lastCount;
    this.keys[0] = lastKey;
    this.siftDown(0);
  }

  private above(i: number, j: number): boolean {
    const ci = this.counts[i];
    const cj = this.counts[j];
    return ci > cj || (ci === cj && this.keys[i] < this.keys[j]);
  }

  private swap(i: number, j: number): void {
    const c = this.counts[i];
    this.counts[i] = this.counts[j];
    this.counts[j] = c;
    const k = this.keys[i];
    this.keys[i] = this.keys[j];
    this.keys[j] = k;
  }

  private siftUp(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.above(i, parent)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private siftDown(i: number): void {
    const n = this.counts.length;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) return;
      const right = left + 1;
      const best = right < n && this.above(right, left) ? right : left;
      if (!this.above(best, i)) return;
      this.swap(i, best);
      i = best;
    }
  }
}
