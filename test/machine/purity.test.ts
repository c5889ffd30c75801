/**
 * The controller is pure (README, "The controller"): no timers or clocks of its own, no I/O. Read
 * from the source, so a change that breaks the rule fails here before it fails in the field. That
 * it imports only xstate, zod and its own folder is the dependency rule's (test/architecture.test.ts).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';

const dir = join(ROOT, 'src/machine');
const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
const code = (f: string) =>
  readFileSync(join(dir, f), 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/\/\/.*$/gm, '');

describe('the controller machine is pure', () => {
  it('has its files', () => {
    expect(files).toEqual(expect.arrayContaining(['machine.ts', 'catalogue.ts', 'config.ts', 'events.ts', 'guards.ts']));
  });

  it.each(files)('%s uses no timers, clocks, randomness or globals of the process', (f) => {
    expect(code(f)).not.toMatch(/\b(setTimeout|setInterval|setImmediate|Date\.now|new Date|performance\.now|Math\.random|process\.)/);
  });
});
