/**
 * Model checkpoints: `model.safetensors` (tensor names in the reference layout, SPEC §1) plus `config.json` (the
 * model configuration), both written atomically so a crash mid-save leaves the previous checkpoint intact.
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { MaskmixError } from './errors.js';
import { writeJsonAtomic } from './io/atomic-file.js';
import { readSafetensors, writeSafetensors, type SafetensorsDtype, type SafetensorsTensorInput } from './io/safetensors.js';
import { fromHfLlamaConfig, isHfLlamaConfig, toHfLlamaConfig } from './hf-llama-config.js';
import { resolveModelConfig, type ModelConfig } from './model-config.js';
import { LanguageModel } from './model.js';
import { Tensor, type DType } from './tensor.js';

export const WEIGHTS_FILE = 'model.safetensors';
export const CONFIG_FILE = 'config.json';

const TO_SAFETENSORS: Partial<Record<DType, SafetensorsDtype>> = {
  float32: 'F32',
  float64: 'F64',
  bfloat16: 'BF16',
  float16: 'F16',
  int64: 'I64',
  int32: 'I32',
  int16: 'I16',
  int8: 'I8',
  uint8: 'U8',
  bool: 'BOOL',
};
const FROM_SAFETENSORS = Object.fromEntries(Object.entries(TO_SAFETENSORS).map(([k, v]) => [v, k])) as Record<SafetensorsDtype, DType>;

/** Writes every tensor of the model to a safetensors file (atomically). */
export async function saveWeights(model: Pick<LanguageModel, 'stateDict'>, path: string, metadata: Record<string, string> = {}): Promise<void> {
  const tensors: Record<string, SafetensorsTensorInput> = {};
  for (const [name, tensor] of Object.entries(model.stateDict())) {
    const dtype = TO_SAFETENSORS[tensor.dtype];
    if (!dtype) throw new MaskmixError('INTERNAL', `tensor ${name} has dtype ${tensor.dtype}, which safetensors cannot hold`);
    tensors[name] = { dtype, shape: tensor.shape, data: tensor.toTypedArray() };
  }
  await writeSafetensors(path, tensors, { format: 'pt', ...metadata });
}

/** Reads a safetensors file into Tensors (CPU). @throws MaskmixError NOT_FOUND, CHECKPOINT_INVALID */
export async function readWeights(path: string): Promise<Record<string, Tensor>> {
  const file = await readSafetensors(path);
  const out: Record<string, Tensor> = {};
  for (const [name, t] of file.tensors) out[name] = Tensor.from(t.data, t.shape, FROM_SAFETENSORS[t.dtype]);
  return out;
}

/** Loads a safetensors file into an existing model (strict names and shapes). */
export async function loadWeights(model: LanguageModel, path: string): Promise<void> {
  const tensors = await readWeights(path);
  try {
    model.loadStateDict(tensors);
  } finally {
    for (const t of Object.values(tensors)) t.dispose();
  }
}

/**
 * Saves `config.json` and `model.safetensors` into `dir`, made (with its parents) if missing, as Hugging Face's
 * `save_pretrained` does. A Llama model's config is Hugging Face's, so `transformers` loads the directory as a
 * LlamaForCausalLM. @throws MaskmixError INVALID_ARGUMENT when `dir` is a file or cannot be made.
 */
export async function saveModel(model: LanguageModel, dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    throw new MaskmixError('INVALID_ARGUMENT', `cannot save the model into ${dir}: ${(error as Error).message}`);
  }
  const { device: _device, ...config } = model.config;
  await writeJsonAtomic(join(dir, CONFIG_FILE), model.config.kind === 'llama' ? toHfLlamaConfig(model.config) : config);
  await saveWeights(model, join(dir, WEIGHTS_FILE));
}

/** Reads and validates a checkpoint's `config.json`. */
export async function readModelConfig(dir: string): Promise<ModelConfig> {
  requireDirectory(dir);
  const path = join(dir, CONFIG_FILE);
  if (!existsSync(path)) throw new MaskmixError('NOT_FOUND', `${dir} has no ${CONFIG_FILE}: not a maskmix checkpoint`);
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new MaskmixError('CHECKPOINT_INVALID', `${path} is not valid JSON: ${(error as Error).message}`);
  }
  return resolveModelConfig(isHfLlamaConfig(raw) ? fromHfLlamaConfig(raw) : raw);
}

/** Builds the model a checkpoint directory describes and loads its weights. */
export async function loadModel(dir: string, options: { device?: string } = {}): Promise<LanguageModel> {
  const config = await readModelConfig(dir);
  const model = await LanguageModel.create({ ...config, device: options.device ?? 'cpu' });
  try {
    await loadWeights(model, join(dir, WEIGHTS_FILE));
  } catch (error) {
    model.dispose();
    throw error;
  }
  return model;
}

/** @throws MaskmixError NOT_FOUND unless `dir` is an existing directory. */
export function requireDirectory(dir: string): void {
  if (!existsSync(dir)) throw new MaskmixError('NOT_FOUND', `${dir} does not exist`);
  if (!statSync(dir).isDirectory()) throw new MaskmixError('NOT_FOUND', `${dir} is not a directory`);
}
