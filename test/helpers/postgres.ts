/**
 * A throwaway PostgreSQL server for tests (Debian's postgresql 15, or any version under
 * /usr/lib/postgresql/<N>/bin): `initdb` in a temporary directory, `postgres` on a free loopback
 * port with its Unix socket in that directory, removed by `close()`.
 *
 * initdb and postgres refuse to run as root: when the tests run as root (CI does), the directory
 * is handed to the `postgres` user (the Debian package creates it) and both run as that user
 * (spawn's uid/gid, which also drops root's supplementary groups). As any other user they run as
 * that user. The one role, `aq`, logs in with a random password over TCP (scram-sha-256), so a
 * test can check that a password never reaches a log. Durability is traded for speed (fsync off):
 * a test database, not a model of production settings.
 *
 * `hasPostgres()` skips with a message when the binaries are missing, and throws under CI=true
 * (as test/helpers/tools.ts does for other tools). Waits are bounded polls on the real process.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { freePort } from '../e2e/start-process.js';

/** The newest PostgreSQL server binaries installed the Debian way, or null. */
export function postgresBin(): string | null {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((v) => /^\d+$/.test(v) && existsSync(join(root, v, 'bin', 'initdb')) && existsSync(join(root, v, 'bin', 'postgres')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length > 0 ? join(root, versions[0]!, 'bin') : null;
}

/** True when PostgreSQL is here (and, as root, the `postgres` user to run it as); else skips with a message, or throws under CI=true. */
export function hasPostgres(): boolean {
  let missing: string | null = null;
  if (postgresBin() === null) missing = 'PostgreSQL server (initdb, postgres under /usr/lib/postgresql/<version>/bin; Debian package postgresql)';
  else if (userInfo().uid === 0 && runAs() === null) missing = 'the "postgres" user to run PostgreSQL as (root may not; the Debian package creates it)';
  if (missing === null) return true;
  const message = `missing ${missing} — run .ci/install-system-packages.sh`;
  if (process.env.CI === 'true') throw new Error(`${message} (CI=true: required)`);
  console.warn(`SKIP: ${message}`);
  return false;
}

/** As root: the postgres user's uid and gid; otherwise (or without that user) null. */
function runAs(): { uid: number; gid: number } | null {
  if (userInfo().uid !== 0) return null;
  try {
    const [uid, gid] = ['-u', '-g'].map((f) => Number(execFileSync('id', [f, 'postgres'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()));
    return Number.isInteger(uid) && Number.isInteger(gid) ? { uid: uid!, gid: gid! } : null;
  } catch {
    return null;
  }
}

export interface Postgres {
  /** postgres://aq:<password>@127.0.0.1:<port>/postgres */
  readonly url: string;
  readonly port: number;
  readonly password: string;
  /** A new empty database on this server; returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** The server's own log so far. */
  log(): string;
  /** Stops the server (fast shutdown) and removes its directory. */
  close(): Promise<void>;
}

export async function startPostgres(timeoutMs = 30_000): Promise<Postgres> {
  let last: unknown;
  // A port free a moment ago can be taken before postgres binds it: try again on a new one.
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await launch(timeoutMs);
    } catch (err) {
      last = err;
    }
  }
  throw last;
}

async function launch(timeoutMs: number): Promise<Postgres> {
  const bin = postgresBin();
  if (bin === null) throw new Error('PostgreSQL is not installed (see hasPostgres())');
  const as = runAs();
  const dir = mkdtempSync(join(tmpdir(), 'aquastop-pg-'));
  const data = join(dir, 'data');
  const password = randomBytes(12).toString('hex');
  writeFileSync(join(dir, 'pwfile'), `${password}\n`);
  if (as) {
    chownSync(dir, as.uid, as.gid);
    chownSync(join(dir, 'pwfile'), as.uid, as.gid);
  }
  const owner = as ? { uid: as.uid, gid: as.gid } : {};
  try {
    execFileSync(
      join(bin, 'initdb'),
      ['-D', data, '-U', 'aq', '--pwfile', join(dir, 'pwfile'), '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--locale=C', '--no-sync'],
      {
        ...owner,
        cwd: dir,
        stdio: ['ignore', 'ignore', 'pipe'],
        timeout: timeoutMs,
      },
    );
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    const stderr = String((err as { stderr?: Buffer }).stderr ?? err)
      .trim()
      .split('\n')
      .slice(-3)
      .join(' ');
    throw new Error(`initdb failed: ${stderr}`, { cause: err });
  }
  const port = await freePort();
  let output = '';
  const child: ChildProcess = spawn(
    join(bin, 'postgres'),
    [
      '-D',
      data,
      '-p',
      String(port),
      '-k',
      dir,
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
      '-c',
      'max_connections=100',
    ],
    { ...owner, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const url = `postgres://aq:${password}@127.0.0.1:${port}/postgres`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGINT'); // fast shutdown: ends sessions, no wait for clients
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  // Bounded wait until it answers a query.
  const start = Date.now();
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`postgres exited ${child.exitCode}: ${output.trim().split('\n').slice(-3).join(' ')}`);
    }
    const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
    try {
      await c.connect();
      await c.query('SELECT 1');
      await c.end();
      break;
    } catch {
      await c.end().catch(() => undefined);
    }
    if (Date.now() - start > timeoutMs) {
      await stop();
      throw new Error(`postgres did not answer on port ${port} within ${timeoutMs} ms: ${output.trim().split('\n').slice(-3).join(' ')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    port,
    password,
    async createDatabase(name) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad database name ${name}`);
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        await c.query(`CREATE DATABASE ${name}`);
      } finally {
        await c.end();
      }
      return url.replace(/\/postgres$/, `/${name}`);
    },
    log: () => output,
    close: stop,
  };
}
