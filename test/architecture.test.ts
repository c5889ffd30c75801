/**
 * The dependency rule of the house (README, "Layout"), checked by dependency-cruiser over the real
 * import graph with the rules in .dependency-cruiser.cjs (type-only imports count): the tree has no
 * violation, and each rule bites. For the second, a copy of the tree gets one throwaway file per
 * rule that breaks it, and each must be reported under that rule's name.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/cli.js';

const DEPCRUISE = join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');

interface Violation {
  readonly from: string;
  readonly to: string;
  readonly rule: { readonly name: string };
}

/** The violations depcruise finds in src, sim and hardware of `cwd` (its exit code is their count). */
async function violations(cwd: string): Promise<Violation[]> {
  const run = promisify(execFile);
  const args = [DEPCRUISE, '--config', '.dependency-cruiser.cjs', '--output-type', 'json', 'src', 'sim', 'hardware'];
  const { stdout } = await run(process.execPath, args, { cwd, maxBuffer: 64 * 1024 * 1024 }).catch((err: unknown) => {
    const out = (err as { stdout?: unknown }).stdout;
    if (typeof out === 'string' && out.startsWith('{')) return { stdout: out };
    throw err;
  });
  return (JSON.parse(stdout) as { summary: { violations: Violation[] } }).summary.violations;
}

/** A module of `dir` to import from a probe: `../<dir>/<file>.js`. */
function someModule(dir: string): string {
  const file = readdirSync(join(ROOT, dir)).find((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'));
  if (!file) throw new Error(`no module in ${dir}`);
  return `${dir}/${file.replace(/\.ts$/, '.js')}`;
}

/** Each probe: a file that breaks `rule` by importing `target` (a path from the root). */
const probes: { rule: string; file: string; target: string; typeOnly?: boolean }[] = [
  { rule: 'machine-is-pure', file: 'src/machine/zz-probe.ts', target: someModule('src/board'), typeOnly: true },
  { rule: 'machine-is-pure', file: 'src/machine/zz-probe-node.ts', target: 'node:fs' },
  { rule: 'board-below-the-services', file: 'src/board/zz-probe.ts', target: someModule('src/telemetry') },
  { rule: 'commands-are-the-top', file: 'src/board/zz-probe-commands.ts', target: someModule('src/commands') },
  { rule: 'commands-are-the-top', file: 'src/monitor/zz-probe.ts', target: someModule('src/commands') },
  { rule: 'sim-not-hardware', file: 'sim/zz-probe.ts', target: someModule('hardware') },
  { rule: 'hardware-not-sim', file: 'hardware/zz-probe.ts', target: someModule('sim') },
  { rule: 'bottom-imports-nothing-above', file: 'src/clock/zz-probe.ts', target: someModule('src/board'), typeOnly: true },
  { rule: 'bottom-imports-nothing-above', file: 'src/protocol/zz-probe.ts', target: someModule('src/telemetry') },
  { rule: 'bottom-imports-nothing-above', file: 'src/protocol/zz-probe-machine.ts', target: 'src/machine/machine.js' },
  { rule: 'not-to-test', file: 'sim/zz-probe-test.ts', target: someModule('test/helpers') },
  { rule: 'page-is-self-contained', file: 'src/dashboard/public/zz-probe.js', target: someModule('src/telemetry') },
];

/** The import line of a probe, relative to the probe's folder. */
function importLine(p: (typeof probes)[number]): string {
  const depth = p.file.split('/').length - 1;
  const spec = p.target.startsWith('node:') ? p.target : '../'.repeat(depth) + p.target;
  return p.typeOnly ? `import type * as probe from '${spec}';\nexport type Probe = typeof probe;\n` : `import * as probe from '${spec}';\nexport const kept = probe;\n`;
}

describe('the dependency rule', () => {
  it('holds over the import graph of src, sim and hardware', async () => {
    expect(await violations(ROOT)).toEqual([]);
  }, 120_000);

  it('bites: each rule reports a throwaway file that breaks it', async () => {
    const copy = mkdtempSync(join(tmpdir(), 'aquastop-architecture-'));
    try {
      for (const entry of ['src', 'sim', 'hardware', 'test/helpers', 'tsconfig.json', '.dependency-cruiser.cjs']) cpSync(join(ROOT, entry), join(copy, entry), { recursive: true });
      symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'), 'dir');
      for (const p of probes) writeFileSync(join(copy, p.file), importLine(p));
      const found = await violations(copy);
      const missed = probes.filter((p) => !found.some((v) => v.from === p.file && v.rule.name === p.rule)).map((p) => `${p.file} importing ${p.target} breaks ${p.rule}`);
      expect(missed).toEqual([]);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  }, 120_000);
});
