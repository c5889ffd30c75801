/**
 * The PostgreSQL history of monitors that share a fleet, measured (`npm run bench -- shared-history`;
 * `npx tsx test/bench/shared-history.ts` runs it alone). Prints JSON, asserts nothing. Needs
 * Debian's PostgreSQL (test/helpers/postgres.ts starts a throwaway server).
 *
 * historyPerDevicePerDay: the same two devices as the file's figure in the monitor bench (real
 * Tracker on a virtual clock, counters every second, 2 days, default retention): a quiet device
 * (heartbeat every 10 s) and a flapping one (silent 20 s of every minute), on one shard's log in
 * PostgreSQL. `rows` and `jsonBytes` (the entries as text, what the file would hold) are what is
 * left after a new owner's start (it compacts, as a restarted monitor does); `peakRows` is the
 * most the shard held between compactions; `diskBytes` is rows x the measured size of one row on
 * disk with its two indexes (100,000 such rows, after VACUUM FULL).
 */
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { VirtualClock } from '../../src/clock/virtual-clock.js';
import { PgHistory } from '../../src/monitor/pg-history.js';
import { shardOf } from '../../src/monitor/shards.js';
import { Tracker } from '../../src/monitor/tracker.js';
import type { Alert } from '../../src/monitor/types.js';
import { startPostgres } from '../helpers/postgres.js';

const DAY = 86_400_000;

async function lease(pool: pg.Pool, shard: number, instance: string): Promise<string> {
  const { rows } = await pool.query<{ epoch: string }>(`UPDATE aquastop_shards SET owner = $1, epoch = epoch + 1, expires_at = 'infinity' WHERE shard = $2 RETURNING epoch::text`, [
    instance,
    shard,
  ]);
  return rows[0]!.epoch;
}

async function perDevice(url: string, kind: 'quiet' | 'flapping', days: number): Promise<Record<string, number>> {
  const id = `bench-${kind}`;
  const shard = shardOf(id);
  const store = new PgHistory({ url, instance: 'bench', statementTimeoutMs: 30_000 });
  await store.init();
  const [log] = await store.openHeld([{ shard, epoch: await lease(store.pool, shard, 'bench') }]);
  const clock = new VirtualClock(Date.UTC(2026, 0, 1));
  const alerts: Alert[] = [];
  const tracker = new Tracker({ clock, log: log!, alerts: { send: (a) => alerts.push(a) }, snapshotMs: 1000 });
  tracker.start();
  let peakRows = 0;
  let seq = 0;
  const end = clock.now() + days * DAY;
  const started = Date.now();
  while (clock.now() < end) {
    // one minute: heartbeats at 0, 10, 20, 30 s; flapping: silent from 30 to 60 s (DOWN at 45 s)
    for (let s = 0; s < 60; s += 10) {
      if (kind === 'quiet' || s <= 30) tracker.onHeartbeat(id, { seq: ++seq, boot: 1, uptimeS: seq * 10, intervalS: 10, state: 'idle', fault: null, ts: '' });
      clock.advance(10_000);
    }
    await store.flushed();
    peakRows = Math.max(peakRows, log!.lines);
  }
  tracker.stop();
  await store.flushed();
  const wallS = (Date.now() - started) / 1000;
  await store.close();
  // A new owner takes the shard: it replays and compacts, as a restarted monitor does.
  const next = new PgHistory({ url, instance: 'next', statementTimeoutMs: 30_000 });
  const [taken] = await next.openHeld([{ shard, epoch: await lease(next.pool, shard, 'next') }]);
  new Tracker({ clock, log: taken!, snapshotMs: 0 }).start();
  await next.flushed();
  const { rows } = await next.pool.query<{ rows: string; json: string }>('SELECT count(*) AS rows, sum(octet_length(entry::text)) AS json FROM aquastop_history WHERE shard = $1', [
    shard,
  ]);
  await next.close();
  return {
    rows: Math.round(Number(rows[0]!.rows) / days),
    jsonBytes: Math.round(Number(rows[0]!.json) / days),
    peakRows: Math.round(peakRows / days),
    ...(kind === 'flapping' ? { flapsPerDay: 1440, alerts: alerts.length } : {}),
    simulatedDaysPerWallS: Math.round((days / wallS) * 100) / 100,
  };
}

/** Bytes one history row takes on disk with its indexes: `copies` rows shaped like the shard's, after VACUUM FULL. */
async function bytesPerRow(url: string, copies: number): Promise<number> {
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  pool.on('error', () => undefined);
  try {
    await pool.query('DELETE FROM aquastop_history');
    await pool.query(
      `INSERT INTO aquastop_history (shard, device, entry)
       SELECT g % 64, 'dishwasher-' || g, jsonb_build_object('type', 'counters', 't', 1798761600000 + g, 'id', 'dishwasher-' || g, 'received', 17280, 'lost', 3, 'lastSeen', 1798761600000 + g,
         'intervalS', 10, 'boot', 2, 'breaker', 'armed', 'state', 'armed.idle', 'heard', 1798761600000 + g)
       FROM generate_series(1, $1) g`,
      [copies],
    );
    await pool.query('VACUUM FULL aquastop_history');
    const { rows } = await pool.query<{ size: string }>(`SELECT pg_total_relation_size('aquastop_history') AS size`);
    return Math.round(Number(rows[0]!.size) / copies);
  } finally {
    await pool.end();
  }
}

export async function run(): Promise<Record<string, unknown>> {
  const server = await startPostgres();
  try {
    const url = await server.createDatabase('bench');
    const quiet = await perDevice(url, 'quiet', 2);
    const flapping = await perDevice(url, 'flapping', 2);
    const row = await bytesPerRow(url, 100_000);
    return {
      bench: 'shared-history',
      historyPerDevicePerDay: {
        quiet: { ...quiet, diskBytes: quiet.rows! * row },
        flapping: { ...flapping, diskBytes: flapping.rows! * row },
      },
      diskBytesPerRow: row,
    };
  } finally {
    await server.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(`${JSON.stringify(await run(), null, 2)}\n`);
}
