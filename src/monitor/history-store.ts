/**
 * Where the monitor keeps its history, one event log per shard of the fleet (shards.ts):
 * - the file in `--data-dir` (event-log.ts), the default for one machine: one shard, the whole
 *   fleet, one monitor;
 * - PostgreSQL (`--history postgres://...`, pg-history.ts): SHARD_COUNT shards in one table, for
 *   monitors that share a fleet; an instance opens the shards whose lease it holds (leases.ts).
 *
 * Contract: `open()` loads each shard's log, so the tracker's synchronous `replay()` needs no
 * I/O; `append()` and `rewrite()` return at once and the store writes in order (the file at once,
 * PostgreSQL in the next batch); `afterCommit()` runs its callback once everything appended to
 * that shard so far is durable (true), or was refused because the shard is no longer this
 * instance's (false): the tracker's alerts wait for it, so an alert always follows its record.
 */
import type { EventLog } from './event-log.js';
import { FileEventLog } from './event-log.js';

export interface ShardLog extends EventLog {
  readonly shard: number;
  /** Runs `fn(true)` once what was appended so far is durable, `fn(false)` if it was refused. */
  afterCommit(fn: (committed: boolean) => void): void;
  /** Stops writing (pending writes of a lost shard are dropped; the file flushes and closes). */
  close(): void;
}

export interface HistoryStore {
  /** Shards the fleet is split into: 1 for the file, SHARD_COUNT for PostgreSQL. */
  readonly shards: number;
  /** Loads the logs of `shards` (replay() then answers from memory). */
  open(shards: readonly number[]): Promise<ShardLog[]>;
  /** Resolves once every write queued so far is durable or refused. */
  flushed(): Promise<void>;
  close(): Promise<void>;
}

/** The file history (one machine, one shard): the event log in the data directory. */
export class FileHistoryStore implements HistoryStore {
  readonly shards = 1;
  constructor(private readonly dataDir: string) {}

  async open(shards: readonly number[]): Promise<FileShardLog[]> {
    if (shards.some((s) => s !== 0)) throw new Error('the file history holds one shard (0)');
    return shards.map(() => new FileShardLog(this.dataDir));
  }

  async flushed(): Promise<void> {}

  async close(): Promise<void> {}
}

/** The file log as a shard log: an entry is durable once append() returns (its flush to the device follows within the turn). */
export class FileShardLog extends FileEventLog implements ShardLog {
  readonly shard = 0;

  afterCommit(fn: (committed: boolean) => void): void {
    fn(true);
  }
}
