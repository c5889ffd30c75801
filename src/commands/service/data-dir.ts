/**
 * One convention for where the long-running commands keep their files: `.aquastop/<command>` in
 * the working directory (`--data-dir`, `AQUASTOP_DATA_DIR`), so `run`, `sim`, `monitor` and
 * `start` started in one directory never share or overwrite each other's files. A service gives
 * its own (`/var/lib/aquastop/...`, see the systemd unit).
 *
 * `run` used `aquastop-data` before: a device whose memory (its latched trip, which must survive)
 * is still there and not yet at the new place keeps using it, with a warning saying how to move it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export function defaultDataDir(command: string): string {
  return join('.aquastop', command);
}

/** `run`'s data directory before the convention. */
export const OLDER_RUN_DATA_DIR = 'aquastop-data';

/** The directory `run` uses for device `id`: `dataDir`, or the older default when only that one holds the device's memory. */
export function runDataDir(dataDir: string, fromDefault: boolean, id: string): { readonly dir: string; readonly older: boolean } {
  if (!fromDefault || existsSync(join(dataDir, id)) || !existsSync(join(OLDER_RUN_DATA_DIR, id, 'memory.json'))) return { dir: dataDir, older: false };
  return { dir: OLDER_RUN_DATA_DIR, older: true };
}
