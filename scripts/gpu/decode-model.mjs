// The decode model of SPEC §7 that the GPU decode scripts time and profile: d1024, 8 layers, vocabulary 8000,
// context 4096 — one definition, so their figures stay comparable.
export const SPEC_DECODE_MODEL = Object.freeze({ vocabSize: 8000, dModel: 1024, nLayers: 8, nHeads: 4, context: 4096, seed: 1, device: 'cuda' });
