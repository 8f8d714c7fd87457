/** Parses a compute budget from the command line: `90s`, `5m`, `1.5h` (wall time) or `2e15` / `2e15flops` (FLOPs). */
import { MaskmixError } from '../errors.js';

export function parseBudget(text: string): { minutes?: number; flops?: number } {
  const m = text.trim().match(/^([0-9]*\.?[0-9]+(?:e[+-]?\d+)?)\s*(s|m|min|h|flops?)?$/i);
  const value = m ? Number(m[1]) : Number.NaN;
  if (!m || !(value > 0)) {
    throw new MaskmixError('INVALID_ARGUMENT', `--budget must be a time (90s, 5m, 1.5h) or a FLOP count (2e15), got '${text}'`);
  }
  const unit = (m[2] ?? 'flops').toLowerCase();
  if (unit === 's') return { minutes: value / 60 };
  if (unit === 'm' || unit === 'min') return { minutes: value };
  if (unit === 'h') return { minutes: value * 60 };
  return { flops: value };
}
