import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { startHashThreads } from '../../src/telemetry/hash-threads.js';
import { scryptHasher } from '../../src/telemetry/passwords.js';
import { loopTurnsWhile } from '../helpers/loop-turns.js';

describe('hashing threads', () => {
  it('hash as scrypt on the thread pool does, several at once, and refuse work once closed', async () => {
    const threads = startHashThreads(2);
    try {
      const salt = randomBytes(16);
      const passwords = ['a', 'b', 'c'].map((p) => Buffer.from(p));
      // Three at once on two threads: the third waits for a free one.
      const keys = await Promise.all(passwords.map((p) => threads.hasher(p, salt)));
      expect(keys).toEqual(await Promise.all(passwords.map((p) => scryptHasher(p, salt))));
    } finally {
      await threads.close();
    }
    await expect(threads.hasher(Buffer.from('a'), randomBytes(16))).rejects.toThrow('password hashing has stopped');
  });

  it('let the event loop turn while they hash', async () => {
    const threads = startHashThreads(1);
    try {
      expect(await loopTurnsWhile(threads.hasher(Buffer.from('x'), randomBytes(16)))).toBeGreaterThan(0);
    } finally {
      await threads.close();
    }
  });
});
