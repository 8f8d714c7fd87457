/**
 * Keeps both sides of a streamed text-hash split non-empty, the rule splitDocuments (lib/data/corpus.ts) applies to
 * an in-memory list: with valFraction > 0 and at least two distinct texts, validation holds at least one document
 * and train keeps at least one. A small corpus (30 documents at the default 1%) otherwise often gets no validation
 * document at all, and training on it fails much later.
 *
 * The stream's length is unknown, so while only one side has seen documents they are held back, in order. When the
 * other side gets its first document they are released unchanged, so the split is exactly the hash split whenever
 * the hash gives both sides something. If the stream ends first, the held document nearest the other side by hash
 * (with its copies, so a text never sits on both sides) moves there. Past `maxHeldTokens` only that nearest document
 * is held and the rest are written at once; it then lands later in its side than it came.
 */
import type { ShardSplitName } from './shard-manifest.js';

/** Where a document goes: the writer's shard builders. */
export type SplitSink = (side: ShardSplitName, ids: readonly number[]) => Promise<void>;

/** Documents placed on the side their hash did not pick, as the manifest records them. */
export interface MovedDocuments {
  to: ShardSplitName;
  documents: number;
}

interface HeldDocument {
  ids: readonly number[];
  score: number;
  copies: number;
}

/** Default bound on held tokens: a few MiB of ids, far more than a corpus whose split could come out one-sided. */
export const DEFAULT_MAX_HELD_TOKENS = 2 ** 20;

export class NonEmptySplit {
  /** Set by {@link finish} when documents were moved. */
  moved: MovedDocuments | undefined;
  /** Set by {@link finish} when every document (two or more) was a copy of one text: no split can have both sides. */
  oneText = false;
  private onlySide: ShardSplitName | undefined;
  private bothSidesSeen = false;
  private held: HeldDocument[] = [];
  private heldTokens = 0;
  /** Documents of the one side seen so far, held or already written. */
  private seen = 0;
  private bounded = false;

  constructor(
    private readonly valFraction: number,
    private readonly sink: SplitSink,
    private readonly maxHeldTokens = DEFAULT_MAX_HELD_TOKENS,
  ) {}

  /** Routes one document by its split score (see textSplitScore): validation when below valFraction. */
  async add(ids: readonly number[], score: number): Promise<void> {
    const side: ShardSplitName = score < this.valFraction ? 'val' : 'train';
    if (this.bothSidesSeen || this.valFraction === 0) return this.sink(side, ids);
    if (this.onlySide === undefined || this.onlySide === side) {
      this.onlySide = side;
      this.seen++;
      return this.hold({ ids, score, copies: 1 });
    }
    this.bothSidesSeen = true;
    await this.release(this.held, this.onlySide);
    this.held = [];
    await this.sink(side, ids);
  }

  /** Places the held documents once the stream has ended; call before flushing the shards. */
  async finish(): Promise<void> {
    const side = this.onlySide;
    if (this.bothSidesSeen || side === undefined) return;
    const held = this.held;
    this.held = [];
    const nearest = this.nearestScore(held);
    const near = held.filter((d) => d.score === nearest);
    const rest = held.filter((d) => d.score !== nearest);
    if (count(near) === this.seen) {
      // One distinct text: no split without a text on both sides. Like splitDocuments with one document, train gets it.
      this.oneText = this.seen >= 2;
      if (side === 'val') this.moved = { to: 'train', documents: this.seen };
      await this.release(held, 'train');
      return;
    }
    const other: ShardSplitName = side === 'train' ? 'val' : 'train';
    this.moved = { to: other, documents: count(near) };
    await this.release(near, other);
    await this.release(rest, side);
  }

  private async hold(doc: HeldDocument): Promise<void> {
    if (!this.bounded) {
      this.held.push(doc);
      this.heldTokens += doc.ids.length + 1;
      if (this.heldTokens <= this.maxHeldTokens) return;
      // Too much to keep: from here on only the nearest document (and a count of its copies) waits.
      this.bounded = true;
      const nearest = this.nearestScore(this.held);
      const near = this.held.filter((d) => d.score === nearest);
      const rest = this.held.filter((d) => d.score !== nearest);
      this.held = [{ ...near[0], copies: count(near) }];
      await this.release(rest, this.onlySide!);
      return;
    }
    const current = this.held[0];
    if (doc.score === current.score) current.copies++;
    else if (this.isNearer(doc.score, current.score)) {
      await this.release(this.held, this.onlySide!);
      this.held = [doc];
    } else await this.sink(this.onlySide!, doc.ids);
  }

  /** Nearer the other side: a lower score for train documents, a higher one for validation documents. */
  private isNearer(a: number, b: number): boolean {
    return this.onlySide === 'train' ? a < b : a > b;
  }

  private nearestScore(docs: readonly HeldDocument[]): number {
    let best = docs[0].score;
    for (const d of docs) if (this.isNearer(d.score, best)) best = d.score;
    return best;
  }

  private async release(docs: readonly HeldDocument[], side: ShardSplitName): Promise<void> {
    for (const d of docs) for (let k = 0; k < d.copies; k++) await this.sink(side, d.ids);
  }
}

function count(docs: readonly HeldDocument[]): number {
  return docs.reduce((sum, d) => sum + d.copies, 0);
}
