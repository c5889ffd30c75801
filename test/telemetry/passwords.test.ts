import { describe, expect, it } from 'vitest';
import { PasswordBook, scryptHasher, type PasswordHasher } from '../../src/telemetry/passwords.js';
import { loopTurnsWhile } from '../helpers/loop-turns.js';

const accounts = [
  { username: 'operator', password: 'right', role: 'operator' as const },
  { username: 'viewer', password: 'seen', role: 'viewer' as const },
];

/** The real scrypt, counted. */
function counted(): { hasher: PasswordHasher; calls: () => number } {
  let n = 0;
  return {
    hasher: (p, s) => {
      n++;
      return scryptHasher(p, s);
    },
    calls: () => n,
  };
}

/** A hasher whose answers the test releases one by one, to see the queue. */
function gated(): { hasher: PasswordHasher; started: number; running: number; maxRunning: number; release: () => Promise<void> } {
  const pending: (() => void)[] = [];
  let started: (() => void) | null = null;
  const g = {
    started: 0,
    running: 0,
    maxRunning: 0,
    hasher: (p: Buffer, s: Buffer) => {
      g.started++;
      g.running++;
      g.maxRunning = Math.max(g.maxRunning, g.running);
      return new Promise<Buffer>((resolve) => {
        pending.push(() => {
          g.running--;
          resolve(scryptHasher(p, s));
        });
        started?.();
      });
    },
    /** Lets the oldest started hash finish, waiting for one to start if none has (the test's timeout bounds it). */
    release: async () => {
      if (pending.length === 0) await new Promise<void>((r) => (started = r));
      started = null;
      pending.shift()?.();
    },
  };
  return g;
}

const settle = () => new Promise((r) => setImmediate(r));

describe('password checks', () => {
  it('accepts the right password and refuses a wrong one, a missing one and an unknown name', async () => {
    const book = await PasswordBook.create(accounts, []);
    expect(await book.verify('operator', Buffer.from('right'))).toEqual({ ok: true, role: 'operator' });
    expect(await book.verify('operator', Buffer.from('wrong'))).toEqual({ ok: false, reason: 'bad-credentials' });
    expect(await book.verify('operator', undefined)).toEqual({ ok: false, reason: 'bad-credentials' });
    expect(await book.verify('nobody', Buffer.from('right'))).toEqual({ ok: false, reason: 'bad-credentials' });
  });

  it('lets the event loop turn while a password is hashed (the hash runs on the thread pool)', async () => {
    const book = await PasswordBook.create(accounts, []);
    // A hash on the loop itself would finish before any setImmediate callback could run.
    expect(await loopTurnsWhile(book.verify('operator', Buffer.from('wrong')))).toBeGreaterThan(0);
  });

  it('costs one hash for an unknown user name, exactly as for a known one', async () => {
    const c = counted();
    const book = await PasswordBook.create(accounts, [], { hasher: c.hasher });
    const at = c.calls();
    const cost = async (user: string, password: string | undefined) => {
      const before = c.calls();
      await book.verify(user, password === undefined ? undefined : Buffer.from(password));
      return c.calls() - before;
    };
    expect(await cost('operator', 'right')).toBe(1);
    expect(await cost('operator', 'wrong')).toBe(1);
    expect(await cost('no-such-user', 'wrong')).toBe(1);
    expect(await cost('no-such-user', undefined)).toBe(1);
    expect(await cost('', 'x')).toBe(1);
    expect(c.calls() - at).toBe(5);
  });

  it('hashes at most `concurrency` at once, queues the rest in order, and answers `busy` without hashing once the queue is full', async () => {
    let gatedHasher: ReturnType<typeof gated> | null = null;
    const hasher: PasswordHasher = (p, s) => (gatedHasher ? gatedHasher.hasher(p, s) : scryptHasher(p, s));
    const book = await PasswordBook.create(accounts, [], { hasher, concurrency: 2, queueLimit: 3 });
    const g = gated();
    gatedHasher = g;
    const checks = Array.from({ length: 5 }, () => book.verify('operator', Buffer.from('right')));
    await settle();
    expect(g.started).toBe(2);
    expect(book.load).toEqual({ running: 2, waiting: 3 });
    // Answered at once: it neither waits nor hashes.
    expect(await Promise.race([book.verify('operator', Buffer.from('right')), settle().then(() => 'still waiting')])).toEqual({ ok: false, reason: 'busy' });
    expect(g.started).toBe(2);
    for (let i = 0; i < 5; i++) await g.release();
    expect(await Promise.all(checks)).toEqual(Array.from({ length: 5 }, () => ({ ok: true, role: 'operator' })));
    expect(g.started).toBe(5);
    expect(g.maxRunning).toBe(2);
    expect(book.load).toEqual({ running: 0, waiting: 0 });
  });

  it('does not hash for a client that hung up while its check waited', async () => {
    let gatedHasher: ReturnType<typeof gated> | null = null;
    const hasher: PasswordHasher = (p, s) => (gatedHasher ? gatedHasher.hasher(p, s) : scryptHasher(p, s));
    const book = await PasswordBook.create(accounts, [], { hasher, concurrency: 1 });
    const g = gated();
    gatedHasher = g;
    const first = book.verify('operator', Buffer.from('right'));
    let hungUp = false;
    const second = book.verify('operator', Buffer.from('right'), () => !hungUp);
    await settle();
    hungUp = true;
    await g.release();
    expect(await first).toEqual({ ok: true, role: 'operator' });
    expect(await second).toEqual({ ok: false, reason: 'gone' });
    expect(g.started).toBe(1);
  });

  it('checks the in-process accounts without the slow hash', async () => {
    const c = counted();
    const book = await PasswordBook.create(accounts, [{ username: 'aquastop-internal-1', password: 'a'.repeat(48), role: 'fleet' }], { hasher: c.hasher });
    const at = c.calls();
    expect(book.inProcess('aquastop-internal-1', Buffer.from('a'.repeat(48)))).toBe('fleet');
    expect(book.inProcess('aquastop-internal-1', Buffer.from('b'.repeat(48)))).toBeNull();
    expect(book.inProcess('aquastop-internal-1', undefined)).toBeNull();
    expect(book.inProcess('operator', Buffer.from('right'))).toBeNull();
    expect(c.calls()).toBe(at);
  });
});
