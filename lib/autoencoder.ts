/**
 * Evaluating masked-mixer autoencoders (model kind 'autoencoder', native/models/autoencoder.h): how well the
 * decoder regenerates each input token from the encoder's one-vector embedding of the sequence. Training needs
 * nothing special — `maskmix train` / `Trainer` train an autoencoder like any model, its loss already scoring
 * position i against token i.
 */
import type { PackedSequences } from './data/corpus.js';
import { MaskmixError } from './errors.js';
import type { LanguageModel } from './model.js';

/** Reconstruction quality over a set of sequences. */
export interface ReconstructionStats {
  sequences: number;
  /** Non-pad tokens scored. */
  tokens: number;
  /** Share of those tokens the decoder's argmax reproduces exactly. */
  accuracy: number;
  /** Mean cross-entropy (nats) of the true token at each scored position. */
  loss: number;
}

function requireAutoencoder(model: LanguageModel): void {
  if (model.config.kind !== 'autoencoder')
    throw new MaskmixError('INVALID_ARGUMENT', `reconstruction needs an autoencoder (model kind 'autoencoder'), not a '${model.config.kind}' model`);
}

/** Per position of `batch` sequences of t tokens: the decoder's argmax and log p(the true token), from one forward. */
async function readLogits(
  model: LanguageModel,
  tokens: Int32Array | readonly number[],
  batch: number,
): Promise<{ predicted: Int32Array; logProbs: Float64Array }> {
  requireAutoencoder(model);
  const logits = await model.forward(tokens, batch);
  try {
    const values = logits.toTypedArray() as Float32Array;
    const vocab = model.config.vocabSize;
    const predicted = new Int32Array(values.length / vocab);
    const logProbs = new Float64Array(predicted.length);
    for (let row = 0; row < predicted.length; row++) {
      const at = row * vocab;
      let best = 0;
      for (let v = 1; v < vocab; v++) if (values[at + v] > values[at + best]) best = v;
      let sum = 0;
      for (let v = 0; v < vocab; v++) sum += Math.exp(values[at + v] - values[at + best]);
      predicted[row] = best;
      logProbs[row] = values[at + tokens[row]] - values[at + best] - Math.log(sum);
    }
    return { predicted, logProbs };
  } finally {
    logits.dispose();
  }
}

/** The decoder's argmax at every position of `batch` sequences of t tokens: [batch·t] token ids. */
export async function reconstruct(model: LanguageModel, tokens: Int32Array | readonly number[], batch = 1): Promise<Int32Array> {
  return (await readLogits(model, tokens, batch)).predicted;
}

/** Token accuracy and loss of the reconstruction of (up to `maxSequences` of) `data`'s sequences. */
export async function evaluateReconstruction(
  model: LanguageModel,
  data: PackedSequences,
  options: { maxSequences?: number; batchSize?: number } = {},
): Promise<ReconstructionStats> {
  requireAutoencoder(model);
  const batchSize = options.batchSize ?? 8;
  const count = Math.min(data.numSequences, options.maxSequences ?? data.numSequences);
  const pad = model.config.padId;
  let correct = 0;
  let scored = 0;
  let lossSum = 0;
  for (let start = 0; start < count; start += batchSize) {
    const rows = Math.min(batchSize, count - start);
    const tokens = data.data.subarray(start * data.context, (start + rows) * data.context);
    const { predicted, logProbs } = await readLogits(model, tokens, rows);
    for (let i = 0; i < tokens.length; i++) {
      if (tokens[i] === pad) continue;
      scored++;
      if (predicted[i] === tokens[i]) correct++;
      lossSum -= logProbs[i];
    }
  }
  if (scored === 0) throw new MaskmixError('INVALID_ARGUMENT', 'no non-pad tokens to reconstruct');
  return { sequences: count, tokens: scored, accuracy: correct / scored, loss: lossSum / scored };
}
