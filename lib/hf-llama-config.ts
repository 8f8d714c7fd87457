/**
 * The Hugging Face `config.json` of a Llama checkpoint, so that `LlamaForCausalLM.from_pretrained(runDir)` loads
 * maskmix's transformer runs. maskmix-only fields (pad id, seed) ride along under `maskmix`.
 */
import type { LlamaConfig } from './model-config.js';

export interface HfLlamaConfig {
  architectures: ['LlamaForCausalLM'];
  model_type: 'llama';
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  max_position_embeddings: number;
  rms_norm_eps: number;
  rope_theta: number;
  hidden_act: 'silu';
  tie_word_embeddings: false;
  attention_bias: false;
  mlp_bias: false;
  torch_dtype: 'float32';
  maskmix: { kind: 'llama'; padId: number; seed: number };
}

export function toHfLlamaConfig(c: LlamaConfig): HfLlamaConfig {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    vocab_size: c.vocabSize,
    hidden_size: c.dModel,
    intermediate_size: c.intermediateSize ?? 4 * c.dModel,
    num_hidden_layers: c.nLayers,
    num_attention_heads: c.nHeads,
    num_key_value_heads: c.nHeads,
    max_position_embeddings: c.context,
    rms_norm_eps: c.normEps,
    rope_theta: c.ropeTheta,
    hidden_act: 'silu',
    tie_word_embeddings: false,
    attention_bias: false,
    mlp_bias: false,
    torch_dtype: 'float32',
    maskmix: { kind: 'llama', padId: c.padId, seed: c.seed },
  };
}

/** Reads a Hugging Face Llama config (ours or another tool's) into a maskmix config input. */
export function fromHfLlamaConfig(raw: Record<string, unknown>): Record<string, unknown> {
  const extra = (raw.maskmix ?? {}) as { padId?: number; seed?: number };
  return {
    kind: 'llama',
    vocabSize: raw.vocab_size,
    dModel: raw.hidden_size,
    intermediateSize: raw.intermediate_size,
    nLayers: raw.num_hidden_layers,
    nHeads: raw.num_attention_heads,
    context: raw.max_position_embeddings,
    normEps: raw.rms_norm_eps,
    ropeTheta: raw.rope_theta ?? 10000,
    padId: extra.padId ?? 0,
    seed: extra.seed ?? 0,
  };
}

export function isHfLlamaConfig(raw: unknown): raw is Record<string, unknown> {
  return !!raw && typeof raw === 'object' && (raw as { model_type?: unknown }).model_type === 'llama';
}
