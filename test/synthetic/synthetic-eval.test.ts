// Scoring answers: accuracy on planted guesses and the masked cross-entropy, both against hand computation.
import { describe, expect, it } from 'vitest';

import { answerAccuracy, scoreAnswers } from '../../lib/synthetic/synthetic-eval.js';

describe('synthetic evaluation', () => {
  it('answerAccuracy counts answer tokens only', () => {
    const tokens = [5, 6, 7, 8, 9, 5, 6, 7];
    const mask = [0, 0, 1, 1, 0, 1, 1, 0];
    // Right on positions 2 and 6, wrong on 3 and 5; non-answer positions are wrong on purpose and must not count.
    const predicted = [0, 0, 7, 1, 0, 2, 6, 0];
    expect(answerAccuracy(tokens, mask, predicted)).toBe(2 / 4);
    expect(() => answerAccuracy(tokens, mask.map(() => 0), predicted)).toThrow(/no token/);
  });

  it('scoreAnswers reads position j−1 for answer j and sums −log softmax of the answer', () => {
    // One sequence of 3 tokens, vocabulary 3; answers at positions 1 and 2 (masked), so rows 0 and 1 of the logits count.
    const logits = Float32Array.from([
      0, 1, 2, // position 0 predicts token 1 (answer 2): argmax 2
      3, 0, 0, // position 1 predicts token 2 (answer 1): argmax 0
      9, 9, 9, // position 2: never used
    ]);
    const batch = { tokens: Int32Array.from([0, 2, 1]), answerMask: Uint8Array.from([0, 1, 1]), batch: 1, context: 3 };
    const { predicted, lossSum, answers } = scoreAnswers(logits, batch, 3);
    expect(Array.from(predicted)).toEqual([0, 2, 0]);
    const lse = (xs: number[]) => Math.log(xs.reduce((s, x) => s + Math.exp(x), 0));
    expect(lossSum).toBeCloseTo(lse([0, 1, 2]) - 2 + (lse([3, 0, 0]) - 0), 6);
    expect(answers).toBe(2);
    expect(answerAccuracy(batch.tokens, batch.answerMask, predicted)).toBe(0.5);
  });
});
