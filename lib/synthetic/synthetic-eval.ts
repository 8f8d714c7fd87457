/**
 * Scoring a model on a synthetic task: exact-match accuracy and cross-entropy over answer tokens only. A model's
 * guess for token j is the argmax of its logits at position j−1 (teacher forcing, like training).
 */
import { check } from '../errors.js';
import type { LanguageModel } from '../model.js';
import { syntheticBatch, type SyntheticBatch, type SyntheticTask } from './synthetic-tasks.js';

/**
 * Share of answer tokens guessed right. `predicted[j]` is the guess for `tokens[j]` (entry 0 of each row is never
 * an answer). @throws MaskmixError INVALID_ARGUMENT when the arrays differ in length or there is no answer
 */
export function answerAccuracy(tokens: ArrayLike<number>, answerMask: ArrayLike<number>, predicted: ArrayLike<number>): number {
  check(tokens.length === answerMask.length && tokens.length === predicted.length, 'tokens, answerMask and predicted must have the same length');
  let answers = 0;
  let right = 0;
  for (let j = 0; j < tokens.length; j++) {
    if (!answerMask[j]) continue;
    answers++;
    if (predicted[j] === tokens[j]) right++;
  }
  check(answers > 0, 'the answer mask marks no token');
  return right / answers;
}

/** Guesses and summed cross-entropy (nats) for the answers of one batch, from logits [batch, n, V]. */
export function scoreAnswers(logits: Float32Array, batch: SyntheticBatch, vocabSize: number): { predicted: Int32Array; lossSum: number; answers: number } {
  const n = batch.context;
  check(logits.length === batch.batch * n * vocabSize, `logits hold ${logits.length} values, expected ${batch.batch}×${n}×${vocabSize}`);
  const predicted = new Int32Array(batch.tokens.length);
  let lossSum = 0;
  let answers = 0;
  for (let b = 0; b < batch.batch; b++) {
    for (let j = 1; j < n; j++) {
      const at = b * n + j;
      if (!batch.answerMask[at]) continue;
      const row = logits.subarray((at - 1) * vocabSize, at * vocabSize);
      let best = 0;
      let max = -Infinity;
      for (let v = 0; v < vocabSize; v++) {
        if (row[v] > max) {
          max = row[v];
          best = v;
        }
      }
      let sum = 0;
      for (let v = 0; v < vocabSize; v++) sum += Math.exp(row[v] - max);
      lossSum += Math.log(sum) + max - row[batch.tokens[at]];
      predicted[at] = best;
      answers++;
    }
  }
  return { predicted, lossSum, answers };
}

export interface SyntheticScore {
  /** Exact-match accuracy over answer tokens, in [0, 1]. */
  accuracy: number;
  /** Share of sequences with every answer right. */
  sequenceAccuracy: number;
  /** Mean cross-entropy (nats) over answer tokens. */
  loss: number;
  answers: number;
  sequences: number;
}

/**
 * Scores `model` on `sequences` fresh sequences of `task` drawn from `seed` (keep it apart from the training seeds).
 */
export async function evaluateSynthetic(
  model: LanguageModel,
  task: SyntheticTask,
  options: { sequences?: number; batchSize?: number; seed?: number } = {},
): Promise<SyntheticScore> {
  const sequences = options.sequences ?? 256;
  const batchSize = Math.min(options.batchSize ?? 64, sequences);
  const seed = options.seed ?? 0x5eed;
  let right = 0;
  let answers = 0;
  let lossSum = 0;
  let perfect = 0;
  for (let done = 0, k = 0; done < sequences; done += batchSize, k++) {
    const batch = syntheticBatch(task, Math.min(batchSize, sequences - done), seed + k);
    const logits = await model.forward(batch.tokens, batch.batch);
    const scored = scoreAnswers(logits.toTypedArray() as Float32Array, batch, task.vocabSize);
    logits.dispose();
    lossSum += scored.lossSum;
    answers += scored.answers;
    for (let b = 0; b < batch.batch; b++) {
      let allRight = true;
      for (let j = b * batch.context; j < (b + 1) * batch.context; j++) {
        if (!batch.answerMask[j]) continue;
        if (scored.predicted[j] === batch.tokens[j]) right++;
        else allRight = false;
      }
      if (allRight) perfect++;
    }
  }
  return { accuracy: right / answers, sequenceAccuracy: perfect / sequences, loss: lossSum / answers, answers, sequences };
}
