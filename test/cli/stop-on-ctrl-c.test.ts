// Ctrl-C during training: the first press aborts the work's signal (with a message), a second quits at once.
import { afterEach, describe, expect, it, vi } from 'vitest';

import { stopOnCtrlC } from '../../lib/cli/stop-on-ctrl-c.js';

// Listeners present before each test, so a test can remove exactly the ones it caused (e.g. the "quit at once" one).
let before: Function[] = [];
const sigintListeners = () => process.listeners('SIGINT') as Function[];

describe('stopOnCtrlC', () => {
  afterEach(() => {
    for (const l of sigintListeners()) if (!before.includes(l)) process.off('SIGINT', l as () => void);
    vi.restoreAllMocks();
  });

  it('aborts its signal on the first Ctrl-C and says what happens', () => {
    before = sigintListeners();
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const stop = stopOnCtrlC(' and saving a checkpoint');
    expect(stop.signal.aborted).toBe(false);
    process.emit('SIGINT', 'SIGINT');
    expect(stop.signal.aborted).toBe(true);
    expect(write).toHaveBeenCalledWith('\nstopping after this step and saving a checkpoint (Ctrl-C again to quit at once)…\n');
    // The second press now quits at once: one listener (the exit) replaces the first.
    expect(sigintListeners().length).toBe(before.length + 1);
  });

  it('release stops listening; listen: false never listens', () => {
    before = sigintListeners();
    const stop = stopOnCtrlC();
    expect(sigintListeners().length).toBe(before.length + 1);
    stop.release();
    expect(sigintListeners().length).toBe(before.length);
    const quiet = stopOnCtrlC('', { listen: false });
    expect(sigintListeners().length).toBe(before.length);
    quiet.release();
    expect(quiet.signal.aborted).toBe(false);
  });
});
