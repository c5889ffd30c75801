/**
 * Crash consistency of a durable save, tested the way storage engines test it: record the
 * file-system operations of one save, then for every crash point replay every subset of the
 * operations not yet made durable by an fsync (a file system may persist those in any order,
 * or not at all), and check what recovery reads: the old or the new record, never a torn,
 * empty or missing one; and once the save has returned, always the new one.
 *
 * Plus the real thing on this machine's file system: a deleted memory file on a device that
 * kept one before is a memory fault, not a fresh start.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeDurably, type DurableFs } from '../../src/board/durable-file.js';
import { FileStore } from '../../src/board/file-store.js';
import { emptyMemory, MemoryFaultError } from '../../src/board/store.js';
import { startRuntime } from '../../src/board/runtime.js';
import { VirtualClock } from '../../src/clock/virtual-clock.js';
import { ScriptedBoard } from '../helpers/scripted-board.js';

/** One operation's effect on the disk, once (if ever) it reaches it. */
type Effect = { kind: 'data'; inode: number; data: string } | { kind: 'link'; dir: string; name: string; inode: number | null };

interface Disk {
  /** Directory entries: full path -> inode. */
  readonly names: Map<string, number>;
  /** File contents that reached the disk: inode -> data. */
  readonly data: Map<number, string>;
}

const dirOf = (path: string) => path.slice(0, path.lastIndexOf('/'));

/**
 * A file system model that records every operation as an effect and keeps the effects that
 * are not yet durable. fsync of a file makes its data durable; fsync of a directory makes its
 * entries (creations, renames) durable; nothing else is promised.
 */
class RecordingFs implements DurableFs {
  readonly log: { op: string; effects: Effect[]; durableAfter: Set<Effect> }[] = [];
  private readonly live: Disk;
  private readonly pending = new Set<Effect>();
  private nextInode = 100;

  constructor(readonly initial: Disk) {
    this.live = { names: new Map(initial.names), data: new Map(initial.data) };
  }

  mkdir(): void {
    this.record('mkdir', []);
  }
  writeFile(path: string, data: string): void {
    const inode = this.nextInode++;
    this.record(`write ${path}`, [
      { kind: 'link', dir: dirOf(path), name: path, inode },
      { kind: 'data', inode, data },
    ]);
  }
  fsyncFile(path: string): void {
    const inode = this.live.names.get(path);
    for (const e of [...this.pending]) if (e.kind === 'data' && e.inode === inode) this.pending.delete(e);
    this.record(`fsync ${path}`, []);
  }
  rename(from: string, to: string): void {
    const inode = this.live.names.get(from)!;
    this.record(`rename ${from} -> ${to}`, [
      { kind: 'link', dir: dirOf(to), name: to, inode },
      { kind: 'link', dir: dirOf(from), name: from, inode: null },
    ]);
  }
  fsyncDir(dir: string): void {
    for (const e of [...this.pending]) if (e.kind === 'link' && e.dir === dir) this.pending.delete(e);
    this.record(`fsync ${dir}/`, []);
  }

  private record(op: string, effects: Effect[]): void {
    for (const e of effects) {
      apply(this.live, e);
      this.pending.add(e);
    }
    this.log.push({ op, effects, durableAfter: new Set([...this.allEffects()].filter((e) => !this.pending.has(e))) });
  }

  private *allEffects(): Iterable<Effect> {
    for (const entry of this.log) yield* entry.effects;
    yield* this.pending;
  }
}

function apply(disk: Disk, e: Effect): void {
  if (e.kind === 'data') disk.data.set(e.inode, e.data);
  else if (e.inode === null) disk.names.delete(e.name);
  else disk.names.set(e.name, e.inode);
}

/** Every disk a crash after the first `k` operations can leave: the durable effects, plus any subset of the others, in order. */
function crashStates(fs: RecordingFs, k: number): Disk[] {
  const done = fs.log.slice(0, k);
  const effects = done.flatMap((entry) => entry.effects);
  const durable = k === 0 ? new Set<Effect>() : done[k - 1]!.durableAfter;
  const volatile = effects.filter((e) => !durable.has(e));
  const states: Disk[] = [];
  for (let mask = 0; mask < 1 << volatile.length; mask++) {
    const disk: Disk = { names: new Map(fs.initial.names), data: new Map(fs.initial.data) };
    for (const e of effects) {
      const i = volatile.indexOf(e);
      if (i === -1 || mask & (1 << i)) apply(disk, e);
    }
    states.push(disk);
  }
  return states;
}

/** What recovery reads at `path`: its contents, '' for a file whose data never reached the disk, null when missing. */
function read(disk: Disk, path: string): string | null {
  const inode = disk.names.get(path);
  if (inode === undefined) return null;
  return disk.data.get(inode) ?? '';
}

const PATH = '/data/dw1/memory.json';

function check(save: (fs: DurableFs) => void, initial: Disk, old: string | null, next: string): string[] {
  const fs = new RecordingFs(initial);
  save(fs);
  const problems: string[] = [];
  for (let k = 0; k <= fs.log.length; k++) {
    for (const disk of crashStates(fs, k)) {
      const got = read(disk, PATH);
      const after = k === fs.log.length;
      const ok = after ? got === next : got === old || got === next;
      if (!ok) problems.push(`crash after ${k ? fs.log[k - 1]!.op : 'nothing'}: recovery reads ${JSON.stringify(got)}`);
    }
  }
  return problems;
}

/** The same file system with one call skipped: the bug a test must see. */
function without(fs: DurableFs, skip: keyof DurableFs): DurableFs {
  const calls: DurableFs = {
    mkdir: (d) => fs.mkdir(d),
    writeFile: (p, d) => fs.writeFile(p, d),
    fsyncFile: (p) => fs.fsyncFile(p),
    rename: (a, b) => fs.rename(a, b),
    fsyncDir: (d) => fs.fsyncDir(d),
  };
  return { ...calls, [skip]: () => undefined };
}

const before: Disk = { names: new Map([[PATH, 1]]), data: new Map([[1, 'old']]) };

describe('a durable save, crashed at every point', () => {
  it('always leaves the old or the new record, and the new one once it returned', () => {
    expect(check((fs) => writeDurably(PATH, 'new', fs), before, 'old', 'new')).toEqual([]);
  });

  it('also for the first save of a device (nothing or the new record)', () => {
    expect(check((fs) => writeDurably(PATH, 'new', fs), { names: new Map(), data: new Map() }, null, 'new')).toEqual([]);
  });

  // The model must be able to see the bugs it is there to catch.
  it('catches a save without the fsync of the file (an empty record after a crash)', () => {
    const noFileSync = (fs: DurableFs) => writeDurably(PATH, 'new', without(fs, 'fsyncFile'));
    expect(check(noFileSync, before, 'old', 'new')).toContainEqual(expect.stringMatching(/recovery reads ""/));
  });

  it('catches a save without the fsync of the directory (the old record after the save returned)', () => {
    const noDirSync = (fs: DurableFs) => writeDurably(PATH, 'new', without(fs, 'fsyncDir'));
    expect(check(noDirSync, before, 'old', 'new')).toContainEqual(expect.stringMatching(/fsync \/data\/dw1\/: recovery reads "old"|rename.*recovery reads "old"/));
  });

  it('catches writing the record in place (a torn or empty record)', () => {
    const inPlace = (fs: DurableFs) => {
      fs.writeFile(PATH, 'new');
      fs.fsyncFile(PATH);
    };
    expect(check(inPlace, before, 'old', 'new').length).toBeGreaterThan(0);
  });
});

describe('the memory file on this machine', () => {
  it('a deleted memory file on a device that kept one before is a memory fault: i80, valve closed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aquastop-store-'));
    try {
      const path = join(dir, 'dw1', 'memory.json');
      const fresh = new FileStore(path);
      expect(fresh.load()).toEqual(emptyMemory()); // a new device starts empty
      fresh.save({ ...emptyMemory(), boot: 3, latch: { code: 'i30', breaker: 'latched' } });
      expect(new FileStore(path).load()).toMatchObject({ boot: 3, latch: { code: 'i30' } });
      rmSync(path);
      expect(() => new FileStore(path).load()).toThrow(MemoryFaultError);

      const clock = new VirtualClock();
      const board = new ScriptedBoard();
      const runtime = await startRuntime({ deviceId: 'dw1', board, clock, store: new FileStore(path) });
      clock.advance(0);
      runtime.program({ type: 'fill', targetL: 2 });
      clock.advance(1000);
      expect(runtime.status()).toMatchObject({ breaker: 'service', fault: 'i80' });
      expect(board.valve).toBe(false);
      runtime.halt();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
