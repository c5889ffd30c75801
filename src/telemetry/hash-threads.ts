/**
 * Password hashing on threads of their own that run at a low CPU priority, so that on a small
 * machine (two cores) a login flood never takes a core from the controllers' event loop:
 * libuv's thread pool runs at the process's priority, and two scrypt threads on two cores left
 * the loop waiting for a core (the lag bench saw ticks 0.3-0.5 s late). Low, not the lowest: a
 * nice-19 thread gets about 1.5 % of a core beside each busy process, and in three full test
 * runs of four on two busy cores a dashboard login outlasted its 8 s connect timeout. Nice 10
 * gives it about seven times that share; the controllers' loop (nice 0) still outweighs both
 * threads ten to one.
 *
 * Contract:
 * - `threads` worker threads (default 2), each hashing one password at a time with scrypt (the
 *   same parameters as passwords.ts `scryptHasher`). Each lowers its own priority to nice 10
 *   (Linux sets priorities per thread; elsewhere, or if refused, it runs at normal priority).
 * - The caller keeps at most `threads` hashes in flight (PasswordBook's `concurrency`); one
 *   more waits for a free thread.
 * - The threads do not keep the process alive; `close()` ends them, and later hashes reject.
 */
import { Worker } from 'node:worker_threads';
import type { PasswordHasher } from './passwords.js';

const WORKER = `
const { parentPort } = require('node:worker_threads');
const { scryptSync } = require('node:crypto');
try { require('node:os').setPriority(10); } catch {}
parentPort.on('message', (m) => {
  try { parentPort.postMessage({ key: scryptSync(m.password, m.salt, 32) }); }
  catch (err) { parentPort.postMessage({ error: String(err && err.message || err) }); }
});`;

export interface HashThreads {
  readonly hasher: PasswordHasher;
  close(): Promise<void>;
}

export function startHashThreads(threads = 2): HashThreads {
  const idle: Worker[] = [];
  const all: Worker[] = [];
  const waiting: ((w: Worker) => void)[] = [];
  let closed = false;
  for (let i = 0; i < threads; i++) {
    const w = new Worker(WORKER, { eval: true });
    w.unref();
    all.push(w);
    idle.push(w);
  }
  const release = (w: Worker) => {
    const next = waiting.shift();
    if (next) next(w);
    else idle.push(w);
  };
  const hasher: PasswordHasher = async (password, salt) => {
    if (closed) throw new Error('password hashing has stopped');
    const w = idle.pop() ?? (await new Promise<Worker>((r) => waiting.push(r)));
    try {
      return await new Promise<Buffer>((resolve, reject) => {
        const onExit = () => reject(new Error('password hashing has stopped'));
        w.once('exit', onExit);
        w.once('message', (m: { key?: Uint8Array; error?: string }) => {
          w.off('exit', onExit);
          if (m.key) resolve(Buffer.from(m.key));
          else reject(new Error(m.error ?? 'hash failed'));
        });
        w.postMessage({ password, salt });
      });
    } finally {
      release(w);
    }
  };
  return {
    hasher,
    close: async () => {
      closed = true;
      await Promise.all(all.map((w) => w.terminate()));
    },
  };
}
