/**
 * `--config FILE`: a JSON object whose keys are the command's long flag names without `--`
 * (`{"broker": "mqtt://host:1883", "data-dir": "/var/lib/aquastop", "no-mqtt": true}`).
 * Values are what the flag would be given: a string or a number for a flag that takes a value,
 * true or false for a switch. The file only says which flag gets which value; the command then
 * checks the values with the same schema as its flags.
 *
 * Contract: every problem is one line naming the file and, where there is one, the key; all
 * of them are returned at once (a file with three mistakes says three lines).
 */
import { readFileSync } from 'node:fs';

/** What a config file may set: the command's options by long flag (`--data-dir`). */
export interface ConfigTarget {
  readonly long: string;
  /** A switch (true/false) rather than a flag taking a value. */
  readonly isSwitch: boolean;
}

export interface ConfigEntry {
  readonly key: string;
  readonly long: string;
  /** A string for a flag with a value (numbers become their text, as typed), a boolean for a switch. */
  readonly value: string | boolean;
}

export interface ConfigRead {
  readonly entries: ConfigEntry[];
  readonly errors: string[];
}

/** The biggest config file read: a few hundred bytes are typical. */
const MAX_BYTES = 256 * 1024;

/** Reads and checks `path` for a command with `targets`; `label` names the file in errors. */
export function readConfigFile(path: string, targets: readonly ConfigTarget[], label = path): ConfigRead {
  let text: string;
  try {
    const buf = readFileSync(path);
    if (buf.length > MAX_BYTES) return fail(`${label}: larger than ${MAX_BYTES / 1024} KiB: not a config file`);
    text = buf.toString('utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (code ?? String(err));
    return fail(`${label}: ${why}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return fail(`${label}: not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return fail(`${label}: must be a JSON object of flag names and values, e.g. {"data-dir": "/var/lib/aquastop"}`);
  }
  const byLong = new Map(targets.map((t) => [t.long, t]));
  const entries: ConfigEntry[] = [];
  const errors: string[] = [];
  for (const [key, value] of Object.entries(json)) {
    const target = byLong.get(`--${key}`);
    if (key === 'config') {
      errors.push(`${label}: "config" cannot be set in a config file`);
      continue;
    }
    if (!target) {
      const near = closest(
        key,
        [...byLong.keys()].map((l) => l.slice(2)).filter((k) => k !== 'config'),
      );
      errors.push(`${label}: unknown key "${key}"${near ? ` (did you mean "${near}"?)` : ''}: the keys are the command's flags without "--"`);
      continue;
    }
    if (target.isSwitch) {
      if (typeof value !== 'boolean') errors.push(`${label}: "${key}" must be true or false (got ${describe(value)})`);
      else entries.push({ key, long: target.long, value });
      continue;
    }
    if (typeof value === 'string') entries.push({ key, long: target.long, value });
    else if (typeof value === 'number' && Number.isFinite(value)) entries.push({ key, long: target.long, value: String(value) });
    else errors.push(`${label}: "${key}" must be a string or a number (got ${describe(value)})`);
  }
  return { entries, errors };
}

function fail(line: string): ConfigRead {
  return { entries: [], errors: [line] };
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${JSON.stringify(value)}`.slice(0, 60);
}

/** The key at most two edits away (a typo), if one is. */
function closest(key: string, keys: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = 3;
  for (const k of keys) {
    const d = distance(key, k);
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best;
}

function distance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}
