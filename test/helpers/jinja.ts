/**
 * Renders Home Assistant MQTT value templates with Jinja2, the engine Home Assistant runs them
 * with (Debian `python3-jinja2`), in its immutable sandbox, with the message's text as `value`
 * and, when it is JSON, its parsed form as `value_json`, as Home Assistant's
 * render_with_possible_json_value does. Home Assistant adds filters and functions of its own; the
 * templates we publish use only filters whose result is the same in plain Jinja2 (`int`), and
 * the blueprint's one function, `device_attr`, gets a stand-in over given attributes.
 *
 * `jinjaPython()` finds a python3 that has jinja2: null when there is none (then skip, or under
 * CI=true fail, as test/helpers/tools.ts does for other tools).
 */
import { spawnSync } from 'node:child_process';

const SCRIPT = `
import json, sys
from jinja2.sandbox import ImmutableSandboxedEnvironment
env = ImmutableSandboxedEnvironment()
out = []
for case in json.load(sys.stdin):
    variables = dict(case.get("variables") or {})
    if "payload" in case:
        variables["value"] = case["payload"]
        try:
            variables["value_json"] = json.loads(case["payload"])
        except ValueError:
            pass
    if "device" in case:
        attrs = dict(case["device"])
        attrs["identifiers"] = {tuple(i) for i in attrs.get("identifiers", [])}
        variables["device_attr"] = lambda device_id, attr, attrs=attrs: attrs.get(attr)
    try:
        out.append(env.from_string(case["template"]).render(**variables))
    except Exception as e:
        out.append({"error": type(e).__name__ + ": " + str(e)})
json.dump(out, sys.stdout)
`;

export interface JinjaCase {
  readonly template: string;
  /** The MQTT message's text: `value`, and `value_json` when it is JSON. */
  readonly payload?: string;
  /** Further variables (an automation's `trigger`, its variables). */
  readonly variables?: Record<string, unknown>;
  /**
   * A stand-in for Home Assistant's `device_attr(device_id, attr)` over one device's attributes;
   * `identifiers` as [domain, id] pairs become the set of tuples Home Assistant keeps.
   */
  readonly device?: { readonly identifiers?: readonly (readonly [string, string])[]; readonly [attr: string]: unknown };
}

let found: string | null | undefined;

export function jinjaPython(): string | null {
  if (found !== undefined) return found;
  found = null;
  for (const python of ['/usr/bin/python3', 'python3']) {
    const r = spawnSync(python, ['-c', 'import jinja2'], { stdio: 'ignore' });
    if (r.status === 0) {
      found = python;
      break;
    }
  }
  return found;
}

/** True when Jinja2 is here; else skips with a message, or throws under CI=true. */
export function hasJinja(): boolean {
  if (jinjaPython()) return true;
  const message = 'missing python3 with jinja2 (Debian python3-jinja2) — run .ci/install-system-packages.sh';
  if (process.env.CI === 'true') throw new Error(`${message} (CI=true: required)`);
  console.warn(`SKIP: ${message}`);
  return false;
}

/** Renders every case in one python process; a template error comes back as `{ error }`. */
export function renderJinja(cases: readonly JinjaCase[]): (string | { error: string })[] {
  const python = jinjaPython();
  if (!python) throw new Error('no python3 with jinja2');
  const r = spawnSync(python, ['-c', SCRIPT], { input: JSON.stringify(cases), encoding: 'utf8', timeout: 30_000, maxBuffer: 16 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`jinja2 render failed: ${r.stderr || r.error?.message}`);
  return JSON.parse(r.stdout) as (string | { error: string })[];
}
