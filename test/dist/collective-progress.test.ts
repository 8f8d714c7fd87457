import { describe, expect, it } from 'vitest';

import { collectiveProgress, describeLaggingRanks, enterCollective } from '../../lib/dist/collective-progress.js';

describe('collective progress', () => {
  it('counts the collectives this process enters and remembers the last', () => {
    const before = collectiveProgress().entered;
    enterCollective('barrier');
    enterCollective('all-reduce');
    expect(collectiveProgress()).toMatchObject({ entered: before + 2, last: 'all-reduce' });
  });

  it('names every rank behind the furthest one, and nothing when all are level', () => {
    expect(describeLaggingRanks([{ rank: 0, entered: 3, last: 'barrier' }, { rank: 1, entered: 3, last: 'barrier' }])).toEqual([]);
    expect(describeLaggingRanks([{ rank: 0, entered: 3 }])).toEqual([]);
    expect(
      describeLaggingRanks([
        { rank: 0, entered: 5, last: 'training step' },
        { rank: 1, entered: 4, last: 'training step' },
        { rank: 2, entered: 5, last: 'training step' },
        { rank: 3, entered: 1, last: 'broadcast' },
      ]),
    ).toEqual([
      'rank 1 is behind: it entered 4 collectives (last: training step), rank 0 entered 5 (last: training step)',
      'rank 3 is behind: it entered 1 collective (last: broadcast), rank 0 entered 5 (last: training step)',
    ]);
  });
});
