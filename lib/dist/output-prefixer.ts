/**
 * Copies a rank's output to the launcher's, line by line, each line led by the rank (`[rank 3] …`), so the
 * interleaved output of many ranks stays readable.
 */
import type { Readable, Writable } from 'node:stream';

/** Pipes `from` to `to` with `prefix` before every line; resolves when `from` ends (a last partial line included). */
export function prefixLines(from: Readable, to: Writable, prefix: string): Promise<void> {
  return new Promise((resolve) => {
    let pending = '';
    from.setEncoding('utf8');
    from.on('data', (chunk: string) => {
      const text = pending + chunk;
      const lines = text.split('\n');
      pending = lines.pop() ?? '';
      if (lines.length) to.write(lines.map((l) => `${prefix}${l}\n`).join(''));
    });
    const finish = () => {
      if (pending) to.write(`${prefix}${pending}\n`);
      pending = '';
      resolve();
    };
    from.once('end', finish);
    from.once('error', finish);
  });
}
