/**
 * The monitor's history: an append-only JSON-lines file in the data directory ("SQLite or
 * equivalent": Node 20 has no node:sqlite and native builds are not allowed here).
 *
 * Contract:
 * - `append()` writes synchronously before it returns, so an entry is on its way to disk before
 *   the monitor acts on it (alert sent, figure changed). No fsync: a process crash loses nothing,
 *   a power cut may lose the last lines, which the next replay tolerates.
 * - `replay()` returns every valid entry in order; a torn or foreign line is skipped and counted.
 * - `MemoryEventLog` is the same thing in memory, for tests.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { logEntrySchema, type LogEntry } from './types.js';

export interface EventLog {
  /** Entries recorded so far (before this run's appends), oldest first. */
  replay(): LogEntry[];
  append(entries: LogEntry | readonly LogEntry[]): void;
  /** Lines skipped by the last replay (torn write, hand edit). */
  readonly skipped: number;
}

export const EVENT_LOG_FILE = 'monitor-events.jsonl';

export class FileEventLog implements EventLog {
  readonly path: string;
  skipped = 0;
  private needsNewline: boolean;

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.path = join(dataDir, EVENT_LOG_FILE);
    this.needsNewline = existsSync(this.path) && !readFileSync(this.path, 'utf8').endsWith('\n') && readFileSync(this.path).length > 0;
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
    appendFileSync(this.path, prefix + list.map((e) => JSON.stringify(e)).join('\n') + '\n');
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
}
