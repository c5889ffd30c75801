/**
 * `npm run bench`: runs every benchmark module in this folder (each exports
 * `run(): Promise<Record<string, unknown>>`) and prints one JSON object. Name modules on
 * the command line to run only those: `npm run bench -- sim`.
 */
import { readdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { basename, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const modules = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts')
  .map((f) => basename(f, '.ts'))
  .filter((name) => only.length === 0 || only.includes(name))
  .sort();

const bench: Record<string, unknown> = {};
for (const name of modules) {
  const mod = (await import(pathToFileURL(`${here}/${name}.ts`).href)) as { run?: () => Promise<Record<string, unknown>> };
  if (typeof mod.run !== 'function') continue;
  process.stderr.write(`bench: ${name}...\n`);
  try {
    bench[name] = await mod.run();
  } catch (err) {
    bench[name] = { error: err instanceof Error ? err.message : String(err) };
  }
}
console.log(JSON.stringify({ bench, node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', date: new Date().toISOString() }, null, 2));
process.exit(0);
