// The report as a person sees it: opened in headless Chromium, charts rendered with the expected curves, nothing
// fetched from the network, a screenshot kept in test-artifacts/ for a look.
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { writeReport } from '../../lib/report/write-report.js';
import { makeRun } from './run-fixture.js';

const CHROMIUM = process.env.MASKMIX_CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = join(import.meta.dirname, '..', '..', 'test-artifacts');
const LAUNCH_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

describe('the HTML report in a browser', () => {
  let browser: Browser;
  let page: Page;
  const requests: string[] = [];
  const problems: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `no Chromium at ${CHROMIUM}: the report test needs a real browser. Install Debian's package with ` +
          '`apt-get install -y chromium`, or point MASKMIX_CHROMIUM at a Chromium binary.',
      );
    }
    mkdirSync(ARTIFACTS, { recursive: true }); // the screenshot goes here; the folder is git-ignored
    const root = mkdtempSync(join(tmpdir(), 'maskmix-report-browser-'));
    const mixer = { kind: 'mixer', vocabSize: 4096, dModel: 256, nLayers: 4, context: 128 };
    const runs = [
      makeRun(join(root, 'mixer-d256'), {
        steps: 400,
        floor: 3.2,
        evalEvery: 100,
        config: mixer,
        run: { command: 'quickstart', training: { learningRate: 0.002, batchSize: 16 } },
        summary: { parameters: 3.1e6, prompt: 'The jury said', sample: ' it would <not> act & "wait".' },
      }),
      makeRun(join(root, 'llama-d256'), {
        steps: 300,
        floor: 3.4,
        evalEvery: 50,
        secondsPerStep: 0.08,
        flopsPerToken: 8e6,
        config: { model_type: 'llama', hidden_size: 256, num_hidden_layers: 4, max_position_embeddings: 128, vocab_size: 4096 },
      }),
      makeRun(join(root, 'long', 'run'), { steps: 2_000, floor: 3.0, secondsPerStep: 0.2 }), // no validation
    ];
    const out = join(root, 'report.html');
    await writeReport(runs, out);

    browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_FLAGS });
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('request', (r) => requests.push(r.url()));
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    await page.goto(pathToFileURL(out).href);
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('loads with no request beyond the file itself and no script error', () => {
    expect(requests.filter((url) => !url.startsWith('file:') && !url.startsWith('data:'))).toEqual([]);
    expect(problems).toEqual([]);
  });

  it('renders each loss chart with a train curve per run and a validation curve per run that evaluated', async () => {
    for (const chart of ['loss-step', 'loss-time', 'loss-flops']) {
      const figure = page.locator(`figure[data-chart="${chart}"]`);
      await expect(figure.locator('path.curve[data-kind="train"]').count()).resolves.toBe(3);
      await expect(figure.locator('path.curve[data-kind="val"]').count()).resolves.toBe(2);
      for (const path of await figure.locator('path.curve').all()) {
        const box = await path.boundingBox();
        expect(box!.width).toBeGreaterThan(20); // drawn, not a degenerate point
        expect(box!.height).toBeGreaterThan(20);
      }
      // The 2000-step run is thinned; validation points are all kept and marked.
      await expect(figure.locator('path.curve[data-run="2"]').getAttribute('data-points')).resolves.toBe('1500');
      await expect(figure.locator('g.markers[data-run="0"] circle').count()).resolves.toBe(4);
    }
    for (const chart of ['lr-step', 'gradnorm-step']) await expect(page.locator(`figure[data-chart="${chart}"] path.curve`).count()).resolves.toBe(3);
  });

  it('shows the comparison table, the sample and each run\'s JSON files', async () => {
    await expect(page.locator('table.comparison tbody tr').count()).resolves.toBe(3);
    await expect(page.locator('table.comparison tbody tr').nth(1).textContent()).resolves.toContain('llama d=256 L=4 n=128 V=4096');
    await expect(page.locator('.sample pre').textContent()).resolves.toBe('The jury said it would <not> act & "wait".');
    await expect(page.locator('section.run').count()).resolves.toBe(3);
    await expect(page.locator('section.run').first().locator('summary').allTextContents()).resolves.toEqual(['config.json', 'run.json', 'summary.json']);
  });

  it('reads values on hover and hides a run from every chart when its legend button is clicked', async () => {
    const svg = page.locator('figure[data-chart="loss-step"] svg');
    const box = (await svg.boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.5);
    const readout = page.locator('figure[data-chart="loss-step"] .readout');
    await expect(readout.isVisible()).resolves.toBe(true);
    await expect(readout.locator('div').count()).resolves.toBe(5);
    await page.screenshot({ path: join(ARTIFACTS, 'report.png'), fullPage: true });

    await page.locator('button.run-toggle[data-run="1"]').click();
    await expect(page.locator('.chart path.curve[data-run="1"]').first().isVisible()).resolves.toBe(false);
    await expect(page.locator('.chart path.curve[data-run="0"]').first().isVisible()).resolves.toBe(true);
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.55);
    await expect(readout.locator('div').count()).resolves.toBe(3);
    await page.locator('button.run-toggle[data-run="1"]').click();
    await expect(page.locator('.chart path.curve[data-run="1"]').first().isVisible()).resolves.toBe(true);
  });
});
