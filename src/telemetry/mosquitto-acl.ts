/**
 * Writes the mosquitto ACL file for an accounts file (the one `--accounts` reads), from the same
 * rules the embedded broker enforces (access.ts):
 *
 *   npx tsx src/telemetry/mosquitto-acl.ts accounts.json [--base aquastop] [--ha-prefix homeassistant] > aclfile
 *
 * Bad input is one line on stderr and exit 2.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { loadAccountsFile, mosquittoAclFile } from './access.js';
import { DEFAULT_BASE_TOPIC } from '../protocol/names.js';

export function main(argv: readonly string[]): { code: number; out: string; err: string } {
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: { base: { type: 'string', default: DEFAULT_BASE_TOPIC }, 'ha-prefix': { type: 'string', default: 'homeassistant' } },
    });
    if (positionals.length !== 1) return { code: 2, out: '', err: 'usage: mosquitto-acl.ts ACCOUNTS.json [--base TOPIC] [--ha-prefix PREFIX]\n' };
    const accounts = loadAccountsFile(positionals[0]!);
    return { code: 0, out: mosquittoAclFile(accounts, { base: values.base, haPrefix: values['ha-prefix'] }), err: '' };
  } catch (err) {
    return { code: 2, out: '', err: `${(err as Error).message}\n` };
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const r = main(process.argv.slice(2));
  process.stdout.write(r.out);
  process.stderr.write(r.err);
  process.exitCode = r.code;
}
