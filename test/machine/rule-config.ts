/**
 * One configuration for a test and for the rules it checks. The rules are stated in the
 * configuration the test asks for; the machine gets the same configuration, less any key its
 * schema does not know (yet): those are listed, so a rule checked against a limit the machine
 * has never heard of shows up as such instead of as a schema error.
 */
import { parseControllerConfig, type ControllerConfig } from '../../src/machine/config.js';
import type { RuleConfig } from './safety-rules.js';

type Tree = { [key: string]: unknown };

export function acceptedConfig(wanted: Tree): { config: ControllerConfig; rules: RuleConfig; dropped: string[] } {
  const input = structuredClone(wanted);
  const dropped: string[] = [];
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      const config = parseControllerConfig(input);
      return { config, rules: merge(config, wanted) as unknown as RuleConfig, dropped };
    } catch {
      const missing = unknownKey(input);
      if (!missing) throw new Error(`test configuration rejected: ${JSON.stringify(input)}`);
      dropped.push(missing);
    }
  }
  throw new Error('test configuration: too many unknown keys');
}

/** Removes the first key the schema rejects as unknown; returns its dotted path. */
function unknownKey(input: Tree): string | null {
  for (const [section, value] of Object.entries(input)) {
    const probe: Tree = { [section]: value };
    try {
      parseControllerConfig(probe);
      continue;
    } catch {
      if (!value || typeof value !== 'object') {
        delete input[section];
        return section;
      }
      for (const k of Object.keys(value)) {
        try {
          parseControllerConfig({ [section]: { [k]: (value as Tree)[k] } });
        } catch {
          delete (value as Tree)[k];
          return `${section}.${k}`;
        }
      }
      delete input[section];
      return section;
    }
  }
  return null;
}

function merge(base: Tree, extra: Tree): Tree {
  const out: Tree = { ...base };
  for (const [k, v] of Object.entries(extra)) {
    out[k] = v && typeof v === 'object' && !Array.isArray(v) ? merge((base[k] as Tree) ?? {}, v as Tree) : v;
  }
  return out;
}
