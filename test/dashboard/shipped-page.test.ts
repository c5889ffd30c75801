/**
 * The page as shipped (src/dashboard/public): no test hooks, and type-checked.
 *
 * - No script of the page hangs a global on `window` (or `globalThis`, `self`): what the
 *   Chromium tests measure they take from the outside (test/dashboard/page-probe.ts).
 * - `npm run typecheck` checks the page's JavaScript too: its own tsconfig (checkJs, the DOM
 *   library, no Node typings) over every script of the page.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';

const PUBLIC = join(ROOT, 'src/dashboard/public');
const scripts = readdirSync(PUBLIC).filter((f) => f.endsWith('.js'));

/** `window.x = ...`, `globalThis['x'] = ...`, `Object.assign(window, ...)`, `Object.defineProperty(self, ...)`. */
const GLOBAL_WRITE = /\b(?:window|globalThis|self)\s*(?:\.\s*[\w$]+|\[[^\]]+\])\s*=(?!=)|Object\.(?:assign|defineProperty|defineProperties)\(\s*(?:window|globalThis|self)\b/;

describe('the shipped dashboard page', () => {
  it('hangs nothing on window for tests (or anyone) to read', () => {
    expect(scripts.length).toBeGreaterThan(10);
    const writes = scripts.flatMap((f) =>
      readFileSync(join(PUBLIC, f), 'utf8')
        .split('\n')
        .map((line, i) => ({ at: `${f}:${i + 1}`, line: line.trim() }))
        .filter(({ line }) => GLOBAL_WRITE.test(line)),
    );
    expect(writes).toEqual([]);
    // The pattern finds what it is for.
    for (const hook of ['const perf = (window.aquastopStats = {});', "globalThis['hook'] = 1;", 'Object.assign(window, { x });']) expect(GLOBAL_WRITE.test(hook), hook).toBe(true);
    for (const fine of ["window.addEventListener('hashchange', route);", 'if (window.x === 1) go();']) expect(GLOBAL_WRITE.test(fine), fine).toBe(false);
  });

  it('is type-checked by npm run typecheck: checkJs over every script, DOM only, no Node typings', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.typecheck).toMatch(/tsc --noEmit -p src\/dashboard\/tsconfig\.page\.json/);
    const config = JSON.parse(readFileSync(join(ROOT, 'src/dashboard/tsconfig.page.json'), 'utf8')) as {
      compilerOptions: Record<string, unknown>;
      include: string[];
    };
    expect(config.compilerOptions).toMatchObject({ allowJs: true, checkJs: true, strict: true, types: [] });
    expect(config.compilerOptions.lib).toContain('DOM');
    expect(config.include).toContain('public/*.js');
  });
});
