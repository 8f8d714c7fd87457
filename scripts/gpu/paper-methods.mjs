#!/usr/bin/env node
// The paper's methods at GPU scale (issue 6), through the CLI only (`bin/maskmix.js`, one child process a command):
//  0. calibrate    one short `compare` of the four training configs below: tokens/s and FLOPs/token of each, so
//                  every later run gets a step count that fits its seconds (the LR schedule then ends with the run);
//  1. inversion    (§3.1) a masked mixer and a Llama transformer (d512, 8 layers, n128, Brown) trained for the same
//                  wall time (`compare`, a minutes budget), then `invert` of 3 texts, trained and untrained, at the
//                  last and the middle layer: normalised Hamming distances;
//  2. autoencoder  (§5.3) mixer-block vs llama-block autoencoders (examples/autoencoder-*.json) at equal FLOPs
//                  (`compare`, a FLOP budget), then `autoencoder eval`: params, steps, val loss, token accuracy;
//  3. retrieval    (§6) InfoNCE fine-tuning (`retrieval train`) of stage 1's mixer: top-1@n before and after; the
//                  indirect retrieval model (`retrieval indirect-train`) on its frozen embeddings: CE and top-1.
// A failed stage is reported and the next one runs; the exit code is 1 if any failed. Results: $OUT/paper-methods.txt
// (tables, every command with its wall seconds) and $OUT/paper-methods.json, rewritten after each stage; the runs
// stay in $PAPER_WORK (default /tmp/paper-methods-work; /tmp/paper-methods-smoke-work with --smoke).
//
//   bash scripts/device/gpu-run.sh script scripts/gpu/paper-methods.mjs      # GPU (gpu-run.sh passes no arguments:
//   PAPER_SCALE=0.7 bash scripts/device/gpu-run.sh script ...                #  set the options through the environment)
//   node scripts/gpu/paper-methods.mjs --smoke                               # the same pipeline, tiny, on the CPU
//
// Options (flag or environment variable):
//   --smoke                  PAPER_SMOKE=1        tiny models on --device cpu, seconds a stage
//   --device <d>             PAPER_DEVICE         default cuda (cpu with --smoke)
//   --scale <x>              PAPER_SCALE          multiplies every stage's training seconds (default 1)
//   --seconds k=v,...        PAPER_SECONDS        training seconds per run: inversion, autoencoder, infonce, indirect
//   --stages a,b,...         PAPER_STAGES         a subset of calibrate,inversion,autoencoder,retrieval
//   --deadline <s>           PAPER_DEADLINE       shrink the later stages' training when the projected total of this
//                                                script would pass s seconds (default 330 on a GPU; 0: off)
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'bin', 'maskmix.js');
const started = performance.now();
const elapsed = () => (performance.now() - started) / 1000;
const say = (message) => console.log(`[${elapsed().toFixed(1).padStart(6)} s] ${message}`);

// ---------------------------------------------------------------- options
function option(flag, env, fallback) {
  const argv = process.argv.slice(2);
  const i = argv.indexOf(flag);
  if (i >= 0) return argv[i + 1];
  return process.env[env] ?? fallback;
}
const SMOKE = process.argv.includes('--smoke') || process.env.PAPER_SMOKE === '1';
const DEVICE = option('--device', 'PAPER_DEVICE', SMOKE ? 'cpu' : 'cuda');
const SCALE = Number(option('--scale', 'PAPER_SCALE', '1'));
// 330 s of this script leave room in a 600 s device call for gpu-run.sh's ~70 s build and its doctor run.
const DEADLINE = Number(option('--deadline', 'PAPER_DEADLINE', SMOKE ? '0' : '330'));
const STAGES = option('--stages', 'PAPER_STAGES', 'calibrate,inversion,autoencoder,retrieval').split(',').map((s) => s.trim());
const OUT = process.env.OUT || '/tmp/paper-methods';
const WORK = process.env.PAPER_WORK || (SMOKE ? '/tmp/paper-methods-smoke-work' : '/tmp/paper-methods-work');

// Sizes. GPU: the scale the README's CPU runs could not reach; smoke: the smallest that runs every code path.
const P = SMOKE
  ? {
      lm: { dModel: 32, nLayers: 2, context: 64, batchSize: 8, nHeads: 2 },
      ae: { dModel: 32, nLayers: 1, context: 64, batchSize: 8 },
      data: { source: 'brown', documents: 30 },
      vocab: 512,
      calibrationSteps: 12,
      seconds: { inversion: 3, autoencoder: 3, infonce: 4, indirect: 3 },
      invert: { iterations: 100, concurrency: 2 },
      aeEvalSequences: 16,
      retrieval: { samples: 1, group: 8, lr: 3e-4, n: '8,16,32,64', extra: ['--documents', '40', '--max-eval', '64'] },
      indirect: { context: 8, samples: 16, layers: 1, extra: ['--documents', '40', '--max-eval', '64'] },
      // Rough seconds outside training per stage (process start, data, evaluation), for the deadline.
      overhead: { calibrate: 15, inversion: 40, autoencoder: 15, retrieval: 40 },
      fallbackRate: 2e4,
    }
  : {
      lm: { dModel: 512, nLayers: 8, context: 128, batchSize: 32, nHeads: 8 },
      ae: { dModel: 256, nLayers: 2, context: 128, batchSize: 16 },
      data: { source: 'brown' },
      vocab: 4096,
      calibrationSteps: 60,
      seconds: { inversion: 45, autoencoder: 45, infonce: 40, indirect: 25 },
      invert: { iterations: 500, concurrency: 6 },
      aeEvalSequences: 256,
      retrieval: { samples: 4, group: 32, lr: 1e-4, n: '32,64,128,256,512,1024', extra: [] },
      indirect: { context: 32, samples: 512, layers: 4, extra: [] },
      overhead: { calibrate: 25, inversion: 45, autoencoder: 25, retrieval: 50 },
      fallbackRate: 1e5,
    };
const override = option('--seconds', 'PAPER_SECONDS', '');
for (const part of override.split(',').filter(Boolean)) {
  const [key, value] = part.split('=');
  if (!(key in P.seconds) || !(Number(value) > 0)) throw new Error(`--seconds: unknown stage or bad value in '${part}'`);
  P.seconds[key] = Number(value);
}
for (const key of Object.keys(P.seconds)) P.seconds[key] *= SCALE;

const TEXTS = [
  'The jury said it was fair.',
  'He walked into the room and sat down by the fire.',
  'In the spring the city council voted to build a new bridge across the river, and work began before the summer.',
];

// ---------------------------------------------------------------- report
const report = { device: DEVICE, smoke: SMOKE, scale: SCALE, startedAt: new Date().toISOString(), seconds: { ...P.seconds }, commands: [], configs: {}, stages: {} };
const sections = [];
function writeReport() {
  mkdirSync(OUT, { recursive: true });
  report.totalSeconds = Number(elapsed().toFixed(1));
  writeFileSync(join(OUT, 'paper-methods.json'), `${JSON.stringify(report, null, 2)}\n`);
  const commands = report.commands.map((c) => `${c.seconds.toFixed(1).padStart(7)} s  exit ${String(c.exit).padEnd(3)}  ${c.command}`);
  const text = [
    `maskmix paper methods (issue 6) on ${DEVICE}${SMOKE ? ' (smoke: tiny sizes)' : ''}, started ${report.startedAt}, ${report.totalSeconds} s in all`,
    '',
    ...sections.flatMap((s) => [s, '']),
    'Commands (wall seconds, exit code, command; run from the repository root):',
    ...commands,
    '',
    `Configs (written to ${join(WORK, 'configs')}/<name>.json):`,
    ...Object.entries(report.configs).map(([k, c]) => `${k}: ${JSON.stringify(c)}`),
    '',
  ].join('\n');
  writeFileSync(join(OUT, 'paper-methods.txt'), text);
}
function section(title, body) {
  const text = `== ${title}\n${body}`;
  sections.push(text);
  console.log(`\n${text}\n`);
  writeReport();
}

// ---------------------------------------------------------------- running the CLI
const quote = (a) => (/^[\w./:=,@+-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);

/**
 * Runs `maskmix <args>`; streams its stderr (progress) with the elapsed seconds, keeps its stdout. Resolves with
 * { exit, stdout, stderr, seconds, json } (json: stdout parsed, when it is JSON); never rejects.
 */
function maskmix(tag, args, { echoStdout = false, env = {} } = {}) {
  const command = `./bin/maskmix.js ${args.map(quote).join(' ')}`;
  say(`${tag}: ${command}`);
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let pending = '';
    child.stdout.on('data', (d) => {
      stdout += d;
      if (echoStdout) process.stdout.write(d);
    });
    child.stderr.on('data', (d) => {
      stderr += d;
      pending += d;
      const lines = pending.split(/\r?\n|\r/);
      pending = lines.pop();
      for (const line of lines) if (line.trim()) say(`${tag} | ${line}`);
    });
    const finish = (exit) => {
      if (pending.trim()) say(`${tag} | ${pending}`);
      const seconds = (performance.now() - t0) / 1000;
      let json;
      try {
        json = JSON.parse(stdout);
      } catch {
        json = undefined;
      }
      report.commands.push({ tag, command, seconds: Number(seconds.toFixed(2)), exit });
      say(`${tag}: exit ${exit} after ${seconds.toFixed(1)} s`);
      resolve({ exit, stdout, stderr, seconds, json });
    };
    child.on('error', (error) => {
      stderr += String(error);
      finish('spawn-error');
    });
    child.on('close', (code, signal) => finish(code ?? signal));
  });
}

/** The result, or an Error that says which command failed and the end of its output. */
function expectJson(r, what) {
  if (r.exit === 0 && r.json !== undefined) return r.json;
  const tail = r.stderr.trim().split('\n').slice(-6).join('\n');
  throw new Error(`${what} failed (exit ${r.exit}):\n${tail}`);
}

async function pool(items, concurrency, work) {
  const results = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}

function table(rows) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
  return rows.map((r) => r.map((cell, c) => String(cell).padEnd(widths[c])).join('  ').trimEnd()).join('\n');
}
const pct = (x) => (x === null || x === undefined || Number.isNaN(x) ? '—' : (100 * x).toFixed(1));
const fixed = (x, d = 3) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(d) : '—');

// ---------------------------------------------------------------- configs
const tokenizer = () => (state.tokenizerPath ? { path: state.tokenizerPath } : { vocabSize: P.vocab });
const tokensPerStep = (c) => c.training.batchSize * c.model.context;

/** The four training configs; `steps` and `budget` are set per stage. Same data, tokenizer, seed and context, so one `compare` can take any of them. */
function configs() {
  const { batchSize: lmBatch, nHeads, ...lm } = P.lm;
  const { batchSize: aeBatch, ...ae } = P.ae;
  const common = { data: P.data, tokenizer: tokenizer(), seed: 0, device: DEVICE };
  const training = (batchSize, learningRate) => ({ steps: 1, batchSize, learningRate, warmupSteps: 40, evalEvery: 1000000, checkpointEvery: 1000000 });
  const aeMixer = JSON.parse(readFileSync(join(ROOT, 'examples/autoencoder-brown.json'), 'utf8'));
  const aeLlama = JSON.parse(readFileSync(join(ROOT, 'examples/autoencoder-llama-brown.json'), 'utf8'));
  return {
    'inv-mixer': { name: `inversion-mixer-d${lm.dModel}-L${lm.nLayers}`, model: { kind: 'mixer', ...lm }, training: training(lmBatch, 0.002), ...common },
    'inv-llama': { name: `inversion-llama-d${lm.dModel}-L${lm.nLayers}-h${nHeads}`, model: { kind: 'llama', ...lm, nHeads }, training: training(lmBatch, 0.001), ...common },
    'ae-mixer': { name: `autoencoder-mixer-d${ae.dModel}-L${ae.nLayers}x2`, model: { ...aeMixer.model, ...ae }, training: training(aeBatch, aeMixer.training.learningRate), ...common },
    'ae-llama': { name: `autoencoder-llama-d${ae.dModel}-L${ae.nLayers}x2`, model: { ...aeLlama.model, ...ae }, training: training(aeBatch, aeLlama.training.learningRate), ...common },
  };
}

function writeConfig(key, config) {
  const dir = join(WORK, 'configs');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${key}.json`);
  writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`);
  report.configs[key] = config;
  return path;
}

/** Steps for `seconds` of training at `rate` tokens/s; evaluations 5 times a run; the warm-up a tenth, at most 40. */
function fitSteps(config, rate, seconds) {
  const steps = Math.max(4, Math.floor((rate * seconds) / tokensPerStep(config)));
  config.training.steps = steps;
  config.training.warmupSteps = Math.max(1, Math.min(40, Math.floor(steps / 10)));
  config.training.evalEvery = Math.max(1, Math.ceil(steps / 5));
  config.training.checkpointEvery = steps + 1;
  return steps;
}

// ---------------------------------------------------------------- shared state between stages
const state = {
  tokenizerPath: undefined,
  /** Per config key: { rate: tokens/s (steady), flopsPerToken } */
  calibration: {},
  /** Stage 1's trained mixer and llama runs; stage 3 embeds with the mixer. */
  lmRuns: {},
  failed: [],
};
const rateOf = (key) => state.calibration[key]?.rate ?? P.fallbackRate;

/** Steady tokens/s of each run from compare's progress lines: stepSeconds(k) = k / (tok/s at k) × tokens/step. */
function steadyRates(stderr) {
  const runs = [];
  for (const line of stderr.split('\n')) {
    if (/^\[run \d+\/\d+\]/.test(line)) runs.push([]);
    const m = line.match(/^step (\d+)\/(\d+) .* (\d+) tok\/s/);
    if (m && runs.length) runs[runs.length - 1].push({ step: Number(m[1]), tps: Number(m[3]) });
  }
  return runs.map((points) => {
    if (points.length < 2) return undefined;
    const last = points[points.length - 1];
    const mid = points.find((p) => p.step >= last.step / 2) ?? points[0];
    if (mid.step === last.step) return undefined;
    return (last.step - mid.step) / (last.step / last.tps - mid.step / mid.tps);
  });
}

// ---------------------------------------------------------------- stages
async function calibrate() {
  const all = configs();
  const keys = Object.keys(all);
  const paths = keys.map((k) => {
    const c = all[k];
    c.training.steps = P.calibrationSteps;
    c.training.warmupSteps = 2;
    return writeConfig(`calibrate-${k}`, c);
  });
  const r = await maskmix('calibrate', ['compare', ...paths, '--out', join(WORK, 'calibrate'), '--json']);
  const result = expectJson(r, 'calibration compare');
  const steady = steadyRates(r.stderr);
  const rows = [['config', 'params', 'steps', 'tokens/s (whole run)', 'tokens/s (second half)', 'GFLOPs/token']];
  result.runs.forEach((run, i) => {
    const rate = steady[i] && Number.isFinite(steady[i]) && steady[i] > 0 ? Math.max(steady[i], run.tokensPerSecond) : run.tokensPerSecond;
    state.calibration[keys[i]] = { rate, flopsPerToken: run.flops / run.tokensSeen, parameters: run.parameters, runDir: run.runDir };
    rows.push([keys[i], `${(run.parameters / 1e6).toFixed(2)}M`, run.steps, Math.round(run.tokensPerSecond), steady[i] ? Math.round(steady[i]) : '—', (run.flops / run.tokensSeen / 1e9).toFixed(4)]);
  });
  state.tokenizerPath = join(result.runs[0].runDir, 'tokenizer.json');
  // The calibration's mixer: stage 3's fallback embedding model when stage 1 is skipped or fails.
  state.lmRuns.mixer ??= state.calibration['inv-mixer'].runDir;
  report.stages.calibrate = { runs: state.calibration };
  section('Calibration: throughput of each training config (later step counts come from the larger of the two rates)', table(rows));
}

async function inversion(seconds) {
  const all = configs();
  const paths = ['inv-mixer', 'inv-llama'].map((k) => {
    const c = all[k];
    const steps = fitSteps(c, rateOf(k), seconds);
    // The same wall time for both: the minutes budget stops either one at `seconds` (steps fit it if calibrated).
    c.budget = { minutes: seconds / 60 };
    say(`inversion: ${k} ${steps} steps of ${tokensPerStep(c)} tokens planned for ${seconds.toFixed(0)} s`);
    return writeConfig(k, c);
  });
  const r = await maskmix('inversion', ['compare', ...paths, '--out', join(WORK, 'inversion'), '--json']);
  const result = expectJson(r, 'inversion training (compare)');
  const [mixer, llama] = result.runs;
  state.lmRuns = { mixer: mixer.runDir, llama: llama.runDir };
  const trainRows = [['run', 'params', 'steps', 'tokens', 'seconds', 'train loss', 'val loss', 'tokens/s', 'stopped by']];
  for (const run of result.runs) trainRows.push([run.name, `${(run.parameters / 1e6).toFixed(2)}M`, run.steps, run.tokensSeen, run.elapsedSeconds.toFixed(1), fixed(run.trainLoss), fixed(run.valLoss), Math.round(run.tokensPerSecond), run.stoppedBy]);
  section(`Inversion (§3.1), training: the same wall time (${seconds.toFixed(0)} s budget) each, Brown, ${DEVICE}`, table(trainRows));

  const last = P.lm.nLayers;
  const middle = Math.max(1, Math.floor(P.lm.nLayers / 2));
  const jobs = [];
  for (const [ti, text] of TEXTS.entries())
    for (const untrained of [false, true])
      for (const layer of [last, middle])
        for (const [model, runDir] of [['mixer', mixer.runDir], ['llama', llama.runDir]]) jobs.push({ ti, text, untrained, layer, model, runDir });
  const results = await pool(jobs, P.invert.concurrency, async (job) => {
    const args = ['invert', job.runDir, '--text', job.text, '--layer', String(job.layer), '--iterations', String(P.invert.iterations), '--device', DEVICE, '--json'];
    if (job.untrained) args.push('--untrained');
    // Several inversions share the machine: a few CPU threads each.
    const r = await maskmix(`invert ${job.model} t${job.ti + 1} L${job.layer}${job.untrained ? ' untrained' : ''}`, args, { env: { OMP_NUM_THREADS: '4' } });
    try {
      return { ...job, result: expectJson(r, 'invert') };
    } catch (error) {
      return { ...job, error: error.message };
    }
  });
  const cell = (ti, untrained, layer, model) => {
    const j = results.find((x) => x.ti === ti && x.untrained === untrained && x.layer === layer && x.model === model);
    if (!j || j.error) return 'failed';
    return `${j.result.hamming.toFixed(3)} (L1 ${fixed(j.result.loss, 2)})`;
  };
  const rows = [['text (tokens: mixer/llama)', 'weights', 'layer', `mixer ${(mixer.parameters / 1e6).toFixed(1)}M`, `llama ${(llama.parameters / 1e6).toFixed(1)}M`]];
  for (const [ti, text] of TEXTS.entries()) {
    const count = (model) => results.find((x) => x.ti === ti && x.model === model && x.result)?.result.tokens.length ?? '?';
    for (const untrained of [false, true])
      for (const layer of [last, middle])
        rows.push([`${ti + 1}. "${text.length > 28 ? `${text.slice(0, 26)}…` : text}" (${count('mixer')}/${count('llama')})`, untrained ? 'untrained' : 'trained', `${layer}/${last}`, cell(ti, untrained, layer, 'mixer'), cell(ti, untrained, layer, 'llama')]);
  }
  report.stages.inversion = {
    training: result.runs,
    inversions: results.map(({ runDir, ...j }) => ({ ...j, result: j.result && { hamming: j.result.hamming, tokens: j.result.tokens.length, initialLoss: j.result.initialLoss, loss: j.result.loss, recovered: j.result.recovered } })),
  };
  const failedInversions = results.filter((j) => j.error);
  section(
    `Inversion (§3.1): normalised Hamming distance of the recovered tokens (final per-token L1 in brackets), ${P.invert.iterations} iterations`,
    `${table(rows)}\nrecovered texts: ${join(WORK, 'inversion')} (paper-methods.json has them)` + (failedInversions.length ? `\n${failedInversions.length} inversions failed: ${failedInversions[0].error}` : ''),
  );
  if (failedInversions.length) throw new Error(`${failedInversions.length} of ${results.length} inversions failed`);
}

async function autoencoder(seconds) {
  const all = configs();
  const keys = ['ae-mixer', 'ae-llama'];
  const cal = keys.map((k) => state.calibration[k]);
  let budget;
  if (cal.every(Boolean)) {
    // Equal FLOPs F, chosen so both runs together take 2 × seconds: F/Rm + F/Rl = 2 s, R = FLOPs/s of each.
    const flopsRate = cal.map((c) => c.rate * c.flopsPerToken);
    const flops = (2 * seconds) / (1 / flopsRate[0] + 1 / flopsRate[1]);
    keys.forEach((k, i) => {
      const c = all[k];
      const steps = fitSteps(c, cal[i].rate, flops / flopsRate[i]);
      // Steps reach F (the schedule ends there); the minutes cap only guards the stage's time.
      c.budget = { flops: Number(flops.toPrecision(4)), minutes: (3 * seconds + 30) / 60 };
      say(`autoencoder: ${k} ${steps} steps for ${flops.toExponential(3)} FLOPs (~${(flops / flopsRate[i]).toFixed(0)} s)`);
    });
    budget = `equal FLOPs: ${Number(flops.toPrecision(4)).toExponential()} each`;
  } else {
    keys.forEach((k) => {
      fitSteps(all[k], P.fallbackRate, seconds);
      all[k].budget = { minutes: seconds / 60 };
    });
    budget = `equal time: ${seconds.toFixed(0)} s each (no calibration, so no FLOP budget)`;
  }
  const paths = keys.map((k) => writeConfig(k, all[k]));
  const r = await maskmix('autoencoder', ['compare', ...paths, '--out', join(WORK, 'autoencoder'), '--json']);
  const result = expectJson(r, 'autoencoder compare');
  const evals = await pool(result.runs, 2, async (run) => {
    const e = await maskmix(`autoencoder eval ${run.name}`, ['autoencoder', 'eval', run.runDir, '--sequences', String(P.aeEvalSequences), '--device', DEVICE, '--json']);
    try {
      return expectJson(e, 'autoencoder eval');
    } catch (error) {
      return { error: error.message };
    }
  });
  const rows = [['run', 'params', 'steps', 'tokens', 'TFLOPs', 'seconds', 'val loss', `eval loss (${P.aeEvalSequences} seqs)`, 'token accuracy']];
  result.runs.forEach((run, i) => {
    const e = evals[i];
    rows.push([run.name, `${(run.parameters / 1e6).toFixed(2)}M`, run.steps, run.tokensSeen, (run.flops / 1e12).toFixed(3), run.elapsedSeconds.toFixed(1), fixed(run.valLoss), e.error ? 'failed' : fixed(e.loss), e.error ? 'failed' : `${pct(e.accuracy)}%`]);
  });
  report.stages.autoencoder = { budget, configs: Object.fromEntries(keys.map((k) => [k, all[k]])), training: result.runs, eval: evals };
  section(`Autoencoders (§5.3), mixer vs llama blocks at ${budget}, plain variant, Brown, ${DEVICE}`, table(rows));
  const bad = evals.find((e) => e.error);
  if (bad) throw new Error(bad.error);
}

async function retrieval(seconds) {
  const base = state.lmRuns.mixer;
  if (!base) throw new Error('no trained mixer run (stages calibrate and inversion both skipped or failed)');
  const mixerRate = rateOf('inv-mixer');
  const length = P.lm.context;
  // InfoNCE: samples × group sequences of `length` tokens forward and backward a step, no output projection: at most
  // the cost of as many training tokens.
  const infonceSteps = Math.max(5, Math.floor((seconds.infonce * mixerRate) / (P.retrieval.samples * P.retrieval.group * length)));
  const outRet = join(WORK, 'retrieval');
  const r1 = await maskmix('retrieval train', [
    'retrieval', 'train', base, '--steps', String(infonceSteps), '--samples', String(P.retrieval.samples), '--group', String(P.retrieval.group),
    '--lr', String(P.retrieval.lr), '--n', P.retrieval.n, '--checkpoint-every', '0', '--device', DEVICE, '--out', outRet, '--json', ...P.retrieval.extra,
  ]);
  let infonceError;
  try {
    const j = expectJson(r1, 'retrieval train');
    const sizes = j.before.map((x) => x.n);
    const rows = [['model', ...sizes.map((n) => `n=${n}`)]];
    rows.push(['before InfoNCE', ...j.before.map((x) => pct(x.top1))]);
    rows.push(['after InfoNCE', ...j.after.map((x) => pct(x.top1))]);
    rows.push(['chance', ...sizes.map((n) => pct(1 / (n - 1)))]);
    report.stages.retrieval = { infonce: j };
    section(
      `Retrieval (§6.1): top-1 % on ${j.evalPairs} held-out ${j.data} pairs, InfoNCE fine-tuning of ${base}`,
      `${table(rows)}\n${j.steps} steps × ${j.samples} samples × ${j.group} sequences (lr ${j.learningRate}) on ${j.trainPairs} pairs in ${j.trainSeconds.toFixed(1)} s; loss ${fixed(j.firstLoss)} → ${fixed(j.lastLoss)}`,
    );
  } catch (error) {
    infonceError = error;
    report.stages.retrieval = { infonceError: error.message };
    section('Retrieval (§6.1): InfoNCE fine-tuning FAILED', error.message);
  }

  // Indirect model: its steps are bound by building Algorithm 1 batches in JS (≈ 10 ns a float copied, measured on a
  // 2-core CPU), its forward and backward (≈ 6 · params · positions FLOPs at the LM's calibrated FLOP rate) and a
  // few ms a step of launches and the optimizer.
  const { context: c, samples, layers } = P.indirect;
  const d = P.lm.dModel;
  const params = layers * (8 * d * d + c * c);
  const flopsRate = mixerRate * (state.calibration['inv-mixer']?.flopsPerToken ?? 6 * 20e6);
  const stepSeconds = 10e-9 * samples * c * d + (6 * params * samples * c) / flopsRate + (SMOKE ? 0.6e-3 : 3e-3);
  const indirectSteps = Math.max(5, Math.floor(seconds.indirect / stepSeconds));
  const r2 = await maskmix('retrieval indirect-train', [
    'retrieval', 'indirect-train', base, '--context', String(c), '--samples', String(samples), '--layers', String(layers), '--steps', String(indirectSteps),
    '--checkpoint-every', '0', '--device', DEVICE, '--out', join(WORK, 'indirect'), '--json', ...P.indirect.extra,
  ]);
  const j = expectJson(r2, 'retrieval indirect-train');
  const rows = [[`c = ${c}`, 'CE (nats)', 'top-1 %']];
  rows.push(['chance', fixed(j.chance.loss), pct(j.chance.top1)]);
  rows.push(['cosine similarity', '—', pct(j.cosineTop1)]);
  rows.push(['retrieval model, untrained', fixed(j.before.loss), pct(j.before.top1)]);
  rows.push(['retrieval model, trained', fixed(j.after.loss), pct(j.after.top1)]);
  report.stages.retrieval = { ...report.stages.retrieval, indirect: j };
  section(
    `Retrieval (§6.2): indirect retrieval model (${(j.model.parameters / 1e6).toFixed(2)}M parameters, ${layers} blocks) on frozen embeddings of ${base}`,
    `${table(rows)}\n${j.after.samples} held-out samples of ${j.evalPairs} pairs; ${j.steps} steps × ${j.samples} samples on ${j.trainPairs} pairs in ${j.trainSeconds.toFixed(1)} s; training CE ${fixed(j.firstLoss)} → ${fixed(j.lastLoss)}`,
  );
  if (infonceError) throw infonceError;
}

// ---------------------------------------------------------------- main
/** Training seconds of the stages still to run, shrunk when the projected total would pass the deadline. */
const ORDER = ['calibrate', 'inversion', 'autoencoder', 'retrieval'].filter((s) => STAGES.includes(s));
const TRAINING = { calibrate: 0, inversion: 2 * P.seconds.inversion, autoencoder: 2 * P.seconds.autoencoder, retrieval: P.seconds.infonce + P.seconds.indirect };
function planned(stage) {
  if (TRAINING[stage] === 0) return 1;
  const rest = ORDER.slice(ORDER.indexOf(stage));
  const fixedCost = rest.reduce((s, x) => s + P.overhead[x], 0);
  const trainCost = rest.reduce((s, x) => s + TRAINING[x], 0);
  let factor = 1;
  if (DEADLINE > 0 && trainCost > 0 && elapsed() + fixedCost + trainCost > DEADLINE) {
    factor = Math.max(0.25, (DEADLINE - elapsed() - fixedCost) / trainCost);
    say(`deadline ${DEADLINE} s: projected ${(elapsed() + fixedCost + trainCost).toFixed(0)} s, so ${stage} and later train ${(100 * factor).toFixed(0)}% as long`);
  }
  return factor;
}

// WORK is emptied first: only a folder this script made (its marker file inside) or a new one.
const MARKER = join(WORK, '.paper-methods-work');
if (existsSync(WORK) && readdirSync(WORK).length > 0 && !existsSync(MARKER)) {
  console.error(`refusing to empty ${WORK}: it is not a folder this script made (no ${MARKER}); set PAPER_WORK to a new folder`);
  process.exit(2);
}
rmSync(WORK, { recursive: true, force: true });
mkdirSync(WORK, { recursive: true });
writeFileSync(MARKER, 'scratch folder of scripts/gpu/paper-methods.mjs: emptied at each run\n');
const projected = ORDER.reduce((sum, s) => sum + P.overhead[s] + TRAINING[s], 0);
say(`paper methods on ${DEVICE}${SMOKE ? ' (smoke)' : ''}: stages ${ORDER.join(', ')}; training seconds ${JSON.stringify(P.seconds)}; ~${projected.toFixed(0)} s planned; deadline ${DEADLINE || 'off'}; runs in ${WORK}, results in ${OUT}`);
writeReport();
const stages = {
  calibrate: () => calibrate(),
  inversion: (f) => inversion(P.seconds.inversion * f),
  autoencoder: (f) => autoencoder(P.seconds.autoencoder * f),
  retrieval: (f) => retrieval({ infonce: P.seconds.infonce * f, indirect: P.seconds.indirect * f }),
};
for (const [name, run] of Object.entries(stages)) {
  if (!STAGES.includes(name)) continue;
  const t0 = elapsed();
  say(`=== stage ${name}`);
  try {
    await run(planned(name));
    report.stages[name] = { ...report.stages[name], ok: true, seconds: Number((elapsed() - t0).toFixed(1)) };
    say(`=== stage ${name} done in ${(elapsed() - t0).toFixed(1)} s`);
  } catch (error) {
    state.failed.push(name);
    report.stages[name] = { ...report.stages[name], ok: false, error: error.message, seconds: Number((elapsed() - t0).toFixed(1)) };
    section(`Stage ${name} FAILED after ${(elapsed() - t0).toFixed(1)} s`, error.message);
  }
  writeReport();
}
report.failed = state.failed;
writeReport();
say(`done in ${elapsed().toFixed(1)} s${state.failed.length ? `; FAILED: ${state.failed.join(', ')}` : '; every stage ok'}; ${join(OUT, 'paper-methods.txt')}`);
process.exitCode = state.failed.length ? 1 : 0;
