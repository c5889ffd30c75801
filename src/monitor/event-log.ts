/**
 * The monitor's history: an append-only JSON-lines file in the data directory ("SQLite or
 * equivalent": Node 20 has no node:sqlite and native builds are not allowed here).
 *
 * Contract:
 * - `append()` writes synchronously before it returns (write(2) to the file), so an entry
 *   survives a crash of the process from then on: it is recorded before the monitor acts on it
 *   (alert sent, figure changed). Appends holding an event (status, fault, restart, alert,
 *   start, stop) are also flushed to the device (fdatasync), once per event-loop turn for all
 *   of that turn (group commit: a fleet going DOWN at once costs one flush, not one per device),
 *   and at close. So a power cut loses at most the events of the turn in progress, and the
 *   last snapshot period of heartbeat counts; a torn last line is tolerated by the next replay.
 * - `replay()` returns every valid entry recorded so far, in order; a torn or foreign line is
 *   skipped and counted.
 * - `rewrite()` replaces the whole log atomically (temp file, flush, rename): a crash during it
 *   leaves the old log or the new one, never a mix. Used by compaction (compaction.ts).
 * - `MemoryEventLog` is the same thing in memory, for tests.
 */
import { closeSync, existsSync, fdatasyncSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { logEntrySchema, type LogEntry } from './types.js';

export interface EventLog {
  /** Every entry recorded so far, oldest first. */
  replay(): LogEntry[];
  append(entries: LogEntry | readonly LogEntry[]): void;
  /** Replaces the whole log with `entries` (atomically for files). */
  rewrite(entries: readonly LogEntry[]): void;
  /** Lines skipped by the last replay (torn write, hand edit). */
  readonly skipped: number;
}

export const EVENT_LOG_FILE = 'monitor-events.jsonl';

/** writeSync may write less than asked (disk nearly full, signals): loop until all is out. */
function writeAll(fd: number, text: string): void {
  const buf = Buffer.from(text, 'utf8');
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
}

export class FileEventLog implements EventLog {
  readonly path: string;
  skipped = 0;
  private needsNewline: boolean;
  private fd: number | null = null;
  private syncScheduled = false;

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.path = join(dataDir, EVENT_LOG_FILE);
    const existing = existsSync(this.path) ? readFileSync(this.path) : null;
    this.needsNewline = existing !== null && existing.length > 0 && existing[existing.length - 1] !== 0x0a;
  }

  replay(): LogEntry[] {
    this.skipped = 0;
    if (!existsSync(this.path)) return [];
    const out: LogEntry[] = [];
    for (const line of readFileSync(this.path, 'utf8').split('\n')) {
      if (line.trim() === '') continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        this.skipped++;
        continue;
      }
      const r = logEntrySchema.safeParse(parsed);
      if (r.success) out.push(r.data);
      else this.skipped++;
    }
    return out;
  }

  append(entries: LogEntry | readonly LogEntry[]): void {
    const list = Array.isArray(entries) ? (entries as readonly LogEntry[]) : [entries as LogEntry];
    if (list.length === 0) return;
    // A torn last line from a crash has no newline: start ours on a fresh line.
    const prefix = this.needsNewline ? '\n' : '';
    this.needsNewline = false;
    this.fd ??= openSync(this.path, 'a');
    writeAll(this.fd, prefix + list.map((e) => JSON.stringify(e)).join('\n') + '\n');
    if (!this.syncScheduled && list.some((e) => e.type !== 'counters')) {
      this.syncScheduled = true;
      setImmediate(() => this.sync());
    }
  }

  /** Flushes what was written to the device, if a flush is due. */
  sync(): void {
    if (!this.syncScheduled) return;
    this.syncScheduled = false;
    if (this.fd !== null) fdatasyncSync(this.fd);
  }

  rewrite(entries: readonly LogEntry[]): void {
    const tmp = `${this.path}.tmp`;
    const fd = openSync(tmp, 'w');
    try {
      writeAll(fd, entries.map((e) => JSON.stringify(e) + '\n').join(''));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.close();
    renameSync(tmp, this.path);
    const dir = openSync(dirname(this.path), 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
    this.needsNewline = false;
  }

  /** Closes the file (appends reopen it). */
  close(): void {
    this.sync();
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

export class MemoryEventLog implements EventLog {
  readonly entries: LogEntry[] = [];
  readonly skipped = 0;

  replay(): LogEntry[] {
    return [...this.entries];
  }

  append(entries: LogEntry | readonly LogEntry[]): void {
    if (Array.isArray(entries)) this.entries.push(...(entries as readonly LogEntry[]));
    else this.entries.push(entries as LogEntry);
  }

  rewrite(entries: readonly LogEntry[]): void {
    this.entries.splice(0, this.entries.length, ...entries);
  }
}
