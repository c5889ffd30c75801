/**
 * System tools some tests need (mosquitto, avr-gcc, chromium, promtool...). On a machine
 * without one the test is skipped with a clear message; with CI=true a missing tool fails,
 * so CI always runs it. `.ci/install-system-packages.sh` installs them all.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export function findTool(name: string): string | null {
  if (name.startsWith('/')) {
    try {
      accessSync(name, constants.X_OK);
      return name;
    } catch {
      return null;
    }
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/**
 * Returns true when every tool is present. Otherwise: under CI=true throws (the suite fails);
 * elsewhere prints why and returns false, for `describe.skipIf(!hasTools(...))`.
 */
export function hasTools(...names: string[]): boolean {
  const missing = names.filter((n) => findTool(n) === null);
  if (missing.length === 0) return true;
  const message = `missing system tool(s): ${missing.join(', ')} — run .ci/install-system-packages.sh`;
  if (process.env.CI === 'true') throw new Error(`${message} (CI=true: required)`);
  console.warn(`SKIP: ${message}`);
  return false;
}
