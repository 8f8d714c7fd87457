/**
 * Every failure maskmix reports to a caller is a `MaskmixError` with a stable `code`, so programs can branch on
 * the kind of failure instead of parsing messages. Native errors arrive with the same codes (see native/common/errors.h).
 */
export type MaskmixErrorCode =
  | 'INVALID_ARGUMENT' // a value of the wrong type, range or shape
  | 'DTYPE_MISMATCH'
  | 'SHAPE_MISMATCH'
  | 'TOKEN_OUT_OF_RANGE'
  | 'DISPOSED' // a tensor or model used after dispose()
  | 'BUSY' // a model asked to do two things at once
  | 'NOT_FOUND' // a file or run directory that does not exist
  | 'CHECKPOINT_INVALID' // a checkpoint with missing, extra or mis-shaped tensors
  | 'CONFIG_INVALID'
  | 'DATA_INVALID' // a data file (JSONL, Parquet, token shard, metrics) that is malformed, truncated or corrupt
  | 'CONTEXT_FULL' // a decoder asked to go past the model's fixed context
  | 'NATIVE_UNAVAILABLE' // the addon or libtorch could not be loaded
  | 'CUDA_UNAVAILABLE'
  | 'CUDA_OOM' // out of GPU memory: bytesRequested / bytesFree say how much
  | 'OUT_OF_MEMORY' // host allocation failed
  | 'NON_FINITE' // NaN or infinity in a loss or gradient
  | 'DISTRIBUTED' // a rendezvous, collective or peer process failed
  | 'DISTRIBUTED_TIMEOUT' // a rendezvous or collective waited longer than its timeout
  | 'ABORTED' // the caller's AbortSignal stopped the work before anything worth keeping was made
  | 'INTERNAL'; // a libtorch error we did not anticipate

export class MaskmixError extends Error {
  readonly code: MaskmixErrorCode;
  /** For CUDA_OOM: the bytes the failed allocation asked for and the bytes free on the GPU, when libtorch said. */
  readonly bytesRequested?: number;
  readonly bytesFree?: number;

  constructor(code: MaskmixErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MaskmixError';
    this.code = code;
    if (code === 'CUDA_OOM') {
      // libtorch's message: "Tried to allocate 2.00 GiB. GPU 0 has a total capacity of … of which 1.5 GiB is free."
      this.bytesRequested = parseBytes(message.match(/Tried to allocate ([\d.]+ [KMGT]?i?B)/)?.[1]);
      this.bytesFree = parseBytes(message.match(/of which ([\d.]+ [KMGT]?i?B) is free/)?.[1]);
    }
  }
}

function parseBytes(text: string | undefined): number | undefined {
  if (!text) return undefined;
  const [value, unit] = text.split(' ');
  const scale: Record<string, number> = { B: 1, KiB: 2 ** 10, MiB: 2 ** 20, GiB: 2 ** 30, TiB: 2 ** 40, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12 };
  return scale[unit] ? Math.round(Number(value) * scale[unit]) : undefined;
}

/** Throws `INVALID_ARGUMENT` unless `condition` holds; keeps argument checks one line each. */
export function check(condition: unknown, message: string, code: MaskmixErrorCode = 'INVALID_ARGUMENT'): asserts condition {
  if (!condition) throw new MaskmixError(code, message);
}
