import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DeviceOutbox, type WireFaultEvent } from '../../src/telemetry/outbox.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'aquastop-outbox-'));
  dirs.push(d);
  return d;
};
const event = (id: string): WireFaultEvent => ({
  id,
  event: 'raised',
  code: 'i30',
  display: ',30',
  text: 'water in the base pan',
  severity: 'critical',
  reset: 'manual',
  ts: '2026-11-23T00:00:00.000Z',
});

describe('the device outbox', () => {
  it('counts boots across runs and numbers events by boot', () => {
    const dataDir = tmp();
    const first = new DeviceOutbox({ dataDir, deviceId: 'd1' });
    first.begin();
    expect([first.boot, first.nextId(), first.nextId()]).toEqual([1, '1-1', '1-2']);
    const second = new DeviceOutbox({ dataDir, deviceId: 'd1' });
    second.begin();
    expect([second.boot, second.nextId()]).toEqual([2, '2-1']);
  });

  it('keeps unacknowledged events on disk, in order, for the next run', () => {
    const dataDir = tmp();
    const a = new DeviceOutbox({ dataDir, deviceId: 'd1' });
    a.begin();
    a.add(event('1-1'));
    a.add(event('1-2'));
    a.add(event('1-3'));
    a.ack('1-2');
    const b = new DeviceOutbox({ dataDir, deviceId: 'd1' });
    b.begin();
    expect(b.pending().map((e) => e.id)).toEqual(['1-1', '1-3']);
  });

  it('is bounded: past the limit the oldest is dropped and counted, never the newest', () => {
    const o = new DeviceOutbox({ dataDir: tmp(), deviceId: 'd1', limit: 3 });
    o.begin();
    for (let i = 1; i <= 5; i++) o.add(event(`1-${i}`));
    expect([o.pending().map((e) => e.id), o.dropped]).toEqual([['1-3', '1-4', '1-5'], 2]);
  });

  it('moves an unreadable file aside and numbers boots by wall-clock seconds, so ids never repeat', () => {
    const dataDir = tmp();
    mkdirSync(join(dataDir, 'd1'));
    writeFileSync(join(dataDir, 'd1', 'telemetry.json'), '{"version":1,"boot":');
    const errors: string[] = [];
    const o = new DeviceOutbox({ dataDir, deviceId: 'd1', onError: (m) => errors.push(m), wallNow: () => 1_795_000_000_123 });
    o.begin();
    expect(o.boot).toBe(1_795_000_000);
    expect(errors).toEqual([expect.stringMatching(/telemetry\.json is unreadable; kept as .*\.corrupt, starting afresh$/)]);
    expect(existsSync(join(dataDir, 'd1', 'telemetry.json.corrupt'))).toBe(true);
    expect(JSON.parse(readFileSync(join(dataDir, 'd1', 'telemetry.json'), 'utf8')).boot).toBe(1_795_000_000);
  });

  it('reports a data directory it cannot write, once per boot, and keeps events in memory', () => {
    const dataDir = join(tmp(), 'a-file');
    writeFileSync(dataDir, 'not a directory');
    const errors: string[] = [];
    let now = 1_795_000_000_000;
    const o = new DeviceOutbox({ dataDir, deviceId: 'd1', onError: (m) => errors.push(m), wallNow: () => now });
    o.begin();
    expect(o.boot).toBe(1_795_000_000);
    expect(errors).toHaveLength(1);
    o.add(event('x-1'));
    expect(o.pending().map((e) => e.id)).toEqual(['x-1']);
    now += 5_000;
    // A power cut and restore in the same process: the boot moves on, the event is still there.
    o.begin();
    expect(o.boot).toBe(1_795_000_005);
    expect(o.pending().map((e) => e.id)).toEqual(['x-1']);
  });
});
