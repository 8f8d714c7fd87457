// Long native work runs off the event loop: a timer keeps firing while a training step runs.
import { describe, expect, it } from 'vitest';

import { LanguageModel } from '../../lib/model.js';
import { Trainer } from '../../lib/trainer.js';
import { randomTokens } from '../helpers.js';

describe('event loop', () => {
  it('keeps firing timers during long native calls', async () => {
    const model = await LanguageModel.create({ vocabSize: 512, dModel: 128, nLayers: 4, context: 128, seed: 1 });
    const trainer = new Trainer(model);
    const tokens = randomTokens(16 * 128, 512, 1);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const start = performance.now();
    for (let i = 0; i < 3; i++) await trainer.step({ tokens, batch: 16 });
    const elapsed = performance.now() - start;
    clearInterval(timer);
    // Were the loop blocked, no tick could run until the steps ended. Expect ticks in proportion to the time.
    expect(elapsed).toBeGreaterThan(50);
    expect(ticks).toBeGreaterThan(elapsed / 5 / 4);
    model.dispose();
  });
});
