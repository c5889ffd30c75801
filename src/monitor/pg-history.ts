/**
 * The monitor's history in PostgreSQL (`--history postgres://...`), for monitors that share a
 * fleet (shared.ts; src/monitor/README.md "Monitors that share a fleet"). Tables (created on
 * first use, under a transaction-level advisory lock so instances starting together do not race):
 * - `aquastop_history (seq, shard, device, entry jsonb)`: every shard's event log, the same
 *   entries as the file's lines (types.ts), in `seq` order per shard; compaction (compaction.ts)
 *   rewrites one shard's rows;
 * - `aquastop_shards (shard, owner, epoch, expires_at, acquired_at)`: one lease per shard
 *   (leases.ts); `epoch` counts acquisitions;
 * - `aquastop_monitors (instance, url, started_at, expires_at)`: the live instances (and where
 *   their HTTP API is);
 * - `aquastop_reports (device, shard, report jsonb, updated_at)`: each device's last report as
 *   its owner published it, so any instance answers /api/devices for the whole fleet.
 *
 * Writes are fenced: each batch is one statement that first locks the writer's lease rows
 * (`FOR SHARE`) and writes only the shards whose lease it still holds, by owner and epoch, and
 * unexpired by the database's clock. A takeover (an UPDATE of that row) waits for a batch in
 * flight and a batch after it finds the lease gone; so an instance that lost a shard (paused,
 * partitioned, its lease taken) can never write into it, and the new owner reads every row the
 * old one wrote. Times for leases are the database's (clock_timestamp()), never an instance's.
 */
import pg from 'pg';
import type { HistoryStore, ShardLog } from './history-store.js';
import { SHARD_COUNT } from './shards.js';
import { logEntrySchema, type DeviceReport, type LogEntry } from './types.js';

/** Most history entries waiting for the database (about 100 s of counter snapshots of 1,000 devices). */
export const QUEUE_MAX = 100_000;

/** One write in order: entries appended, the whole log replaced (compaction), or a wait for what came before. */
type Item =
  | { readonly log: PgShardLog; readonly kind: 'append' | 'rewrite'; readonly entries: readonly LogEntry[] }
  | { readonly log: PgShardLog; readonly kind: 'callback'; readonly fn: (committed: boolean) => void };

/** A lease as the writer holds it: the shard and the epoch it acquired. */
export interface HeldShard {
  readonly shard: number;
  readonly epoch: string;
}

export interface PgHistoryOptions {
  readonly url: string;
  /** This instance's id, the owner name in the lease table. */
  readonly instance: string;
  /** Each statement's bound, ms (a hung database must not hold a lease round or a batch forever). */
  readonly statementTimeoutMs: number;
  /** Connection problems, once per outage (the caller logs without the URL's credentials). */
  readonly onError?: (message: string) => void;
  /** A shard whose write was refused (its lease is gone): the caller drops it. */
  readonly onLost?: (shard: number) => void;
}

const SCHEMA_LOCK = 0x61717561; // "aqua": serialises CREATE TABLE IF NOT EXISTS of instances starting together

const SCHEMA = `
CREATE TABLE IF NOT EXISTS aquastop_history (
  seq bigserial PRIMARY KEY,
  shard smallint NOT NULL,
  device text,
  entry jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS aquastop_history_shard ON aquastop_history (shard, seq);
CREATE INDEX IF NOT EXISTS aquastop_history_device ON aquastop_history (device, seq) WHERE device IS NOT NULL;
CREATE TABLE IF NOT EXISTS aquastop_shards (
  shard smallint PRIMARY KEY,
  owner text,
  epoch bigint NOT NULL DEFAULT 0,
  expires_at timestamptz NOT NULL DEFAULT '-infinity',
  acquired_at timestamptz,
  renewed_at timestamptz
);
ALTER TABLE aquastop_shards ADD COLUMN IF NOT EXISTS renewed_at timestamptz;
CREATE TABLE IF NOT EXISTS aquastop_monitors (
  instance text PRIMARY KEY,
  url text NOT NULL,
  started_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS aquastop_reports (
  device text PRIMARY KEY,
  shard smallint NOT NULL,
  report jsonb NOT NULL,
  updated_at timestamptz NOT NULL
);
INSERT INTO aquastop_shards (shard) SELECT generate_series(0, ${SHARD_COUNT - 1}) ON CONFLICT DO NOTHING;
`;

/** The leases of `$1` (owner) among shards `$2` with epochs `$3`, unexpired, locked against a takeover for this statement. */
const HELD = `SELECT l.shard FROM aquastop_shards l JOIN unnest($2::int[], $3::bigint[]) AS m(shard, epoch) ON l.shard = m.shard AND l.epoch = m.epoch
  WHERE l.owner = $1 AND l.expires_at > clock_timestamp() FOR SHARE OF l`;

const WRITE = `WITH held AS (${HELD}),
wiped AS (DELETE FROM aquastop_history h WHERE h.shard = ANY($4::int[]) AND h.shard IN (SELECT shard FROM held)),
added AS (
  INSERT INTO aquastop_history (shard, device, entry)
  SELECT u.shard, u.device, u.entry FROM unnest($5::int[], $6::text[], $7::jsonb[]) WITH ORDINALITY AS u(shard, device, entry, n)
  WHERE u.shard IN (SELECT shard FROM held) ORDER BY u.n
)
SELECT shard FROM held`;

const PUBLISH = `WITH held AS (${HELD}),
gone AS (DELETE FROM aquastop_reports r WHERE r.shard IN (SELECT shard FROM held) AND NOT (r.device = ANY($4::text[]))),
put AS (
  INSERT INTO aquastop_reports (device, shard, report, updated_at)
  SELECT u.device, u.shard, u.report, clock_timestamp() FROM unnest($4::text[], $5::int[], $6::jsonb[]) AS u(device, shard, report)
  WHERE u.shard IN (SELECT shard FROM held)
  ON CONFLICT (device) DO UPDATE SET shard = EXCLUDED.shard, report = EXCLUDED.report, updated_at = EXCLUDED.updated_at
)
SELECT shard FROM held`;

/**
 * A connection pool to the history database. Connections stay open (a login costs a SCRAM
 * exchange, CPU the monitor needs for heartbeats); an idle one that breaks is replaced by the
 * next query, never crashes the process.
 */
export function historyPool(url: string, max: number, statementTimeoutMs: number, onError: (message: string) => void): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    idleTimeoutMillis: 0,
    connectionTimeoutMillis: Math.max(5000, statementTimeoutMs),
    statement_timeout: statementTimeoutMs,
    query_timeout: statementTimeoutMs + 1000,
    application_name: 'aquastop-monitor',
    keepAlive: true,
  });
  pool.on('error', (err) => onError(err.message));
  return pool;
}

export class PgHistory implements HistoryStore {
  readonly shards = SHARD_COUNT;
  readonly pool: pg.Pool;
  readonly instance: string;
  private queue: Item[] = [];
  private flushing: Promise<void> | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private retryMs = 0;
  private closed = false;
  private failing = false;
  /** Entries in the queue (QUEUE_MAX bounds them). */
  private queued = 0;
  /** Rows written and batches committed (metrics and tests). */
  readonly stats = { rows: 0, batches: 0, refused: 0 };

  constructor(private readonly options: PgHistoryOptions) {
    this.instance = options.instance;
    this.pool = historyPool(options.url, 4, options.statementTimeoutMs, (message) => this.options.onError?.(message));
  }

  /** Connects and creates the tables if missing; rejects with the database's reason. */
  async init(): Promise<void> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      await c.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
      await c.query(SCHEMA);
      await c.query('COMMIT');
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      c.release();
    }
  }

  /** Loads shards without leases (tests and tools); the monitor opens with `openHeld`. */
  async open(shards: readonly number[]): Promise<ShardLog[]> {
    return this.openHeld(shards.map((shard) => ({ shard, epoch: '0' })));
  }

  /** Loads each held shard's log (every row, in order); its writes are fenced by that lease. */
  async openHeld(held: readonly HeldShard[]): Promise<PgShardLog[]> {
    if (held.length === 0) return [];
    const { rows } = await this.pool.query<{ shard: number; entry: unknown }>('SELECT shard, entry FROM aquastop_history WHERE shard = ANY($1::int[]) ORDER BY shard, seq', [
      held.map((h) => h.shard),
    ]);
    const byShard = new Map<number, { entries: LogEntry[]; skipped: number }>(held.map((h) => [h.shard, { entries: [], skipped: 0 }]));
    for (const row of rows) {
      const slot = byShard.get(row.shard)!;
      const r = logEntrySchema.safeParse(row.entry);
      if (r.success) slot.entries.push(r.data);
      else slot.skipped++;
    }
    return held.map((h) => new PgShardLog(h.shard, h.epoch, byShard.get(h.shard)!.entries, byShard.get(h.shard)!.skipped, this));
  }

  /** @internal the logs' way in. */
  enqueue(item: Item): void {
    if (this.closed) {
      if (item.kind === 'callback') item.fn(false);
      return;
    }
    this.queue.push(item);
    if (item.kind !== 'callback') this.queued += item.entries.length;
    if (this.queued > QUEUE_MAX) this.overflow();
    const urgent = item.kind === 'callback' || item.kind === 'rewrite' || item.entries.some((e) => e.type !== 'counters');
    this.schedule(urgent ? 0 : 250);
  }

  /** @internal a lost or closed log: its writes not yet sent are dropped, its waits answered false. */
  discard(log: PgShardLog): void {
    const keep: Item[] = [];
    for (const item of this.queue) {
      if (item.log !== log) keep.push(item);
      else if (item.kind === 'callback') item.fn(false);
    }
    this.queue = keep;
    this.queued = keep.reduce((n, i) => n + (i.kind === 'callback' ? 0 : i.entries.length), 0);
  }

  /**
   * The database takes writes slower than they come (or not at all while the leases still renew
   * on their own connection): the shards with writes waiting are given up, as if their leases
   * were lost, rather than holding an unbounded queue or dropping history. Their leases expire
   * unrenewed and another instance (or this one, later) takes them from what was written.
   */
  private overflow(): void {
    const logs = new Set(this.queue.map((i) => i.log));
    this.options.onError?.(`more than ${QUEUE_MAX} history entries wait for the database: giving up shard(s) ${[...logs].map((l) => l.shard).join(' ')}`);
    for (const log of logs) {
      log.close();
      this.stats.refused++;
      // Not from inside the tracker's write that overflowed: the caller stops that tracker.
      setImmediate(() => this.options.onLost?.(log.shard));
    }
  }

  private schedule(ms: number): void {
    if (this.flushing) return; // the running flush schedules the next one
    const delay = Math.max(ms, this.retryMs);
    if (this.timer !== null) {
      if (delay > 0) return; // already due
      clearTimeout(this.timer);
    }
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flushing = this.flush().finally(() => {
        this.flushing = null;
        if (this.queue.length > 0) this.schedule(this.queue.some((i) => i.kind !== 'append' || i.entries.some((e) => e.type !== 'counters')) ? 0 : 250);
      });
    }, delay);
  }

  async flushed(): Promise<void> {
    for (let i = 0; i < 1000 && (this.queue.length > 0 || this.flushing || this.timer); i++) {
      if (this.flushing) await this.flushing;
      else if (this.queue.length > 0 || this.timer) {
        if (this.timer) clearTimeout(this.timer);
        this.timer = null;
        this.flushing = this.flush().finally(() => (this.flushing = null));
        await this.flushing;
      }
    }
  }

  /** One batch: every queued write, fenced, in one statement; then the waits in order. */
  private async flush(): Promise<void> {
    this.queued = 0;
    const batch = this.queue.splice(0).filter((i) => {
      if (!i.log.closed) return true;
      if (i.kind === 'callback') i.fn(false);
      return false;
    });
    if (batch.length === 0) return;
    // Per log: only what follows its last rewrite in this batch (a rewrite holds the whole log).
    const lastRewrite = new Map<PgShardLog, number>();
    batch.forEach((item, n) => item.kind === 'rewrite' && lastRewrite.set(item.log, n));
    const shards: number[] = [];
    const rowShard: number[] = [];
    const rowDevice: Array<string | null> = [];
    const rowEntry: string[] = [];
    const logs = new Set<PgShardLog>();
    batch.forEach((item, n) => {
      if (item.kind === 'callback') return;
      if (n < (lastRewrite.get(item.log) ?? -1)) return;
      logs.add(item.log);
      for (const e of item.entries) {
        rowShard.push(item.log.shard);
        rowDevice.push('id' in e ? e.id : null);
        rowEntry.push(JSON.stringify(e));
      }
    });
    for (const log of logs) shards.push(log.shard);
    let held: Set<number>;
    if (logs.size === 0) {
      held = new Set(batch.map((i) => i.log.shard));
    } else {
      try {
        const { rows } = await this.pool.query<{ shard: number }>(WRITE, [
          this.instance,
          [...logs].map((l) => l.shard),
          [...logs].map((l) => l.epoch),
          [...lastRewrite.keys()].map((l) => l.shard),
          rowShard,
          rowDevice,
          rowEntry,
        ]);
        held = new Set(rows.map((r) => r.shard));
        this.stats.rows += rowEntry.length;
        this.stats.batches++;
        this.retryMs = 0;
        if (this.failing) this.failing = false;
      } catch (err) {
        // Not written: back in front of the queue, tried again with back-off (the lease's
        // validity bounds how long: a shard not renewed in time is dropped, its items with it).
        const back = batch.filter((i) => !i.log.closed);
        this.queue.unshift(...back);
        this.queued += back.reduce((n, i) => n + (i.kind === 'callback' ? 0 : i.entries.length), 0);
        this.retryMs = Math.min(5000, Math.max(250, this.retryMs * 2));
        if (!this.failing) this.options.onError?.(`cannot write the history: ${err instanceof Error ? err.message : String(err)}`);
        this.failing = true;
        return;
      }
    }
    const lost = new Set<PgShardLog>();
    for (const log of logs) if (!held.has(log.shard)) lost.add(log);
    for (const log of lost) {
      this.stats.refused++;
      log.closed = true;
      this.options.onLost?.(log.shard);
    }
    for (const item of batch) if (item.kind === 'callback') item.fn(!lost.has(item.log) && !item.log.closed);
  }

  /**
   * Publishes the reports of the devices of the held shards (and removes the rows of devices
   * they no longer track); returns the shards it could (a lost lease writes nothing).
   */
  async publishReports(held: readonly HeldShard[], reports: ReadonlyArray<{ readonly shard: number; readonly report: DeviceReport }>): Promise<Set<number>> {
    if (held.length === 0) return new Set();
    const { rows } = await this.pool.query<{ shard: number }>(PUBLISH, [
      this.instance,
      held.map((h) => h.shard),
      held.map((h) => h.epoch),
      reports.map((r) => r.report.id),
      reports.map((r) => r.shard),
      reports.map((r) => JSON.stringify(r.report)),
    ]);
    return new Set(rows.map((r) => r.shard));
  }

  /** The reports published by the owners of every shard but `except` (the caller's own, which it answers live). */
  async reports(except: readonly number[]): Promise<DeviceReport[]> {
    const { rows } = await this.pool.query<{ report: DeviceReport }>('SELECT report FROM aquastop_reports WHERE NOT (shard = ANY($1::int[]))', [except]);
    return rows.map((r) => r.report);
  }

  async report(id: string): Promise<DeviceReport | null> {
    const { rows } = await this.pool.query<{ report: DeviceReport }>('SELECT report FROM aquastop_reports WHERE device = $1', [id]);
    return rows[0]?.report ?? null;
  }

  /** A device's entries, oldest first, counters left out (the history an owner replays). */
  async deviceEntries(id: string): Promise<LogEntry[]> {
    const { rows } = await this.pool.query<{ entry: unknown }>("SELECT entry FROM aquastop_history WHERE device = $1 AND entry->>'type' <> 'counters' ORDER BY seq", [id]);
    const out: LogEntry[] = [];
    for (const row of rows) {
      const r = logEntrySchema.safeParse(row.entry);
      if (r.success) out.push(r.data);
    }
    return out;
  }

  /** Writes what waits (when the database answers), then closes the connections. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.flushed().catch(() => undefined);
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const item of this.queue.splice(0)) if (item.kind === 'callback') item.fn(false);
    await this.pool.end().catch(() => undefined);
  }
}

/** One shard's log in PostgreSQL: replay() from memory (what was loaded, and written since), writes queued to the store. */
export class PgShardLog implements ShardLog {
  closed = false;
  private mirror: LogEntry[];

  constructor(
    readonly shard: number,
    /** The lease epoch this log writes under. */
    readonly epoch: string,
    loaded: LogEntry[],
    readonly skipped: number,
    private readonly store: PgHistory,
  ) {
    this.mirror = loaded;
  }

  replay(): LogEntry[] {
    return [...this.mirror];
  }

  append(entries: LogEntry | readonly LogEntry[]): void {
    if (this.closed) return;
    const list = Array.isArray(entries) ? [...(entries as readonly LogEntry[])] : [entries as LogEntry];
    if (list.length === 0) return;
    this.mirror.push(...list);
    this.store.enqueue({ log: this, kind: 'append', entries: list });
  }

  rewrite(entries: readonly LogEntry[]): void {
    if (this.closed) return;
    this.mirror = [...entries];
    this.store.enqueue({ log: this, kind: 'rewrite', entries: this.mirror.slice() });
  }

  afterCommit(fn: (committed: boolean) => void): void {
    if (this.closed) fn(false);
    else this.store.enqueue({ log: this, kind: 'callback', fn });
  }

  /** Drops what was not yet sent; answers waits with false. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.store.discard(this);
  }

  /** Lines in memory (the same as in the table once written). */
  get lines(): number {
    return this.mirror.length;
  }
}
