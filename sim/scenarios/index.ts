/**
 * The built-in scenarios: every *.json file in this folder.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadScenarioFile, type Scenario } from '../scenario.js';

export const SCENARIO_DIR = dirname(fileURLToPath(import.meta.url));

export function builtinScenarioNames(): string[] {
  return readdirSync(SCENARIO_DIR)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -'.json'.length))
    .sort();
}

export function loadBuiltinScenario(name: string): Scenario | null {
  if (!builtinScenarioNames().includes(name)) return null;
  return loadScenarioFile(join(SCENARIO_DIR, `${name}.json`));
}
