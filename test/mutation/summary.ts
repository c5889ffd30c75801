/**
 * Reads Stryker's JSON report (mutation-testing-report-schema) and sums it up: the mutation
 * score overall, per folder and per file, the counts by status, and every mutant no test
 * killed. Used by `npm run mutate` (through score.ts) and by the bench's `mutation` section.
 *
 * Score as Stryker defines it: detected / valid, where detected = killed + timeout and
 * valid = detected + survived + noCoverage (compile and runtime errors, ignored and pending
 * mutants count for nothing).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository: report paths are relative to it. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export const REPORT_PATH = '.mutation/report.json';
/** Stryker's event-recorder: one file per mutant as it is tested, kept if a run is stopped. */
export const EVENTS_DIR = '.mutation/events';
export const MUTATED_FOLDERS = ['src/machine', 'src/board', 'src/clock'] as const;

type Status = 'Killed' | 'Survived' | 'NoCoverage' | 'CompileError' | 'RuntimeError' | 'Timeout' | 'Ignored' | 'Pending';

/** The part of a Stryker JSON report this reads. */
export interface StrykerReport {
  files: Record<string, { mutants: Array<{ mutatorName: string; replacement?: string; status: Status; location: { start: { line: number; column: number } } }> }>;
  projectRoot?: string;
  performance?: { setup: number; initialRun: number; mutation: number };
}

export interface Counts {
  killed: number;
  survived: number;
  noCoverage: number;
  timeout: number;
  /** Static mutants, which the config skips (ignoreStatic): not part of the score. */
  ignored: number;
  /** Compile and runtime errors, pending mutants: not part of the score. */
  other: number;
  /** Percent, one decimal; null when no mutant counts. */
  score: number | null;
}

export interface Survivor {
  /** file:line:column, from the repository root. */
  at: string;
  mutator: string;
  /** What the mutant put in place of the code, on one line, shortened. */
  replacement: string;
  status: 'Survived' | 'NoCoverage';
}

export interface MutationSummary extends Counts {
  report: string;
  /** When the report was written (its file time). */
  date: string;
  /** Stryker's own timings, seconds. */
  seconds: { setup: number; initialRun: number; mutation: number; total: number } | null;
  mutants: number;
  /** Set when the run was stopped: only the mutants it tested, of the ones it planned. */
  partial?: { tested: number; planned: number };
  folders: Record<string, Counts>;
  files: Record<string, Counts>;
  survivors: Survivor[];
}

const empty = (): Counts => ({ killed: 0, survived: 0, noCoverage: 0, timeout: 0, ignored: 0, other: 0, score: null });

const KEY: Partial<Record<Status, keyof Omit<Counts, 'score'>>> = { Killed: 'killed', Survived: 'survived', NoCoverage: 'noCoverage', Timeout: 'timeout', Ignored: 'ignored' };

function withScore(c: Counts): Counts {
  const detected = c.killed + c.timeout;
  const valid = detected + c.survived + c.noCoverage;
  return { ...c, score: valid === 0 ? null : Math.round((1000 * detected) / valid) / 10 };
}

function oneLine(text: string | undefined, max = 80): string {
  const flat = (text ?? '').replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** Sums up a parsed report; `root` turns the report's file names into repository paths. */
export function summarise(report: StrykerReport, root: string, meta: { report: string; date: string }): MutationSummary {
  const total = empty();
  const folders: Record<string, Counts> = Object.fromEntries(MUTATED_FOLDERS.map((f) => [f, empty()]));
  const files: Record<string, Counts> = {};
  const survivors: Survivor[] = [];
  let mutants = 0;
  for (const [name, file] of Object.entries(report.files).sort(([a], [b]) => a.localeCompare(b))) {
    const path = relative(root, resolve(report.projectRoot ?? root, name))
      .split('\\')
      .join('/');
    const folder = MUTATED_FOLDERS.find((f) => path.startsWith(`${f}/`));
    const perFile = (files[path] = empty());
    for (const m of file.mutants) {
      mutants += 1;
      const key = KEY[m.status] ?? 'other';
      for (const c of [total, perFile, folder ? folders[folder]! : undefined]) if (c) c[key] += 1;
      if (folder && (m.status === 'Survived' || m.status === 'NoCoverage')) {
        survivors.push({ at: `${path}:${m.location.start.line}:${m.location.start.column}`, mutator: m.mutatorName, replacement: oneLine(m.replacement), status: m.status });
      }
    }
  }
  const p = report.performance;
  return {
    report: meta.report,
    date: meta.date,
    seconds: p ? { setup: p.setup / 1000, initialRun: p.initialRun / 1000, mutation: p.mutation / 1000, total: Math.round(p.setup + p.initialRun + p.mutation) / 1000 } : null,
    mutants,
    ...withScore(total),
    folders: Object.fromEntries(Object.entries(folders).map(([k, c]) => [k, withScore(c)])),
    files: Object.fromEntries(Object.entries(files).map(([k, c]) => [k, withScore(c)])),
    survivors,
  };
}

/** Reads the last report `npm run mutate` wrote; null when there is none yet. */
export function readLastReport(path = REPORT_PATH, root = ROOT): MutationSummary | null {
  const file = resolve(root, path);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  return summarise(JSON.parse(text) as StrykerReport, root, { report: path, date: statSync(file).mtime.toISOString() });
}

/**
 * The mutants a stopped run tested, from the event-recorder's files; null when the last run
 * finished or none started. Positions are the report's (1-based).
 */
export function readTestedSoFar(dir = EVENTS_DIR, root = ROOT): MutationSummary | null {
  const base = resolve(root, dir);
  let names: string[];
  try {
    names = readdirSync(base).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const plan = names.find((n) => n.endsWith('-onMutationTestingPlanReady.json'));
  if (!plan || names.some((n) => n.endsWith('-onMutationTestReportReady.json'))) return null;
  const read = (name: string) => JSON.parse(readFileSync(resolve(base, name), 'utf8'));
  const report: StrykerReport = { projectRoot: root, files: {} };
  let tested = 0;
  for (const name of names.filter((n) => n.endsWith('-onMutantTested.json'))) {
    const m = read(name) as StrykerReport['files'][string]['mutants'][number] & { fileName: string };
    (report.files[m.fileName] ??= { mutants: [] }).mutants.push(m);
    tested += 1;
  }
  const planned = (read(plan) as { mutantPlans?: unknown[] }).mutantPlans?.length ?? tested;
  const date = statSync(resolve(base, names.at(-1)!)).mtime.toISOString();
  return { ...summarise(report, root, { report: dir, date }), partial: { tested, planned } };
}
