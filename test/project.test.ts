/**
 * The project's own promises (issue #2, "Project"): package.json, tsconfig, the README's
 * Quick start of exactly two commands, and CI running what the README says.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/cli.js';

const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

describe('the project', () => {
  it('is an ES module package named aquastop-sim with an aquastop bin, for Node >= 20', () => {
    const pkg = JSON.parse(read('package.json')) as { bin: { aquastop: string }; scripts: object; dependencies: object; devDependencies: object };
    expect(pkg).toMatchObject({ name: 'aquastop-sim', type: 'module', engines: { node: '>=20' } });
    expect(existsSync(join(ROOT, pkg.bin.aquastop))).toBe(true);
    for (const script of ['start', 'test', 'typecheck', 'bench']) expect(pkg.scripts, script).toHaveProperty(script);
    expect(pkg.devDependencies).toHaveProperty('vitest');
    expect({ ...pkg.dependencies, ...pkg.devDependencies }).toHaveProperty('tsx');
  });

  it('type-checks strictly', () => {
    expect(JSON.parse(read('tsconfig.json')).compilerOptions.strict).toBe(true);
  });

  it('has a README Quick start of exactly two commands: npm install && npm start, and npm test', () => {
    const section = read('README.md')
      .split(/^## /m)
      .find((s) => s.startsWith('Quick start'));
    expect(section).toBeDefined();
    const block = /```sh\n([\s\S]*?)```/.exec(section!)?.[1];
    expect(block?.trim().split('\n')).toEqual(['npm install && npm start', 'npm test']);
  });

  it('runs in CI what the README says: install, type-check, lint, npm test', () => {
    const commands = read('.ci/run')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => !line.startsWith('#'));
    const steps = ['npm ci', 'npm run typecheck', 'npm run lint', 'npm test'].map((step) => commands.findIndex((line) => line.startsWith(step)));
    expect(steps.every((i) => i >= 0)).toBe(true);
    expect([...steps].sort((a, b) => a - b)).toEqual(steps);
    expect(read('README.md')).toContain('`npm run lint`');
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
    for (const check of [/\bdepcruise --config \.dependency-cruiser\.cjs /, /\beslint \./, /\bnpm run --silent lint:format\b/]) expect(scripts.lint).toMatch(check);
    expect(scripts['lint:format']).toMatch(/^prettier --check /);
  });

  it('keeps the top level to what the project promises', () => {
    const allowed = [
      '.ci',
      '.dependency-cruiser.cjs',
      '.gitignore',
      '.prettierignore',
      '.prettierrc.json',
      'README.md',
      'eslint.config.js',
      'hardware',
      'package-lock.json',
      'package.json',
      'sim',
      'src',
      'test',
      'tsconfig.json',
    ];
    const tracked = execFileSync('git', ['ls-files'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean);
    const top = [...new Set(tracked.map((f) => f.split('/')[0]!))].sort();
    expect(top.filter((entry) => !allowed.includes(entry))).toEqual([]);
  });

  it('has a README Layout naming every folder of src/ and only folders that exist', () => {
    const section = read('README.md')
      .split(/^## /m)
      .find((s) => s.startsWith('Layout\n'));
    const block = /```\n([\s\S]*?)```/.exec(section ?? '')?.[1] ?? '';
    const named = [...block.matchAll(/^(\S+\/) /gm)].map((m) => m[1]!);
    expect(named.length).toBeGreaterThan(8);
    expect(named.filter((dir) => !existsSync(join(ROOT, dir)))).toEqual([]);
    const tracked = execFileSync('git', ['ls-files', 'src'], { cwd: ROOT, encoding: 'utf8' }).split('\n');
    const folders = [...new Set(tracked.filter((f) => f.split('/').length > 2).map((f) => `src/${f.split('/')[1]}/`))];
    expect(folders.length).toBeGreaterThan(8);
    expect(folders.filter((dir) => !block.includes(dir))).toEqual([]);
    // Each folder the Layout names (test/ aside) explains itself in a README of its own.
    expect(named.filter((dir) => dir !== 'test/' && !existsSync(join(ROOT, dir, 'README.md')))).toEqual([]);
  });

  it('starts the aquastop bin', () => {
    const out = execFileSync(process.execPath, [join(ROOT, 'src/bin/aquastop.js'), 'scenarios'], { cwd: ROOT, encoding: 'utf8' });
    expect(out).toMatch(/^dishwasher-story +A cracked inlet hose/m);
  });
});
