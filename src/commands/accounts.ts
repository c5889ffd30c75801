/**
 * `--accounts FILE` for the commands that start the embedded broker: the file's accounts,
 * or a usage error (one line, exit 2) naming what is wrong with it.
 */
import { loadAccountsFile, type Account } from '../telemetry/access.js';
import { UsageError } from './errors.js';

export function readAccounts(path: string | undefined): Account[] {
  if (path === undefined) return [];
  try {
    return loadAccountsFile(path);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}
