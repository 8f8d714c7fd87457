/**
 * Node's file-system errors (`ENOENT`, `EISDIR`, …) turned into MaskmixErrors that name the file, so a data reader
 * never lets a raw system error escape to its caller.
 */
import { MaskmixError } from '../errors.js';

/**
 * The MaskmixError for a failed file operation: `NOT_FOUND` for a missing path, `INVALID_ARGUMENT` for a folder
 * where a file was expected or a file we may not read, `INTERNAL` for anything else (a disk error). A MaskmixError
 * passes through unchanged.
 *
 * @param error - What the file operation threw.
 * @param path - The file it was about.
 * @param action - What was being done, e.g. `read`; used in the message.
 */
export function fileError(error: unknown, path: string, action = 'read'): MaskmixError {
  if (error instanceof MaskmixError) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const reason = error instanceof Error ? error.message : String(error);
  if (code === 'ENOENT' || code === 'ENOTDIR') return new MaskmixError('NOT_FOUND', `cannot ${action} ${path}: no such file`, { cause: error });
  if (code === 'EISDIR') return new MaskmixError('INVALID_ARGUMENT', `cannot ${action} ${path}: it is a folder, not a file`, { cause: error });
  if (code === 'EACCES' || code === 'EPERM') {
    return new MaskmixError('INVALID_ARGUMENT', `cannot ${action} ${path}: permission denied`, { cause: error });
  }
  return new MaskmixError('INTERNAL', `cannot ${action} ${path}: ${reason}`, { cause: error });
}
