/**
 * The report page: one self-contained HTML document (inline CSS, SVG and script; a Content-Security-Policy that
 * forbids every network fetch) comparing runs by their loss curves against steps, wall time and training FLOPs, a
 * table of final numbers, generated samples, and each run's config.json / run.json.
 */
import { basename, resolve, sep } from 'node:path';

import { escapeHtml, jsonForScript } from './html-escape.js';
import { renderLineChart, type ChartGeometry, type ChartSeries } from './line-chart.js';
import { formatCompact, formatDuration, formatLoss } from './number-format.js';
import { REPORT_SCRIPT } from './report-script.js';
import type { MetricsPoint, RunRecord } from './run-record.js';
import { runStats, type RunStats } from './run-stats.js';

/** Options for {@link renderReport}. */
export interface ReportOptions {
  /** Page title; default `maskmix report`. */
  title?: string;
  /** A name per run, in order; default: each directory's name, lengthened where two would be equal. */
  labels?: readonly string[];
  /** Time stamp shown on the page; default now. */
  generatedAt?: Date;
}

/** Distinct colours for up to ten runs; later runs reuse them (their validation curves stay dashed). */
export const RUN_COLORS = ['#4e79a7', '#f28e2b', '#e15759', '#59a14f', '#b07aa1', '#76b7b2', '#edc948', '#ff9da7', '#9c755f', '#6b6b6b'];

const CSS = `
:root { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; color: #1d2430; background: #fafbfc; }
body { margin: 0 auto; max-width: 1540px; padding: 24px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 10px; }
.meta { color: #5b6473; font-size: 13px; }
table { border-collapse: collapse; font-size: 13px; background: #fff; }
th, td { padding: 6px 10px; border-bottom: 1px solid #e3e6ea; text-align: right; white-space: nowrap; }
th:first-child, td:first-child, td.text { text-align: left; }
th { background: #f0f2f5; font-weight: 600; }
td.best { font-weight: 700; color: #1a7f37; }
.swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin-right: 6px; vertical-align: -1px; }
.legend { display: flex; flex-wrap: wrap; gap: 8px; margin: 8px 0 4px; }
.legend button { font: inherit; font-size: 13px; border: 1px solid #ccd1d8; background: #fff; border-radius: 4px; padding: 3px 8px; cursor: pointer; }
.legend button[aria-pressed="false"] { opacity: 0.4; text-decoration: line-through; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); gap: 16px; }
figure.chart { position: relative; margin: 0; background: #fff; border: 1px solid #e3e6ea; border-radius: 6px; padding: 8px; }
figure.chart svg { width: 100%; height: auto; display: block; }
figcaption { font-weight: 600; font-size: 14px; margin: 2px 4px 4px; }
.plot-bg { fill: #fff; stroke: #c9ced6; }
.grid { stroke: #eceef1; } .tick { font-size: 11px; fill: #5b6473; } .axis-label { font-size: 12px; fill: #2f3845; }
.no-data { font-size: 14px; fill: #8a93a0; }
.curve { fill: none; stroke-width: 1.6; stroke-linejoin: round; }
.cursor { stroke: #8a93a0; stroke-dasharray: 3 3; }
.readout { position: absolute; top: 34px; right: 28px; background: rgba(255,255,255,0.94); border: 1px solid #ccd1d8; border-radius: 4px; padding: 4px 8px; font-size: 12px; pointer-events: none; }
.sample { background: #fff; border: 1px solid #e3e6ea; border-radius: 6px; padding: 10px 12px; margin-bottom: 10px; }
.sample pre, details pre { white-space: pre-wrap; word-break: break-word; font-size: 12.5px; margin: 6px 0 0; }
.prompt { color: #5b6473; } details { margin: 6px 0; } summary { cursor: pointer; font-size: 14px; }
.note { color: #5b6473; font-size: 12px; }
`;

/** The unique display names of `dirs`: the folder name, with parent folders added only where needed to tell apart. */
export function runLabels(dirs: readonly string[]): string[] {
  const parts = dirs.map((d) => resolve(d).split(sep).filter((p) => p.length > 0));
  const depth = dirs.map(() => 1);
  const label = (i: number) => parts[i].slice(-depth[i]).join('/') || basename(dirs[i]);
  for (let round = 0; round < 64; round++) {
    const seen = new Map<string, number[]>();
    dirs.forEach((_, i) => seen.set(label(i), [...(seen.get(label(i)) ?? []), i]));
    const clashes = [...seen.values()].filter((group) => group.length > 1);
    if (clashes.length === 0) break;
    let grew = false;
    for (const group of clashes) {
      for (const i of group) {
        if (depth[i] < parts[i].length) {
          depth[i]++;
          grew = true;
        }
      }
    }
    if (!grew) break; // the same directory twice: the labels stay equal
  }
  return dirs.map((_, i) => label(i));
}

/** Renders the report page for `records` (in the order given). */
export function renderReport(records: readonly RunRecord[], options: ReportOptions = {}): string {
  const labels = options.labels ? [...options.labels] : runLabels(records.map((r) => r.dir));
  const color = (i: number) => RUN_COLORS[i % RUN_COLORS.length];
  const stats = records.map(runStats);
  const title = options.title ?? 'maskmix report';
  const generated = (options.generatedAt ?? new Date()).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');

  const maxSeconds = Math.max(0, ...records.flatMap((r) => r.metrics.map((p) => p.wallSeconds ?? 0)).filter(Number.isFinite));
  const [timeScale, timeUnit] = maxSeconds > 7200 ? [3600, 'h'] : maxSeconds > 300 ? [60, 'min'] : [1, 's'];
  const lossCurves = (x: (p: MetricsPoint) => number | undefined): ChartSeries[] =>
    records.flatMap((r, i) => [
      { run: i, kind: 'train', label: `${labels[i]} train`, color: color(i), points: points(r.metrics, x, (p) => p.loss) },
      { run: i, kind: 'val', label: `${labels[i]} val`, color: color(i), dashed: true, points: points(r.metrics, x, (p) => p.valLoss) },
    ]);
  const curvesOf = (kind: string, y: (p: MetricsPoint) => number | undefined): ChartSeries[] =>
    records.map((r, i) => ({ run: i, kind, label: labels[i], color: color(i), points: points(r.metrics, (p) => p.step, y) }));
  const charts = [
    renderLineChart(lossCurves((p) => p.step), { id: 'loss-step', title: 'Loss vs step', xLabel: 'step', yLabel: 'loss (nats/token)' }),
    renderLineChart(
      lossCurves((p) => (p.wallSeconds === undefined ? undefined : p.wallSeconds / timeScale)),
      { id: 'loss-time', title: 'Loss vs wall time', xLabel: `wall time (${timeUnit})`, yLabel: 'loss (nats/token)' },
    ),
    renderLineChart(lossCurves((p) => p.flops), { id: 'loss-flops', title: 'Loss vs training FLOPs', xLabel: 'training FLOPs', yLabel: 'loss (nats/token)' }),
    renderLineChart(curvesOf('lr', (p) => p.lr), { id: 'lr-step', title: 'Learning rate', xLabel: 'step', yLabel: 'learning rate' }),
    renderLineChart(curvesOf('grad-norm', (p) => p.gradNorm), { id: 'gradnorm-step', title: 'Gradient norm (before clipping)', xLabel: 'step', yLabel: 'gradient norm' }),
  ];
  const geometry: ChartGeometry[] = charts.map((c) => c.geometry);

  const legend = records
    .map((_, i) => `<button type="button" class="run-toggle" data-run="${i}" aria-pressed="true"><span class="swatch" style="background:${color(i)}"></span>${escapeHtml(labels[i])}</button>`)
    .join('');

  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    // Nothing may be fetched: the report must open the same offline, in an archive, or years later.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title><style>${CSS}</style></head><body>`,
    `<h1>${escapeHtml(title)}</h1>`,
    `<div class="meta">${records.length} run${records.length === 1 ? '' : 's'} · generated ${escapeHtml(generated)}</div>`,
    '<h2>Comparison</h2>',
    comparisonTable(stats, labels, color),
    `<p class="note">Final train loss: mean over the last 10% of logged steps. Val loss: the last evaluation. Throughput: training tokens/s at the last logged step.</p>`,
    '<h2>Curves</h2>',
    `<div class="legend">${legend}</div>`,
    '<p class="note">Solid: training loss; dashed with dots: validation loss. Click a run to hide it; hover a chart to read values.</p>',
    `<div class="charts">${charts.map((c) => c.html).join('')}</div>`,
    samplesSection(records, labels, color),
    '<h2>Runs</h2>',
    records.map((r, i) => runDetails(r, labels[i], color(i))).join(''),
    `<script type="application/json" id="chart-data">${jsonForScript(geometry)}</script>`,
    `<script>${REPORT_SCRIPT}</script>`,
    '</body></html>',
    '',
  ].join('\n');
}

function points(metrics: readonly MetricsPoint[], x: (p: MetricsPoint) => number | undefined, y: (p: MetricsPoint) => number | undefined): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const p of metrics) {
    const xv = x(p);
    const yv = y(p);
    if (xv !== undefined && yv !== undefined && Number.isFinite(xv) && Number.isFinite(yv)) out.push([xv, yv]);
  }
  return out;
}

function comparisonTable(stats: RunStats[], labels: string[], color: (i: number) => string): string {
  const bestOf = (pick: (s: RunStats) => number | undefined) => {
    const values = stats.map(pick).filter((v): v is number => v !== undefined && Number.isFinite(v));
    return values.length > 1 ? Math.min(...values) : undefined;
  };
  const bestTrain = bestOf((s) => s.finalTrainLoss);
  const bestVal = bestOf((s) => s.finalValLoss);
  const loss = (v: number | undefined, best: number | undefined) =>
    `<td${v !== undefined && v === best ? ' class="best"' : ''}>${formatLoss(v)}</td>`;
  const count = (v: number | undefined) => `<td>${v === undefined ? '–' : escapeHtml(formatCompact(v))}</td>`;
  const rows = stats.map(
    (s, i) =>
      `<tr data-run="${i}"><td><span class="swatch" style="background:${color(i)}"></span>${escapeHtml(labels[i])}</td>` +
      `<td class="text">${escapeHtml(s.model ?? '–')}</td>${count(s.parameters)}${count(s.steps)}${count(s.tokens)}` +
      `<td>${formatDuration(s.wallSeconds)}</td>${count(s.tokensPerSecond)}${count(s.flops)}` +
      `${loss(s.finalTrainLoss, bestTrain)}${loss(s.finalValLoss, bestVal)}<td>${formatLoss(s.bestValLoss)}</td></tr>`,
  );
  return (
    '<table class="comparison"><thead><tr><th>run</th><th>model</th><th>parameters</th><th>steps</th><th>tokens</th><th>wall time</th>' +
    '<th>tokens/s</th><th>FLOPs</th><th>final train loss</th><th>final val loss</th><th>best val loss</th></tr></thead>' +
    `<tbody>${rows.join('')}</tbody></table>`
  );
}

function samplesSection(records: readonly RunRecord[], labels: string[], color: (i: number) => string): string {
  const samples = records
    .map((r, i) => ({ i, prompt: r.summary?.prompt, sample: r.summary?.sample }))
    .filter((s): s is { i: number; prompt: unknown; sample: string } => typeof s.sample === 'string');
  if (samples.length === 0) return '';
  const blocks = samples.map(
    ({ i, prompt, sample }) =>
      `<div class="sample" data-run="${i}"><span class="swatch" style="background:${color(i)}"></span><b>${escapeHtml(labels[i])}</b>` +
      `<pre><span class="prompt">${escapeHtml(typeof prompt === 'string' ? prompt : '')}</span>${escapeHtml(sample)}</pre></div>`,
  );
  return `<h2>Samples</h2>${blocks.join('')}`;
}

function runDetails(record: RunRecord, label: string, color: string): string {
  const files: Array<[string, Record<string, unknown> | undefined]> = [
    ['config.json', record.config],
    ['run.json', record.run],
    ['summary.json', record.summary],
  ];
  const shown = files.filter(([, v]) => v !== undefined);
  const inner = shown.length
    ? shown.map(([name, v]) => `<details><summary>${name}</summary><pre>${escapeHtml(JSON.stringify(v, null, 2))}</pre></details>`).join('')
    : '<p class="note">no config.json, run.json or summary.json</p>';
  return (
    `<section class="run" data-run-dir="${escapeHtml(record.dir)}"><h3><span class="swatch" style="background:${color}"></span>${escapeHtml(label)}</h3>` +
    `<div class="meta">${escapeHtml(resolve(record.dir))} · ${record.metrics.length} logged steps</div>${inner}</section>`
  );
}
