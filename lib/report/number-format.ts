/**
 * Short, readable numbers for axis ticks and table cells: 12.3k tokens, 4.5e18 FLOPs, 2m05s.
 */

/** A number with a k/M/G/T suffix and about three significant digits; very large or small ones in e-notation. */
export function formatCompact(value: number): string {
  if (!Number.isFinite(value)) return '–';
  const abs = Math.abs(value);
  if (abs === 0) return '0';
  if (abs >= 1e15 || abs < 1e-3) return value.toExponential(1).replace('e+', 'e');
  const units: Array<[number, string]> = [[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
  for (const [scale, suffix] of units) if (abs >= scale) return `${trim(value / scale)}${suffix}`;
  return trim(value);
}

/** A loss or other value of a few units: four decimals. */
export function formatLoss(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? '–' : value.toFixed(4);
}

/** Seconds as `45.2s`, `2m05s` or `3h07m`. */
export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '–';
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const s = Math.round(seconds);
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

// Three significant digits, without trailing zeros.
function trim(value: number): string {
  const abs = Math.abs(value);
  return String(Number(abs >= 100 ? value.toFixed(0) : value.toPrecision(3)));
}
