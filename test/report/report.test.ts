// The HTML report without a browser: reading run directories, the numbers it shows, escaping, and errors.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { niceTicks, renderLineChart, thin } from '../../lib/report/line-chart.js';
import { formatCompact, formatDuration } from '../../lib/report/number-format.js';
import { renderReport, runLabels } from '../../lib/report/report-html.js';
import { parseMetrics, readRunRecord } from '../../lib/report/run-record.js';
import { runStats } from '../../lib/report/run-stats.js';
import { writeReport } from '../../lib/report/write-report.js';
import { makeRun } from './run-fixture.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'maskmix-report-'));

describe('reading run directories', () => {
  it('reads metrics and the JSON files; a resumed step keeps its later line; a half-written last line is left out', () => {
    const dir = join(tmp(), 'run');
    mkdirSync(dir);
    writeFileSync(
      join(dir, 'metrics.jsonl'),
      '{"step":1,"loss":5,"tokens":10}\n{"step":2,"loss":null}\n{"step":3,"loss":4}\n{"step":2,"loss":4.5,"valLoss":4.7}\n{"step":4,"lo',
    );
    writeFileSync(join(dir, 'config.json'), '{"kind":"mixer","dModel":8}');
    const record = readRunRecord(dir);
    expect(record.metrics).toEqual([
      { step: 1, loss: 5, tokens: 10 },
      { step: 2, loss: 4.5, valLoss: 4.7 },
      { step: 3, loss: 4 },
    ]);
    expect(record.config).toEqual({ kind: 'mixer', dModel: 8 });
    expect(record.run).toBeUndefined();
    expect(parseMetrics('{"step":1,"loss":null}\n', 'm')[0].loss).toBeNaN();
  });

  it('names the file and line of a bad metrics line, and reports missing runs as NOT_FOUND', () => {
    const cases: Array<[string, RegExp]> = [
      ['{"step":1,"loss":2}\nnot json\n{"step":3,"loss":2}\n', /metrics\.jsonl:2: not valid JSON/],
      ['{"loss":2}\n', /metrics\.jsonl:1: "step" must be a non-negative integer/],
      ['{"step":1,"loss":"2"}\n', /metrics\.jsonl:1: "loss" must be a number/],
      ['{"step":1,"loss":2,"wallSeconds":"3"}\n', /metrics\.jsonl:1: "wallSeconds" must be a number/],
      ['[1,2]\n', /metrics\.jsonl:1: expected a JSON object/],
    ];
    for (const [text, message] of cases) expect(() => parseMetrics(text, 'metrics.jsonl')).toThrow(expect.objectContaining({ code: 'DATA_INVALID', message: expect.stringMatching(message) }));
    const root = tmp();
    expect(() => readRunRecord(join(root, 'nope'))).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
    expect(() => readRunRecord(root)).toThrow(expect.objectContaining({ code: 'NOT_FOUND', message: expect.stringMatching(/no metrics\.jsonl/) }));
    const run = makeRun(join(root, 'r'), { steps: 3, floor: 1 });
    writeFileSync(join(run, 'run.json'), '{ broken');
    expect(() => readRunRecord(run)).toThrow(expect.objectContaining({ code: 'DATA_INVALID', message: expect.stringMatching(/run\.json/) }));
    writeFileSync(join(run, 'run.json'), '[]');
    expect(() => readRunRecord(run)).toThrow(expect.objectContaining({ code: 'DATA_INVALID' }));
  });

  it('summarises a run as the training loop does: mean loss of the last tenth, last validation, last throughput', () => {
    const dir = makeRun(join(tmp(), 'r'), {
      steps: 100,
      floor: 3,
      evalEvery: 30,
      config: { kind: 'mixer', vocabSize: 512, dModel: 64, nLayers: 2, context: 32 },
      summary: { parameters: 12345 },
    });
    const record = readRunRecord(dir);
    const stats = runStats(record);
    const tail = record.metrics.slice(-10).map((p) => p.loss);
    expect(stats.finalTrainLoss).toBeCloseTo(tail.reduce((a, b) => a + b, 0) / 10, 12);
    expect(stats.finalValLoss).toBe(record.metrics[99].valLoss);
    expect(stats.bestValLoss).toBe(Math.min(...record.metrics.filter((p) => p.valLoss !== undefined).map((p) => p.valLoss!)));
    expect(stats).toMatchObject({ steps: 100, tokens: 100 * 2048, wallSeconds: 5, flops: 100 * 2048 * 6e6, tokensPerSecond: 40960, parameters: 12345 });
    expect(stats.model).toBe('mixer d=64 L=2 n=32 V=512');
    expect(runStats({ dir: 'x', metrics: [], config: { model_type: 'llama', hidden_size: 8, num_hidden_layers: 1 } })).toEqual({
      model: 'llama d=8 L=1',
    });
  });
});

describe('the report page', () => {
  it('labels runs by folder name, adding parents only to tell equal names apart', () => {
    expect(runLabels(['/a/x/run', '/a/y/run', '/b/other'])).toEqual(['x/run', 'y/run', 'other']);
    expect(runLabels(['/a/run', '/a/run'])).toEqual(['a/run', 'a/run']);
  });

  it('draws one train curve per run and one validation curve per run that evaluated, in every loss chart', () => {
    const root = tmp();
    const records = [
      makeRun(join(root, 'a'), { steps: 50, floor: 3, evalEvery: 10 }),
      makeRun(join(root, 'b'), { steps: 40, floor: 3.5 }),
    ].map(readRunRecord);
    const html = renderReport(records);
    for (const chart of ['loss-step', 'loss-time', 'loss-flops']) {
      const figure = html.match(new RegExp(`<figure class="chart" data-chart="${chart}">.*?</figure>`))![0];
      expect(figure.match(/data-kind="train"/g)).toHaveLength(2);
      expect(figure.match(/<path[^>]*data-kind="val"/g)).toHaveLength(1);
    }
  });

  it('is self-contained and escapes everything that comes from files', () => {
    const dir = makeRun(join(tmp(), 'r'), {
      steps: 5,
      floor: 2,
      summary: { prompt: 'Say <b>', sample: '</script><script>alert(1)</script> & "quotes"' },
      run: { note: '</pre><img src=x onerror=alert(1)>' },
    });
    const html = renderReport([readRunRecord(dir)]);
    expect(html).not.toContain('<script>alert(1)');
    expect(html).not.toContain('<img src=x');
    expect(html).toContain('&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;');
    expect(html).toContain('Say &lt;b&gt;');
    // No external resource of any kind, and a policy that forbids fetching one.
    expect(html).not.toMatch(/\b(?:src|href)\s*=\s*["']?(?:https?:)?\/\//i);
    expect(html).not.toMatch(/<link\b/i);
    expect(html).toContain(`default-src 'none'`);
    expect(html.match(/<script\b/g)).toHaveLength(2); // the chart data and the page script, both inline
  });

  it('writes the file atomically, creating folders, and rejects bad input with codes', async () => {
    const root = tmp();
    const run = makeRun(join(root, 'r'), { steps: 5, floor: 2 });
    const out = join(root, 'reports', 'deep', 'report.html');
    const written = await writeReport([run], out, { title: 'My <comparison>' });
    expect(written).toMatchObject({ path: out, runs: [run] });
    expect(readFileSync(out, 'utf8')).toContain('<title>My &lt;comparison&gt;</title>');
    await expect(writeReport([], out)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(writeReport([join(root, 'missing')], out)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(writeReport([run], out, { labels: ['a', 'b'] })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    // Never over a run's weights or config, nor onto a folder.
    writeFileSync(join(root, 'r', 'model.safetensors'), 'weights');
    await expect(writeReport([run], join(root, 'r', 'model.safetensors'))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: /\.html file/ });
    expect(readFileSync(join(root, 'r', 'model.safetensors'), 'utf8')).toBe('weights');
    mkdirSync(join(root, 'folder.html'));
    await expect(writeReport([run], join(root, 'folder.html'))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: /is a folder/ });
  });
});

describe('chart helpers', () => {
  it('picks round ticks inside the range', () => {
    expect(niceTicks(0, 10)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(niceTicks(2.93, 9.1)).toEqual([4, 6, 8]);
    expect(niceTicks(0.0001, 0.00105)).toEqual([0.0002, 0.0004, 0.0006, 0.0008, 0.001]);
    expect(niceTicks(5, 5)).toEqual([5]);
  });

  it('thins long curves by averaging, keeping the ends', () => {
    const points = Array.from({ length: 10_000 }, (_, i): [number, number] => [i + 1, i % 2]);
    const thinned = thin(points, 100);
    expect(thinned).toHaveLength(100);
    expect(thinned[0][0]).toBe(1);
    expect(thinned[99][0]).toBe(10_000);
    for (const [, y] of thinned) expect(y).toBeCloseTo(0.5, 10);
    const { html } = renderLineChart([{ run: 0, kind: 'train', label: 'a', color: '#000', points }], { id: 'c', title: 't', xLabel: 'x', yLabel: 'y', maxPoints: 100 });
    expect(html).toContain('data-points="100"');
    expect(renderLineChart([], { id: 'e', title: 't', xLabel: 'x', yLabel: 'y' }).html).toContain('no data recorded');
  });

  it('formats numbers and durations compactly', () => {
    expect([0, 0.001, 0.0002, 3.14159, 512, 12_345, 4.5e6, 6.1e13, 2e18].map(formatCompact)).toEqual(['0', '0.001', '2.0e-4', '3.14', '512', '12.3k', '4.5M', '61T', '2.0e18']);
    expect([12.34, 125, 3725].map(formatDuration)).toEqual(['12.3s', '2m05s', '1h02m']);
  });
});
