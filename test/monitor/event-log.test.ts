import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileEventLog } from '../../src/monitor/event-log.js';
import type { LogEntry } from '../../src/monitor/types.js';

let dir = '';
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('file event log', () => {
  it('replays what was appended, in order, from a new instance on the same directory', () => {
    dir = mkdtempSync(join(tmpdir(), 'aquastop-log-'));
    const entries: LogEntry[] = [
      { type: 'start', t: 1 },
      { type: 'status', t: 2, id: 'a', status: 'up', reason: 'heartbeat' },
      { type: 'fault', t: 3, id: 'a', event: 'raised', code: 'i30' },
    ];
    const log = new FileEventLog(dir);
    log.append(entries[0]!);
    log.append(entries.slice(1));
    expect(new FileEventLog(dir).replay()).toEqual(entries);
  });

  it('skips a torn last line after a crash and does not glue the next entry onto it', () => {
    dir = mkdtempSync(join(tmpdir(), 'aquastop-log-'));
    new FileEventLog(dir).append({ type: 'start', t: 1 });
    appendFileSync(join(dir, 'monitor-events.jsonl'), '{"type":"status","t":2,"id":"a","sta');
    const log = new FileEventLog(dir);
    expect(log.replay()).toEqual([{ type: 'start', t: 1 }]);
    expect(log.skipped).toBe(1);
    log.append({ type: 'stop', t: 3 });
    const again = new FileEventLog(dir);
    expect(again.replay()).toEqual([
      { type: 'start', t: 1 },
      { type: 'stop', t: 3 },
    ]);
    expect(again.skipped).toBe(1);
    expect(readFileSync(join(dir, 'monitor-events.jsonl'), 'utf8').endsWith('\n')).toBe(true);
  });

  it('replaces its content on rewrite, leaves no temp file, and keeps appending after it', () => {
    dir = mkdtempSync(join(tmpdir(), 'aquastop-log-'));
    const log = new FileEventLog(dir);
    log.append([
      { type: 'start', t: 1 },
      { type: 'status', t: 2, id: 'a', status: 'up', reason: 'heartbeat' },
    ]);
    log.rewrite([{ type: 'start', t: 1 }]);
    log.append({ type: 'stop', t: 3 });
    log.close();
    expect(new FileEventLog(dir).replay()).toEqual([
      { type: 'start', t: 1 },
      { type: 'stop', t: 3 },
    ]);
    expect(existsSync(join(dir, 'monitor-events.jsonl.tmp'))).toBe(false);
  });
});
