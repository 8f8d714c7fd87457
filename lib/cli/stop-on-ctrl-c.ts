/**
 * Ctrl-C during long work (training, sweeps): the first press asks the work to stop after its current step, so
 * what was learned is still saved; a second press quits at once (exit 130, the shell's code for SIGINT).
 */
import { log } from './output.js';

export interface CtrlCStop {
  /** Aborted on the first Ctrl-C; pass it to the work. */
  readonly signal: AbortSignal;
  /** Stops listening for the first Ctrl-C; call it when the work is done. */
  release(): void;
}

/**
 * `what` says what happens on stopping, printed after "stopping after this step". With `listen: false` (e.g. under
 * `maskmix launch`, where the launcher stops the process) nothing is listened for and the signal never aborts.
 */
export function stopOnCtrlC(what = '', options: { listen?: boolean } = {}): CtrlCStop {
  const controller = new AbortController();
  const onSigint = () => {
    log(`\nstopping after this step${what} (Ctrl-C again to quit at once)…`);
    controller.abort();
    process.once('SIGINT', () => process.exit(130));
  };
  if (options.listen ?? true) process.once('SIGINT', onSigint);
  return { signal: controller.signal, release: () => process.off('SIGINT', onSigint) };
}
