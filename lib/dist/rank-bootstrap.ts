/**
 * Loaded with `node --import` into every Node rank `maskmix launch` starts, before the rank's own script:
 *  - a heartbeat to the launcher over the IPC channel, so a rank whose event loop is stuck is noticed;
 *  - the rank exits when the launcher goes away (even if it was killed with SIGKILL), so no rank is orphaned.
 * The channel is unreferenced: it never keeps a finished rank alive.
 * Heartbeats carry how many collectives the rank has entered (collective-progress.ts), so the launcher can name
 * the rank that stalled when a peer's collective times out.
 */
import { collectiveProgress } from './collective-progress.js';

const HEARTBEAT_MS = Number(process.env.MASKMIX_HEARTBEAT_MS) || 1000;

if (process.send && process.env.MASKMIX_LAUNCHED === '1') {
  const beat = () => {
    try {
      const { entered, last } = collectiveProgress();
      process.send?.({ type: 'heartbeat', entered, last }, undefined, {}, () => {});
    } catch {
      // The launcher is gone; 'disconnect' below ends this process.
    }
  };
  beat();
  setInterval(beat, HEARTBEAT_MS).unref();
  process.on('disconnect', () => {
    process.stderr.write('maskmix: the launcher is gone; stopping this rank\n');
    process.exit(1);
  });
  process.channel?.unref();
}

