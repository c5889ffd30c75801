/**
 * The driver's failure path: a port where nothing answers gives one BoardError within the
 * ready timeout (clock time), and the stream is released.
 */
import { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { JohnnyFiveBoard } from '../../hardware/boards/johnny-five-board.js';
import { VirtualClock } from '../../src/clock/virtual-clock.js';

class SilentPort extends Duplex {
  readonly path = 'silent';
  written = 0;
  override _read(): void {}
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.written += chunk.length;
    cb();
  }
}

describe('johnny-five board driver', () => {
  it('rejects open() with one BoardError when the board never completes the Firmata handshake', async () => {
    const clock = new VirtualClock();
    const port = new SilentPort();
    const board = new JohnnyFiveBoard({ port, clock, readyTimeoutMs: 3_000 });
    const opening = board.open();
    const outcome = opening.then(
      () => null,
      (err: unknown) => err,
    );
    for (let t = 0; t < 3_100; t += 100) {
      clock.advance(100);
      await new Promise<void>((r) => setImmediate(r));
    }
    const err = (await outcome) as { boardError?: boolean; message: string } | null;
    expect(err?.boardError).toBe(true);
    expect(err?.message).toMatch(/no Firmata handshake from the board within 3000 ms/);
    // It asked for the version itself rather than waiting for an announcement that never comes.
    expect(port.written).toBeGreaterThan(0);
    expect(() => board.setValve(true)).not.toThrow();
  });
});
