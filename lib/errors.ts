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
  | 'NATIVE_UNAVAILABLE' // the addon or libtorch could not be loaded
  | 'CUDA_UNAVAILABLE'
  | 'CUDA_OOM'
  | 'NON_FINITE' // NaN or infinity in a loss or gradient
  | 'INTERNAL'; // a libtorch error we did not anticipate

export class MaskmixError extends Error {
  readonly code: MaskmixErrorCode;
  constructor(code: MaskmixErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MaskmixError';
    this.code = code;
  }
}

/** Throws `INVALID_ARGUMENT` unless `condition` holds; keeps argument checks one line each. */
export function check(condition: unknown, message: string, code: MaskmixErrorCode = 'INVALID_ARGUMENT'): asserts condition {
  if (!condition) throw new MaskmixError(code, message);
}
