/**
 * Monitors that share a fleet, the parts: the shard of a device id, the history in a real
 * PostgreSQL (round trip, compaction's rewrite, the fence that keeps an instance that lost a
 * lease from writing), two in-process monitors splitting a fleet and handing it over on a clean
 * stop, and `--history` checked at the edge without echoing a password. The takeover after a
 * SIGKILL, with 1,000 devices, is test/monitor/takeover.test.ts.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import pg from 'pg';
import { startMonitor, type Monitor } from '../../src/monitor/index.js';
import { parseMonitorOptions } from '../../src/monitor/options.js';
import { PgHistory, PgShardLog, QUEUE_MAX } from '../../src/monitor/pg-history.js';
import type { SharedFleet } from '../../src/monitor/shared.js';
import { SHARD_COUNT, shardOf } from '../../src/monitor/shards.js';
import type { Alert, DeviceReport, LogEntry } from '../../src/monitor/types.js';
import { aquastop } from '../helpers/cli.js';
import { freePort } from '../e2e/start-process.js';
import { hasPostgres, startPostgres, type Postgres } from '../helpers/postgres.js';
import { silentLogger, startBroker, startWebhookReceiver, waitFor } from './helpers.js';

describe('the shard of a device', () => {
  it('is a stable hash of the id: the same on every instance and in every version', () => {
    // FNV-1a 32 of the UTF-8 id, modulo 64: changing it would move devices between shards' histories.
    expect(['dishwasher-1', 'washer-kitchen', 'fleet-0000', 'fleet-0999', 'ü'].map((id) => shardOf(id))).toEqual([15, 20, 6, 3, 10]);
    expect(shardOf('anything', 1)).toBe(0);
  });

  it('spreads 10,000 ids over the 64 shards within 25 % of the mean', () => {
    const counts = new Array<number>(SHARD_COUNT).fill(0);
    for (let i = 0; i < 10_000; i++) counts[shardOf(`dev-${i}`)]!++;
    const mean = 10_000 / SHARD_COUNT;
    expect(Math.min(...counts)).toBeGreaterThan(mean * 0.75);
    expect(Math.max(...counts)).toBeLessThan(mean * 1.25);
  });
});

describe('--history', () => {
  it('must be a PostgreSQL URL: one line naming the flag, and never the password', () => {
    for (const bad of ['mysql://aq:s3cret-pw@db:3306/x', 'postgres//aq:s3cret-pw@db/x', 'db.example:5432', 'postgres://aq:s3cret-pw@/x']) {
      let message = '';
      try {
        parseMonitorOptions({ dataDir: 'x', historyUrl: bad });
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toMatch(/^--history must be postgres:\/\/user:password@host:port\/database/);
      expect(message.split('\n')).toHaveLength(1);
      expect(message).not.toContain('s3cret-pw');
    }
    expect(parseMonitorOptions({ dataDir: 'x', historyUrl: 'postgresql://aq:pw@db.example:5432/aquastop' }).historyUrl).toBe('postgresql://aq:pw@db.example:5432/aquastop');
    expect(() => parseMonitorOptions({ dataDir: 'x', historyUrl: 'postgres://db/x', leaseMs: '500ms' })).toThrow(/^--lease must be at least 1s/);
  });

  it('from the command line: a bad URL or an unreachable database is one line on stderr, exit 2, the password nowhere', async () => {
    const closed = await freePort();
    const cases: Array<[string, RegExp]> = [
      ['postgres//aq:s3cret-pw@127.0.0.1/x', /^aquastop: --history must be postgres:\/\/user:password@host:port\/database .*got "\*\*\*@127\.0\.0\.1\/x"/],
      [
        `postgres://aq:s3cret-pw@127.0.0.1:${closed}/aquastop`,
        new RegExp(`^aquastop: --history: cannot use the history database at postgres://127\\.0\\.0\\.1:${closed}/aquastop: .*ECONNREFUSED`),
      ],
    ];
    for (const [url, expected] of cases) {
      const r = await aquastop(['monitor', '--port', '0', '--broker', 'mqtt://127.0.0.1:1', '--history', url], { timeoutMs: 30_000 });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
      expect(r.stderr.trim()).toMatch(expected);
      expect(r.stdout + r.stderr).not.toContain('s3cret-pw');
    }
  });
});

describe('the PostgreSQL history queue', () => {
  it(`gives its shards up when more than ${QUEUE_MAX} entries wait for the database, rather than growing or dropping history`, async () => {
    const closed = await freePort();
    const lost: number[] = [];
    const errors: string[] = [];
    const store = new PgHistory({
      url: `postgres://aq:pw@127.0.0.1:${closed}/x`,
      instance: 'slow',
      statementTimeoutMs: 1000,
      onLost: (s) => lost.push(s),
      onError: (m) => errors.push(m),
    });
    const log = new PgShardLog(9, '1', [], 0, store);
    const waits: boolean[] = [];
    log.afterCommit((ok) => waits.push(ok));
    const entry = (t: number): LogEntry => ({ type: 'counters', t, id: 'd', received: t, lost: 0, lastSeen: t, intervalS: 1, boot: 1, breaker: null, state: null });
    for (let t = 0; t < QUEUE_MAX; t += 1000) log.append(Array.from({ length: 1000 }, (_, i) => entry(t + i)));
    expect(log.closed).toBe(false);
    log.append(entry(QUEUE_MAX));
    expect(log.closed).toBe(true);
    await new Promise((r) => setImmediate(r));
    expect(lost).toEqual([9]);
    expect(waits).toEqual([false]);
    expect(errors.some((m) => m.startsWith(`more than ${QUEUE_MAX} history entries wait`))).toBe(true);
    log.append(entry(QUEUE_MAX + 1)); // a lost shard's log takes nothing more
    await store.close();
  });
});

describe.skipIf(!hasPostgres())('the history in PostgreSQL', () => {
  let server: Postgres;
  beforeAll(async () => {
    server = await startPostgres();
  });
  afterAll(async () => {
    await server?.close();
  });

  /** Gives `instance` the lease of `shard` (epoch 1 more), as leases.ts would. */
  async function lease(url: string, shard: number, instance: string): Promise<string> {
    const c = new pg.Client(url);
    await c.connect();
    try {
      const { rows } = await c.query<{ epoch: string }>(
        `UPDATE aquastop_shards SET owner = $1, epoch = epoch + 1, expires_at = clock_timestamp() + interval '1 minute' WHERE shard = $2 RETURNING epoch::text`,
        [instance, shard],
      );
      return rows[0]!.epoch;
    } finally {
      await c.end();
    }
  }

  const status = (t: number, id: string, s: 'up' | 'down'): LogEntry => ({ type: 'status', t, id, status: s, reason: 'test' });

  it("keeps each shard's log in order: appends and a compaction's rewrite come back on another instance", async () => {
    const url = await server.createDatabase('roundtrip');
    const a = new PgHistory({ url, instance: 'a', statementTimeoutMs: 5000 });
    await a.init();
    const epoch = await lease(url, 7, 'a');
    const [log] = await a.openHeld([{ shard: 7, epoch }]);
    log!.append([{ type: 'start', t: 1 }, status(2, 'x', 'up'), status(3, 'x', 'down')]);
    log!.append(status(4, 'x', 'up'));
    const committed = new Promise<boolean>((resolve) => log!.afterCommit(resolve));
    expect(await committed).toBe(true);
    log!.rewrite([{ type: 'start', t: 1 }, status(4, 'x', 'up')]);
    log!.append(status(5, 'x', 'down'));
    await a.flushed();
    const b = new PgHistory({ url, instance: 'b', statementTimeoutMs: 5000 });
    const [again, other] = await b.open([7, 8]);
    expect(again!.replay()).toEqual([{ type: 'start', t: 1 }, status(4, 'x', 'up'), status(5, 'x', 'down')]);
    expect(again!.replay()).toEqual(log!.replay());
    expect(other!.replay()).toEqual([]);
    await a.close();
    await b.close();
  });

  it('refuses the writes of an instance whose lease was taken: nothing of it lands, its waits answer false, its shard is dropped', async () => {
    const url = await server.createDatabase('fence');
    const lost: number[] = [];
    const zombie = new PgHistory({ url, instance: 'zombie', statementTimeoutMs: 5000, onLost: (s) => lost.push(s) });
    await zombie.init();
    const epoch = await lease(url, 3, 'zombie');
    const [log] = await zombie.openHeld([{ shard: 3, epoch }]);
    log!.append(status(1, 'd', 'up'));
    await zombie.flushed();
    // Another instance takes the shard (its lease expired while the zombie was paused).
    const next = await lease(url, 3, 'next');
    expect(next).not.toBe(epoch);
    log!.append([status(2, 'd', 'down'), { type: 'alert', t: 2, id: 'd', kind: 'down', code: null, reason: 'zombie' }]);
    const answered = await new Promise<boolean>((resolve) => log!.afterCommit(resolve));
    expect(answered).toBe(false);
    expect(lost).toEqual([3]);
    const reader = new PgHistory({ url, instance: 'reader', statementTimeoutMs: 5000 });
    const [now] = await reader.open([3]);
    expect(now!.replay()).toEqual([status(1, 'd', 'up')]);
    // The same instance with the right epoch but an expired lease is refused too.
    const c = new pg.Client(url);
    await c.connect();
    await c.query(`UPDATE aquastop_shards SET owner = 'zombie', epoch = $1, expires_at = clock_timestamp() - interval '1 second' WHERE shard = 3`, [epoch]);
    await c.end();
    const [late] = await zombie.openHeld([{ shard: 3, epoch }]);
    late!.append(status(3, 'd', 'up'));
    expect(await new Promise<boolean>((resolve) => late!.afterCommit(resolve))).toBe(false);
    const [still] = await reader.open([3]);
    expect(still!.replay()).toHaveLength(1);
    await zombie.close();
    await reader.close();
  });

  it('a wrong password for the database: one line naming --history and the database, exit 2, no password', async () => {
    const wrong = server.url.replace(server.password, 'wr0ng-pass');
    const r = await aquastop(['monitor', '--port', '0', '--broker', 'mqtt://127.0.0.1:1', '--history', wrong], { timeoutMs: 30_000 });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr.trim()).toBe(
      `aquastop: --history: cannot use the history database at postgres://127.0.0.1:${server.port}/postgres: password authentication failed for user "aq"`,
    );
    expect(r.stdout + r.stderr).not.toContain('wr0ng-pass');
    expect(r.stdout + r.stderr).not.toContain(server.password);
  });

  it('two monitors split the fleet (each device tracked by exactly one), answer for all of it, and a clean stop hands everything over without an alert', async () => {
    const url = await server.createDatabase('split');
    const broker = await startBroker();
    const hook = await startWebhookReceiver();
    const monitors: Monitor[] = [];
    const pub = await mqtt.connectAsync(broker.url);
    const ids = Array.from({ length: 60 }, (_, i) => `split-${i}`);
    let seq = 0;
    const beat = () => {
      seq++;
      for (const id of ids)
        pub.publish(`aquastop/${id}/heartbeat`, JSON.stringify({ seq, boot: 1, uptimeS: seq, intervalS: 2, state: 'idle', fault: null, ts: new Date().toISOString() }));
    };
    // 2 s: DOWN after 3 s leaves room for a loaded machine's late timers (a DOWN here would be false).
    const timer = setInterval(beat, 2000);
    try {
      for (let i = 0; i < 2; i++)
        monitors.push(await startMonitor({ brokerUrl: broker.url, port: 0, dataDir: `unused-${i}`, historyUrl: url, leaseMs: 1500, webhookUrl: hook.url, logger: silentLogger() }));
      const fleets = monitors.map((m) => m.tracker as SharedFleet);
      await waitFor(() => fleets.every((f) => f.shards().length === SHARD_COUNT / 2), 15_000, 'each monitor holding half the shards');
      await waitFor(
        () => fleets[0]!.size + fleets[1]!.size === ids.length && fleets.every((f) => f.reports().every((r) => r.status === 'up')),
        15_000,
        'every device UP on its owner',
      );
      const tracked = fleets.map((f) => new Set(f.ids()));
      expect([...tracked[0]!].filter((id) => tracked[1]!.has(id))).toEqual([]);
      expect(new Set([...tracked[0]!, ...tracked[1]!]).size).toBe(ids.length);
      for (const id of ids) expect(tracked[fleets[0]!.shards().includes(shardOf(id)) ? 0 : 1]!.has(id)).toBe(true);
      // Either one answers for the whole fleet (the other's devices as published, within REPORT_MS).
      const fleetView = async (m: Monitor) => (await (await fetch(`${m.url}/api/devices`)).json()) as Array<{ id: string; status: string }>;
      for (const m of monitors) {
        let view = await fleetView(m);
        for (let i = 0; i < 100 && view.length < ids.length; i++) {
          await new Promise((r) => setTimeout(r, 100));
          view = await fleetView(m);
        }
        expect(view.map((r) => r.id)).toEqual([...ids].sort());
        expect(view.filter((r) => r.status !== 'up')).toEqual([]);
      }
      // A device's history from the instance that does not track it: read from PostgreSQL.
      const elsewhere = [...tracked[1]!][0]!;
      const items = ((await (await fetch(`${monitors[0]!.url}/api/devices/${elsewhere}/history`)).json()) as { items: Array<{ type: string; status?: string }> }).items;
      const statuses = items.filter((i) => i.type === 'status').map((i) => i.status);
      expect(statuses.length).toBeGreaterThan(0);
      expect(new Set(statuses)).toEqual(new Set(['up']));
      expect(((await (await fetch(`${monitors[0]!.url}/api/devices/${elsewhere}`)).json()) as { status: string }).status).toBe('up');
      const before = fleets[1]!.reports().find((r) => tracked[1]!.has(r.id))!;
      await monitors[1]!.stop();
      await waitFor(() => fleets[0]!.shards().length === SHARD_COUNT && fleets[0]!.size === ids.length, 10_000, 'the other monitor holding every shard');
      await waitFor(
        () => fleets[0]!.report(before.id)!.heartbeatsReceived > before.heartbeatsReceived && fleets[0]!.report(before.id)!.status === 'up',
        10_000,
        'a handed-over device counted on',
      );
      expect(hook.received.filter((a: Alert) => a.kind !== 'up')).toEqual([]);
    } finally {
      clearInterval(timer);
      for (const m of monitors) await m.stop();
      await pub.endAsync();
      await hook.close();
      await broker.close();
    }
  });

  it('a dead monitor\'s last renewal ends its run: a device DOWN all the while stays DOWN until then, not "unknown" from its last entry', async () => {
    const url = await server.createDatabase('silent');
    const broker = await startBroker();
    const pub = await mqtt.connectAsync(broker.url);
    const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
    const dead = spawn(
      process.execPath,
      ['--import', 'tsx', cli, 'monitor', '--broker', broker.url, '--port', '0', '--data-dir', 'unused-dead', '--history', url, '--lease', '1s'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    dead.stdout.on('data', (b: Buffer) => (out += b.toString()));
    dead.stderr.on('data', (b: Buffer) => (out += b.toString()));
    let next: Monitor | null = null;
    try {
      await waitFor(() => /took 64 shard/.test(out) && /monitor: http:\/\//.test(out), 30_000, 'the first monitor up, holding every shard');
      const deadUrl = /monitor: (http:\/\/\S+)\/api\/devices/.exec(out)![1]!;
      // The only device of its shard: UP 3 s, then silent (DOWN after 0.75 s), watched DOWN 5 s more.
      for (let seq = 1; seq <= 7; seq++) {
        pub.publish('aquastop/lonely/heartbeat', JSON.stringify({ seq, boot: 1, uptimeS: seq, intervalS: 0.5, state: 'idle', fault: null, ts: new Date().toISOString() }));
        await new Promise((r) => setTimeout(r, 500));
      }
      const report = async (base: string) => (await (await fetch(`${base}/api/devices/lonely`)).json()) as DeviceReport;
      for (let i = 0; i < 100 && (await report(deadUrl)).status !== 'down'; i++) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 5000));
      const before = await report(deadUrl);
      expect(before.status).toBe('down');
      dead.kill('SIGKILL');
      await once(dead, 'exit');
      next = await startMonitor({ brokerUrl: broker.url, port: 0, dataDir: 'unused-next', historyUrl: url, leaseMs: 1000, logger: silentLogger() });
      const fleet = next.tracker as SharedFleet;
      await waitFor(() => fleet.report('lonely') !== null, 10_000, 'the shard taken over');
      const after = fleet.report('lonely')!;
      // Up about 3 s, DOWN about 5 s watched (less at most one renewal period, 1/3 s): about 0.4.
      // Ending the run at its last entry (the DOWN itself) would leave no down time: 1.
      expect(before.availability.h1!).toBeLessThan(0.5);
      expect(after.availability.h1!).toBeLessThan(0.5);
      expect(after.availability.h1!).toBeCloseTo(before.availability.h1!, 1);
      expect(after.errorBudgetLeft).toBeLessThanOrEqual(before.errorBudgetLeft + 0.05);
    } finally {
      if (dead.exitCode === null && dead.signalCode === null) dead.kill('SIGKILL');
      await next?.stop();
      await pub.endAsync();
      await broker.close();
    }
  });
});
