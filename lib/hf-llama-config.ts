/**
 * The Hugging Face `config.json` of a Llama checkpoint, so that `LlamaForCausalLM.from_pretrained(runDir)` loads
 * maskmix's transformer runs. maskmix-only fields (pad id, seed) ride along under `maskmix`.
 */
import { MaskmixError } from './errors.js';
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

/**
 * Llama features maskmix's baseline does not implement; a config that asks for one is refused rather than loaded
 * into a model that would compute something else (grouped-query heads, tied embeddings, RoPE scaling, …).
 */
function unsupportedHfLlamaFeatures(raw: Record<string, unknown>): string[] {
  const found: string[] = [];
  const heads = raw.num_attention_heads;
  if (raw.num_key_value_heads !== undefined && raw.num_key_value_heads !== null && raw.num_key_value_heads !== heads)
    found.push(`num_key_value_heads ${String(raw.num_key_value_heads)} ≠ num_attention_heads ${String(heads)} (grouped-query attention)`);
  if (raw.tie_word_embeddings === true) found.push('tie_word_embeddings true');
  // {"rope_type": "default"} (or "type") is plain RoPE, as without rope_scaling.
  const scaling = raw.rope_scaling as { rope_type?: unknown; type?: unknown } | null | undefined;
  if (scaling !== undefined && scaling !== null && (scaling.rope_type ?? scaling.type) !== 'default') found.push('rope_scaling');
  if (raw.hidden_act !== undefined && raw.hidden_act !== 'silu') found.push(`hidden_act '${String(raw.hidden_act)}' (only 'silu')`);
  if (raw.attention_bias === true) found.push('attention_bias true');
  if (raw.mlp_bias === true) found.push('mlp_bias true');
  if (raw.head_dim !== undefined && raw.head_dim !== null && typeof raw.hidden_size === 'number' && typeof heads === 'number' && raw.head_dim !== raw.hidden_size / heads)
    found.push(`head_dim ${String(raw.head_dim)} ≠ hidden_size / num_attention_heads`);
  return found;
}

/**
 * Reads a Hugging Face Llama config (ours or another tool's) into a maskmix config input.
 * @throws MaskmixError CONFIG_INVALID for a feature the baseline does not implement.
 */
export function fromHfLlamaConfig(raw: Record<string, unknown>): Record<string, unknown> {
  const unsupported = unsupportedHfLlamaFeatures(raw);
  if (unsupported.length > 0)
    throw new MaskmixError('CONFIG_INVALID', `this Llama config asks for what maskmix's Llama does not implement: ${unsupported.join('; ')}`);
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
