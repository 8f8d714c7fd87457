/**
 * Line charts as inline SVG, drawn here so a report needs no plotting library and no network. Each curve is one
 * `<path>` carrying `data-run`, `data-kind` and `data-points`, so tests (and the page's own script) can find it.
 * Long curves are thinned to at most `maxPoints` by averaging neighbouring points, which keeps the trend and
 * keeps a report of a million-step run small.
 */
import { escapeHtml } from './html-escape.js';
import { formatCompact } from './number-format.js';

/** One curve. */
export interface ChartSeries {
  /** Index of the run it belongs to: its colour, and what the legend toggles. */
  run: number;
  /** What it shows, e.g. `train` or `val`; becomes `data-kind`. */
  kind: string;
  label: string;
  color: string;
  /** Dashed line, and a marker on every point (sparse series such as validation loss). */
  dashed?: boolean;
  points: Array<[x: number, y: number]>;
}

/** Options for {@link renderLineChart}. */
export interface LineChartOptions {
  /** Becomes `data-chart` on the figure; unique within a page. */
  id: string;
  title: string;
  xLabel: string;
  yLabel: string;
  width?: number;
  height?: number;
  /** Curves with more points are thinned to this many (default 1500). */
  maxPoints?: number;
}

/** What the page script needs to map the mouse back to data. */
export interface ChartGeometry {
  id: string;
  left: number;
  top: number;
  plotWidth: number;
  plotHeight: number;
  x: [number, number];
  y: [number, number];
  series: Array<{ run: number; kind: string; label: string; color: string; points: Array<[number, number]> }>;
}

const MARGIN = { left: 64, right: 18, top: 14, bottom: 46 };

/** Renders the chart as a `<figure>` with an inline `<svg>`, and returns its geometry for interactivity. */
export function renderLineChart(series: readonly ChartSeries[], options: LineChartOptions): { html: string; geometry: ChartGeometry } {
  const width = options.width ?? 720;
  const height = options.height ?? 340;
  const plotWidth = width - MARGIN.left - MARGIN.right;
  const plotHeight = height - MARGIN.top - MARGIN.bottom;
  const curves = series
    .map((s) => ({ ...s, points: thin(s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)), options.maxPoints ?? 1500) }))
    .filter((s) => s.points.length > 0);
  const xs = curves.flatMap((s) => s.points.map((p) => p[0]));
  const ys = curves.flatMap((s) => s.points.map((p) => p[1]));
  const xRange = paddedRange(xs, 0);
  const yRange = paddedRange(ys, 0.05);
  const px = (x: number) => MARGIN.left + ((x - xRange[0]) / (xRange[1] - xRange[0])) * plotWidth;
  const py = (y: number) => MARGIN.top + (1 - (y - yRange[0]) / (yRange[1] - yRange[0])) * plotHeight;
  const r = (v: number) => v.toFixed(1);

  const parts: string[] = [];
  parts.push(`<rect class="plot-bg" x="${MARGIN.left}" y="${MARGIN.top}" width="${plotWidth}" height="${plotHeight}"/>`);
  for (const t of niceTicks(xRange[0], xRange[1])) {
    parts.push(`<line class="grid" x1="${r(px(t))}" x2="${r(px(t))}" y1="${MARGIN.top}" y2="${MARGIN.top + plotHeight}"/>`);
    parts.push(`<text class="tick" x="${r(px(t))}" y="${MARGIN.top + plotHeight + 16}" text-anchor="middle">${escapeHtml(formatCompact(t))}</text>`);
  }
  for (const t of niceTicks(yRange[0], yRange[1])) {
    parts.push(`<line class="grid" x1="${MARGIN.left}" x2="${MARGIN.left + plotWidth}" y1="${r(py(t))}" y2="${r(py(t))}"/>`);
    parts.push(`<text class="tick" x="${MARGIN.left - 6}" y="${r(py(t) + 4)}" text-anchor="end">${escapeHtml(formatCompact(t))}</text>`);
  }
  parts.push(`<text class="axis-label" x="${MARGIN.left + plotWidth / 2}" y="${height - 8}" text-anchor="middle">${escapeHtml(options.xLabel)}</text>`);
  parts.push(
    `<text class="axis-label" transform="translate(14 ${MARGIN.top + plotHeight / 2}) rotate(-90)" text-anchor="middle">${escapeHtml(options.yLabel)}</text>`,
  );
  if (curves.length === 0) {
    parts.push(`<text class="no-data" x="${MARGIN.left + plotWidth / 2}" y="${MARGIN.top + plotHeight / 2}" text-anchor="middle">no data recorded</text>`);
  }
  for (const s of curves) {
    const d = s.points.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${r(px(x))} ${r(py(y))}`).join('');
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    const common = `data-run="${s.run}" data-kind="${escapeHtml(s.kind)}"`;
    parts.push(`<path class="curve" ${common} data-points="${s.points.length}" d="${d}" stroke="${s.color}"${dash}><title>${escapeHtml(s.label)}</title></path>`);
    if (s.dashed) {
      const dots = s.points.map(([x, y]) => `<circle cx="${r(px(x))}" cy="${r(py(y))}" r="3"/>`).join('');
      parts.push(`<g class="markers" ${common} fill="${s.color}">${dots}</g>`);
    }
  }
  parts.push(`<line class="cursor" x1="0" x2="0" y1="${MARGIN.top}" y2="${MARGIN.top + plotHeight}" visibility="hidden"/>`);

  const title = escapeHtml(options.title);
  const html =
    `<figure class="chart" data-chart="${escapeHtml(options.id)}"><figcaption>${title}</figcaption>` +
    `<svg viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${title}">${parts.join('')}</svg>` +
    `<div class="readout" hidden></div></figure>`;
  const geometry: ChartGeometry = {
    id: options.id,
    left: MARGIN.left,
    top: MARGIN.top,
    plotWidth,
    plotHeight,
    x: xRange,
    y: yRange,
    series: curves.map((s) => ({ run: s.run, kind: s.kind, label: s.label, color: s.color, points: s.points })),
  };
  return { html, geometry };
}

/** Averages runs of neighbouring points so that at most `max` remain; the first and last x are kept. */
export function thin(points: Array<[number, number]>, max: number): Array<[number, number]> {
  if (points.length <= max) return points;
  const out: Array<[number, number]> = [];
  for (let b = 0; b < max; b++) {
    const start = Math.floor((b * points.length) / max);
    const end = Math.floor(((b + 1) * points.length) / max);
    let sx = 0;
    let sy = 0;
    for (let i = start; i < end; i++) {
      sx += points[i][0];
      sy += points[i][1];
    }
    out.push([sx / (end - start), sy / (end - start)]);
  }
  out[0][0] = points[0][0];
  out[out.length - 1][0] = points[points.length - 1][0];
  return out;
}

/** Round tick values (1, 2 or 5 × a power of ten apart) covering [min, max], about `count` of them. */
export function niceTicks(min: number, max: number, count = 6): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const ticks: number[] = [];
  for (let t = Math.ceil(min / step) * step; t <= max + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

// The data's extent widened by `pad` of its span (a flat or empty series still gets a usable range).
function paddedRange(values: number[], pad: number): [number, number] {
  if (values.length === 0) return [0, 1];
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo === hi) {
    const spread = Math.abs(lo) > 0 ? Math.abs(lo) * 0.1 : 1;
    return [lo - spread, hi + spread];
  }
  const span = hi - lo;
  return [lo - span * pad, hi + span * pad];
}
