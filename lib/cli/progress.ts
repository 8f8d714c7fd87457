/**
 * A progress bar on stderr for long work (training): step, loss, tokens/s and ETA. On a terminal it redraws one
 * line; elsewhere (CI logs, pipes) it prints a plain line every `logEvery` steps so logs stay readable.
 */
import cliProgress from 'cli-progress';

import type { StepProgress } from '../train-loop.js';

export interface TrainingProgress {
  update(progress: StepProgress): void;
  stop(): void;
}

function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.round(s)}s`;
}

export function trainingProgress(options: { enabled: boolean; logEvery?: number }): TrainingProgress {
  if (!options.enabled) return { update() {}, stop() {} };
  if (!process.stderr.isTTY) {
    let lastValLoss: number | undefined;
    return {
      update(p) {
        if (p.valLoss !== undefined) lastValLoss = p.valLoss;
        const every = options.logEvery ?? Math.max(1, Math.round(p.totalSteps / 20));
        if (p.step % every !== 0 && p.step !== p.totalSteps) return;
        const eta = ((p.totalSteps - p.step) * p.elapsedSeconds) / p.step;
        const val = lastValLoss !== undefined ? ` val ${lastValLoss.toFixed(3)}` : '';
        process.stderr.write(
          `step ${p.step}/${p.totalSteps} loss ${p.loss.toFixed(3)}${val} ${Math.round(p.tokensPerSecond)} tok/s ETA ${formatSeconds(eta)}\n`,
        );
      },
      stop() {},
    };
  }
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: 'train |{bar}| {value}/{total} loss {loss} val {val} | {tps} tok/s | ETA {etaText}',
      barsize: 24,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  let val = '-';
  return {
    update(p) {
      if (!started) {
        bar.start(p.totalSteps, 0, { loss: '-', val, tps: '-', etaText: '?' });
        started = true;
      }
      if (p.valLoss !== undefined) val = p.valLoss.toFixed(3);
      const eta = ((p.totalSteps - p.step) * p.elapsedSeconds) / p.step;
      bar.update(p.step, { loss: p.loss.toFixed(3), val, tps: Math.round(p.tokensPerSecond), etaText: formatSeconds(eta) });
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
