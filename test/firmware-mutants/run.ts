/**
 * `npm run mutate:firmware`: mutation testing of the firmware's safety code.
 *
 * Each test/hardware/mutants/*.patch is one deliberate bug (a flipped guard, a dropped check, a
 * < for <=) in safety.cpp, latch_store.cpp, selftest.cpp or aquastop.cpp, as a unified diff
 * against hardware/firmware/src, with `# mutant:` and `# rule:` header lines (and
 * `# equivalent: <why>` for a mutant no test can tell from the real firmware). One at a time, the
 * patch is applied to a COPY of the sources in a temp directory (the real tree is never touched),
 * built, and the pin-level firmware tests are run against that build (AQUASTOP_FIRMWARE_SRC,
 * test/hardware/firmware-under-test.ts), stopping at the first failure. A mutant is
 * - killed: some test failed (or the run timed out: a hang counts as caught);
 * - survived: every test passed (a rule is not tested well enough);
 * - equivalent: survived, and its patch says why it cannot be told apart;
 * - invalid: it does not compile, or the patch no longer applies (fix the patch).
 * Kill rate = killed / (killed + survived). Prints one JSON object on stdout (progress on stderr),
 * keeps it (a run over every mutant) in build/firmware-mutants/report.json for `npm run bench`, and exits 1 when a mutant
 * survived or a patch is invalid, 2 on bad input.
 *
 *   npm run mutate:firmware -- [--only name,name] [--timeout-s 300] [--keep]
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildFirmware, DEFAULT_SRC_DIR, isFirmwareBuildError } from '../../hardware/firmware/build.js';
import { findTool } from '../helpers/tools.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const MUTANTS_DIR = join(repo, 'test', 'hardware', 'mutants');
export const REPORT_PATH = join(repo, 'build', 'firmware-mutants', 'report.json');
/** The pin-level firmware tests, the ones most likely to kill first. */
const TEST_FILES = [
  'test/hardware/firmware-avr-rules.test.ts',
  'test/hardware/firmware-avr-selftest.test.ts',
  'test/hardware/firmware-avr.test.ts',
  'test/hardware/firmware-firmata.test.ts',
];

export type MutantStatus = 'killed' | 'survived' | 'equivalent' | 'invalid';

export interface MutantResult {
  readonly name: string;
  readonly file: string;
  readonly mutant: string;
  readonly rule: string;
  readonly status: MutantStatus;
  /** The first failing test, a timeout, or why the mutant is invalid/equivalent. */
  readonly detail: string | null;
  readonly ms: number;
}

export interface MutationReport {
  readonly killRate: number;
  readonly killed: number;
  readonly survived: number;
  readonly equivalent: number;
  readonly invalid: number;
  readonly mutants: number;
  readonly ms: number;
  /** sha256 of the firmware sources the run mutated, to tell a stale report. */
  readonly sourceHash: string;
  readonly date: string;
  readonly results: readonly MutantResult[];
}

interface Mutant {
  readonly name: string;
  readonly path: string;
  readonly file: string;
  readonly mutant: string;
  readonly rule: string;
  readonly equivalent: string | null;
}

class UsageError extends Error {}

function header(text: string, key: string): string | null {
  const line = text.split('\n').find((l) => l.startsWith(`# ${key}:`));
  return line ? line.slice(key.length + 3).trim() : null;
}

export function loadMutants(dir = MUTANTS_DIR): Mutant[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.patch'))
    .sort()
    .map((f) => {
      const path = join(dir, f);
      const text = readFileSync(path, 'utf8');
      const target = /^\+\+\+ b\/(\S+)/m.exec(text)?.[1];
      return {
        name: basename(f, '.patch'),
        path,
        file: target ?? '?',
        mutant: header(text, 'mutant') ?? '(no description)',
        rule: header(text, 'rule') ?? '(no rule)',
        equivalent: header(text, 'equivalent'),
      };
    });
}

export function sourceHash(srcDir = DEFAULT_SRC_DIR): string {
  const hash = createHash('sha256');
  for (const f of readdirSync(srcDir).sort())
    hash
      .update(f)
      .update('\0')
      .update(readFileSync(join(srcDir, f)))
      .update('\0');
  return hash.digest('hex').slice(0, 16);
}

function parseArgs(argv: readonly string[]): { only: string[] | null; timeoutS: number; keep: boolean } {
  let only: string[] | null = null;
  let timeoutS = 300;
  let keep = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--keep') keep = true;
    else if (a === '--only')
      only = (argv[++i] ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    else if (a === '--timeout-s') {
      timeoutS = Number(argv[++i]);
      if (!Number.isFinite(timeoutS) || timeoutS < 10) throw new UsageError('--timeout-s needs a number of seconds >= 10');
    } else throw new UsageError(`unknown option ${a} (use --only name,name, --timeout-s N, --keep)`);
  }
  if (only && only.length === 0) throw new UsageError('--only needs mutant names, e.g. --only keepalive-rearms');
  return { only, timeoutS, keep };
}

function runCommand(
  cmd: string,
  args: string[],
  opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string },
): Promise<{ code: number | null; out: string; timedOut: boolean }> {
  return new Promise((done) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    let out = '';
    let timedOut = false;
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.stdin.end(opts.input ?? '');
    const timer = opts.timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          try {
            process.kill(-child.pid!, 'SIGKILL'); // the vitest workers too: the group we started
          } catch {
            // already gone
          }
        }, opts.timeoutMs)
      : null;
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      done({ code, out, timedOut });
    });
  });
}

const plain = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');

/**
 * The first failed test in vitest's summary ("FAIL  file > suite > test" and the error under it).
 * The summary, not the live list: with --bail the tests stopped in other files show as failed too.
 */
function firstFailure(output: string): string | null {
  const lines = plain(output).split('\n');
  const at = lines.findIndex((l) => /^\s*FAIL\s/.test(l));
  if (at < 0)
    return (
      lines
        .find((l) => /Error/.test(l))
        ?.trim()
        .slice(0, 240) ?? null
    );
  const test = lines[at]!.replace(/^\s*FAIL\s+/, '').trim();
  const error = lines
    .slice(at + 1, at + 6)
    .find((l) => /\w*Error\b/.test(l))
    ?.trim();
  return `${test}${error ? ` — ${error}` : ''}`.slice(0, 300);
}

async function runTests(srcDir: string, timeoutS: number): Promise<{ passed: boolean; detail: string | null }> {
  const vitest = join(repo, 'node_modules', '.bin', 'vitest');
  const r = await runCommand(vitest, ['run', '--config', 'test/vitest.config.ts', '--bail=1', ...TEST_FILES], {
    cwd: repo,
    env: { ...process.env, AQUASTOP_FIRMWARE_SRC: srcDir, FORCE_COLOR: '0' },
    timeoutMs: timeoutS * 1000,
  });
  if (r.timedOut) return { passed: false, detail: `timed out after ${timeoutS} s` };
  return { passed: r.code === 0, detail: r.code === 0 ? null : (firstFailure(r.out) ?? `vitest exit ${r.code}`) };
}

/** A copy of the sources with the patch applied, beside copies of the baseline's compiled core. */
async function prepare(work: string, name: string, patch: string | null, baseline: string | null): Promise<string> {
  const dir = join(work, name);
  const src = join(dir, 'src');
  mkdirSync(dir, { recursive: true });
  cpSync(DEFAULT_SRC_DIR, src, { recursive: true });
  if (patch) {
    const r = await runCommand('patch', ['-p1', '--forward', '--batch', '--silent', '-d', src], { cwd: dir, input: readFileSync(patch, 'utf8') });
    if (r.code !== 0) throw new Error(`does not apply: ${plain(r.out).split('\n').find(Boolean) ?? `patch exit ${r.code}`}`);
  }
  if (baseline) {
    // Same compiler and flags: the Arduino core compiled for the baseline serves every mutant.
    for (const build of readdirSync(baseline).filter((d) => d.startsWith('build-'))) {
      const core = join(baseline, build, 'core');
      if (existsSync(core)) cpSync(core, join(dir, build, 'core'), { recursive: true });
    }
  }
  return src;
}

export async function mutateFirmware(options: { only?: string[] | null; timeoutS?: number; keep?: boolean; log?: (line: string) => void } = {}): Promise<MutationReport> {
  const log = options.log ?? (() => {});
  const timeoutS = options.timeoutS ?? 300;
  const missing = ['avr-gcc', 'avr-g++', 'avr-objcopy', 'avr-ar', 'avr-nm', 'patch'].filter((t) => !findTool(t));
  if (missing.length > 0) throw new UsageError(`missing system tool(s): ${missing.join(', ')} — run .ci/install-system-packages.sh`);
  let mutants = loadMutants();
  if (options.only) {
    const unknown = options.only.filter((n) => !mutants.some((m) => m.name === n));
    if (unknown.length > 0) throw new UsageError(`no such mutant: ${unknown.join(', ')} (see ${MUTANTS_DIR})`);
    mutants = mutants.filter((m) => options.only!.includes(m.name));
  }
  const started = performance.now();
  const work = mkdtempSync(join(tmpdir(), 'aquastop-mutants-'));
  try {
    log(`mutate:firmware: baseline (unmutated copy) in ${work}`);
    const baseSrc = await prepare(work, 'baseline', null, null);
    const base = await runTests(baseSrc, timeoutS);
    if (!base.passed) throw new Error(`the firmware tests fail on the unmutated sources, so no mutant can be judged: ${base.detail}`);
    const results: MutantResult[] = [];
    for (const m of mutants) {
      const t0 = performance.now();
      const done = (status: MutantStatus, detail: string | null) => {
        const r: MutantResult = { name: m.name, file: m.file, mutant: m.mutant, rule: m.rule, status, detail, ms: Math.round(performance.now() - t0) };
        results.push(r);
        log(`  ${status.padEnd(10)} ${m.name} (${(r.ms / 1000).toFixed(0)} s)${detail ? `: ${detail}` : ''}`);
      };
      let src: string;
      try {
        src = await prepare(work, m.name, m.path, join(work, 'baseline'));
        await buildFirmware({ srcDir: src, outDir: join(work, m.name, 'build-default'), testImage: true });
      } catch (err) {
        done('invalid', isFirmwareBuildError(err) ? `does not compile: ${err.message}` : err instanceof Error ? err.message : String(err));
        continue;
      }
      const r = await runTests(src, timeoutS);
      if (!r.passed) done('killed', r.detail);
      else if (m.equivalent) done('equivalent', m.equivalent);
      else done('survived', null);
      if (!options.keep) rmSync(join(work, m.name), { recursive: true, force: true });
    }
    const count = (s: MutantStatus) => results.filter((r) => r.status === s).length;
    const killed = count('killed');
    const survived = count('survived');
    return {
      killRate: killed + survived === 0 ? 0 : Number((killed / (killed + survived)).toFixed(3)),
      killed,
      survived,
      equivalent: count('equivalent'),
      invalid: count('invalid'),
      mutants: results.length,
      ms: Math.round(performance.now() - started),
      sourceHash: sourceHash(),
      date: new Date().toISOString(),
      results,
    };
  } finally {
    if (!options.keep) rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('firmware-mutants/run.ts')) {
  try {
    const args = parseArgs(process.argv.slice(2));
    const report = await mutateFirmware({ ...args, log: (l) => process.stderr.write(`${l}\n`) });
    if (!args.only) {
      // Only a run over every mutant is a kill rate worth keeping for the bench.
      mkdirSync(dirname(REPORT_PATH), { recursive: true });
      writeFileSync(REPORT_PATH, `${JSON.stringify(report, null, 2)}\n`);
    }
    console.log(JSON.stringify(report, null, 2));
    process.exit(report.survived > 0 || report.invalid > 0 ? 1 : 0);
  } catch (err) {
    process.stderr.write(`mutate:firmware: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(err instanceof UsageError ? 2 : 1);
  }
}
