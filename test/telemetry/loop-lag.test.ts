import { describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { LoopLagMonitor, LoopLagWindows } from '../../src/telemetry/loop-lag.js';
import { heartbeatSchema } from '../../src/protocol/topics.js';
import { startRig } from './rig.js';

/** Holds the event loop for `ms` of wall time, as a synchronous hash or a long parse would. */
function block(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

const turn = () => new Promise((r) => setTimeout(r, 30));

describe('event-loop lag', () => {
  it('sees a blocked loop in the window that held it, and starts a new window on every take', async () => {
    const m = new LoopLagMonitor(5);
    try {
      await turn();
      m.take();
      await turn();
      block(150);
      await turn();
      const held = m.take();
      expect(held.maxMs).toBeGreaterThanOrEqual(140);
      await turn();
      await turn();
      expect(m.take().maxMs).toBeLessThan(140);
    } finally {
      m.stop();
    }
    expect(m.take()).toEqual({ p50Ms: null, p99Ms: null, maxMs: null });
  });

  it('gives heartbeats the worst of the last windows, nothing before the first one ends, and forgets a spike after them', async () => {
    const w = new LoopLagWindows(100, 3, 5);
    try {
      expect(w.latest()).toBeNull();
      await turn();
      block(120);
      await expect.poll(() => w.latest()?.maxMs ?? 0, { timeout: 5_000, interval: 20 }).toBeGreaterThanOrEqual(100);
      // Three quiet windows later it is gone.
      await expect.poll(() => w.latest()?.maxMs ?? 1_000, { timeout: 5_000, interval: 50 }).toBeLessThan(100);
    } finally {
      w.stop();
    }
  });
});

describe('the heartbeat', () => {
  it('carries the loop lag of the process that sends it', async () => {
    const rig = await startRig({ broker: { kind: 'embedded', host: '127.0.0.1', port: 0, wsPort: null }, id: 'lag-dw', loopLagWindowMs: 1_000 });
    const watcher = await mqtt.connectAsync(rig.telemetry.brokerUrl, { reconnectPeriod: 0 });
    try {
      const beats: Record<string, unknown>[] = [];
      watcher.on('message', (_t, p) => beats.push(heartbeatSchema.parse(JSON.parse(p.toString()))));
      await watcher.subscribeAsync('aquastop/lag-dw/heartbeat', { qos: 0 });
      await turn();
      block(150);
      // Heartbeats every 10 s of virtual time, until one carries the window that saw the block. The
      // windows are 1 s of wall time and six are kept, so the block stays in sight for 6 s even on a
      // busy machine (with 200 ms windows it aged out once before the first heartbeat got through).
      await expect
        .poll(
          async () => {
            await rig.advance(10_000);
            return Math.max(0, ...beats.map((b) => (b.loopLagMaxMs as number | undefined) ?? 0));
          },
          { timeout: 20_000, interval: 60 },
        )
        .toBeGreaterThanOrEqual(140);
      expect(beats.at(-1)).toEqual(expect.objectContaining({ loopLagMs: expect.any(Number), loopLagMaxMs: expect.any(Number) }));
    } finally {
      await watcher.endAsync();
      await rig.stop();
    }
  }, 40_000);
});
