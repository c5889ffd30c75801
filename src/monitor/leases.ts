/**
 * Which instance tracks which shard: leases in PostgreSQL (tables in pg-history.ts), for
 * monitors that share a fleet (src/monitor/README.md "Monitors that share a fleet").
 *
 * Why leases in a table rather than session-level advisory locks: a lock lives as long as its
 * connection, and the server notices a dead client only when the connection breaks. A killed
 * process's socket closes at once, but a frozen or partitioned instance keeps its locks until
 * TCP keepalive gives up (2 hours by default), and the holder cannot tell when it lost one. A
 * lease has an expiry on the database's clock, so the takeover time has a bound that does not
 * depend on the network, the holder knows how long it may act without a renewal, and every
 * history write checks the lease and its epoch in the same statement (pg-history.ts), which a
 * lock cannot give to a holder that lost it. It also works through a transaction pooler.
 *
 * Rules, every `leaseMs / 3` (a round):
 * - the instance renews its membership row (live for `leaseMs`), counts the live instances K,
 *   and renews every lease it holds for `leaseMs` from the database's now; a lease not renewed
 *   (expired, or taken) is lost at once; one not renewed by the time it would expire counting
 *   from when its last renewal was sent (local monotonic time) is lost too, round or not;
 * - its fair share is ceil(SHARD_COUNT / K): above it, it hands back the extra shards (their
 *   trackers stopped and written first, then the lease freed); below it, it takes free or
 *   expired leases up to it (`FOR UPDATE SKIP LOCKED`: two instances never take one).
 * So a dead instance's leases expire at most `leaseMs` after its last renewal and the others
 * take them at their next round: a takeover within leaseMs + leaseMs / 3 of the death, plus
 * the time to load the shards' history.
 */
import type pg from 'pg';
import { SHARD_COUNT } from './shards.js';
import type { HeldShard } from './pg-history.js';

export interface LeaseOptions {
  /** A pool of its own (a renewal must not wait behind history writes); `stop()` ends it. */
  readonly pool: pg.Pool;
  readonly instance: string;
  /** Where this instance's HTTP API is (shown in the membership table). */
  readonly url: string;
  readonly leaseMs: number;
  /**
   * New leases: load and start their trackers (a rejection frees them again). `aliveUntil`: for a
   * shard whose previous owner's lease expired (it died or was cut off), the database time (ms)
   * of that owner's last renewal: it was watching the shard until then.
   */
  readonly onAcquire: (held: readonly HeldShard[], aliveUntil: ReadonlyMap<number, number>) => Promise<void>;
  /** Leases lost (expired or taken): drop their trackers without writing. */
  readonly onLose: (shards: readonly number[], why: string) => void;
  /** A lease about to be handed back: stop its tracker and write what it has. */
  readonly onRelease: (shard: number) => Promise<void>;
  readonly log: (level: 'info' | 'warn' | 'error', line: string) => void;
}

interface Lease {
  readonly epoch: string;
  /** performance.now() until which the lease certainly holds (its last renewal's send time + leaseMs). */
  validUntil: number;
}

export class ShardLeases {
  private readonly held = new Map<number, Lease>();
  private timer: ReturnType<typeof setInterval> | null = null;
  private round: Promise<void> | null = null;
  private stopped = false;
  private failing = false;
  /** Live instances counted at the last round. */
  live = 1;

  constructor(private readonly o: LeaseOptions) {}

  /** The shards held now, with their epochs. */
  heldShards(): HeldShard[] {
    return [...this.held].map(([shard, l]) => ({ shard, epoch: l.epoch })).sort((a, b) => a.shard - b.shard);
  }

  holds(shard: number): boolean {
    return this.held.has(shard);
  }

  /** A lease found lost elsewhere (a history write refused): forgotten here, taken again only by a new acquisition. */
  forget(shard: number): void {
    this.held.delete(shard);
  }

  /** Runs the first round (so the caller starts owning what it can), then one every leaseMs / 3. */
  async start(): Promise<void> {
    await this.runRound();
    this.timer = setInterval(
      () => {
        this.expire();
        if (!this.round && !this.stopped) this.round = this.runRound().finally(() => (this.round = null));
      },
      Math.max(50, Math.round(this.o.leaseMs / 3)),
    );
  }

  /** Hands every lease back (trackers stopped and written first) and leaves the membership. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.round?.catch(() => undefined);
    for (const shard of [...this.held.keys()]) await this.release(shard);
    await this.o.pool.query('DELETE FROM aquastop_monitors WHERE instance = $1', [this.o.instance]).catch(() => undefined);
    await this.o.pool.end().catch(() => undefined);
  }

  /** Loses every lease whose validity has passed (a renewal that did not come back in time). */
  private expire(): void {
    const now = performance.now();
    const gone = [...this.held].filter(([, l]) => l.validUntil <= now).map(([s]) => s);
    if (gone.length === 0) return;
    for (const s of gone) this.held.delete(s);
    this.o.onLose(gone, 'lease not renewed in time');
  }

  private async runRound(): Promise<void> {
    try {
      await this.roundOnce();
      if (this.failing) this.o.log('info', 'history database reachable again: leases renewed');
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.o.log('error', `lease round failed (${err instanceof Error ? err.message : String(err)}): shards not renewed within the lease are dropped`);
      this.failing = true;
    }
  }

  private async roundOnce(): Promise<void> {
    const { pool, instance, leaseMs } = this.o;
    const leaseS = leaseMs / 1000;
    const { rows: live } = await pool.query<{ n: string }>(
      `WITH me AS (
        INSERT INTO aquastop_monitors (instance, url, started_at, expires_at) VALUES ($1, $2, clock_timestamp(), clock_timestamp() + make_interval(secs => $3))
        ON CONFLICT (instance) DO UPDATE SET expires_at = EXCLUDED.expires_at, url = EXCLUDED.url
      ), old AS (DELETE FROM aquastop_monitors WHERE expires_at < clock_timestamp() - interval '1 hour')
      SELECT count(*) AS n FROM aquastop_monitors WHERE expires_at > clock_timestamp() AND instance <> $1`,
      [instance, this.o.url, leaseS],
    );
    if (this.stopped) return;
    this.live = Number(live[0]!.n) + 1;

    if (this.held.size > 0) {
      const sent = performance.now();
      const mine = this.heldShards();
      const { rows } = await pool.query<{ shard: number }>(
        `UPDATE aquastop_shards l SET expires_at = clock_timestamp() + make_interval(secs => $4), renewed_at = clock_timestamp()
         FROM unnest($2::int[], $3::bigint[]) AS m(shard, epoch)
         WHERE l.shard = m.shard AND l.epoch = m.epoch AND l.owner = $1 AND l.expires_at > clock_timestamp()
         RETURNING l.shard`,
        [instance, mine.map((h) => h.shard), mine.map((h) => h.epoch), leaseS],
      );
      const renewed = new Set(rows.map((r) => r.shard));
      const lost: number[] = [];
      for (const h of mine) {
        const lease = this.held.get(h.shard);
        if (!lease || lease.epoch !== h.epoch) continue; // changed meanwhile
        if (renewed.has(h.shard)) lease.validUntil = sent + leaseMs;
        else {
          this.held.delete(h.shard);
          lost.push(h.shard);
        }
      }
      if (lost.length > 0) this.o.onLose(lost, 'lease expired or taken by another instance');
    }
    if (this.stopped) return;

    const fair = Math.ceil(SHARD_COUNT / this.live);
    if (this.held.size > fair) {
      const extra = [...this.held.keys()].sort((a, b) => b - a).slice(0, this.held.size - fair);
      for (const shard of extra) await this.release(shard);
      this.o.log('info', `handed back ${extra.length} shard(s) for another instance (${this.live} live, ${fair} each): ${extra.sort((a, b) => a - b).join(' ')}`);
    } else if (this.held.size < fair) {
      await this.acquire(fair - this.held.size);
    }
  }

  private async acquire(n: number): Promise<void> {
    const { pool, instance, leaseMs } = this.o;
    const sent = performance.now();
    const { rows } = await pool.query<{ shard: number; epoch: string; was: string | null; renewed: number | null }>(
      `WITH pick AS (
        SELECT shard, owner AS was, CASE WHEN owner IS NOT NULL THEN extract(epoch FROM renewed_at) * 1000 END AS renewed FROM aquastop_shards
        WHERE (owner IS NULL OR expires_at <= clock_timestamp())
        ORDER BY random() LIMIT $2 FOR UPDATE SKIP LOCKED
      )
      UPDATE aquastop_shards l SET owner = $1, epoch = l.epoch + 1, expires_at = clock_timestamp() + make_interval(secs => $3), acquired_at = clock_timestamp(), renewed_at = clock_timestamp()
      FROM pick WHERE l.shard = pick.shard
      RETURNING l.shard, l.epoch::text AS epoch, pick.was, pick.renewed::float8 AS renewed`,
      [instance, n, leaseMs / 1000],
    );
    if (rows.length === 0) return;
    const taken: HeldShard[] = rows.map((r) => ({ shard: r.shard, epoch: r.epoch })).sort((a, b) => a.shard - b.shard);
    for (const t of taken) this.held.set(t.shard, { epoch: t.epoch, validUntil: sent + leaseMs });
    const aliveUntil = new Map(rows.flatMap((r) => (r.was !== null && r.renewed !== null ? [[r.shard, r.renewed] as const] : [])));
    try {
      await this.o.onAcquire(taken, aliveUntil);
    } catch (err) {
      this.o.log('error', `cannot load the history of shard(s) ${taken.map((t) => t.shard).join(' ')} (${err instanceof Error ? err.message : String(err)}): handing them back`);
      for (const t of taken) await this.free(t.shard, t.epoch).catch(() => undefined);
      return;
    }
    const fromDead = rows.filter((r) => r.was !== null && r.was !== instance);
    const list = taken.map((t) => t.shard).join(' ');
    this.o.log(
      'info',
      fromDead.length > 0
        ? `took over ${taken.length} shard(s) (${fromDead.length} from ${[...new Set(fromDead.map((r) => r.was))].join(', ')}, lease expired): ${list}`
        : `took ${taken.length} shard(s): ${list}`,
    );
  }

  /** Stops the shard's tracker (its last entries written), then frees the lease for another instance. */
  private async release(shard: number): Promise<void> {
    const lease = this.held.get(shard);
    if (!lease) return;
    try {
      await this.o.onRelease(shard);
    } finally {
      this.held.delete(shard);
      await this.free(shard, lease.epoch).catch((err: unknown) =>
        this.o.log('warn', `cannot hand back shard ${shard} (${err instanceof Error ? err.message : String(err)}): it frees itself when its lease expires`),
      );
    }
  }

  private async free(shard: number, epoch: string): Promise<void> {
    await this.o.pool.query(`UPDATE aquastop_shards SET owner = NULL, expires_at = clock_timestamp() WHERE shard = $2 AND owner = $1 AND epoch = $3`, [
      this.o.instance,
      shard,
      epoch,
    ]);
  }
}
