/**
 * The injection table (sim/injections.ts) is the one home of each injection: every entry is
 * reachable from a scenario step, every key and dashboard button goes through its entry (the
 * names match), and a bad parameter in a scenario file is one line naming the step and field.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { Simulation } from '../../sim/engine.js';
import { dashboardButtons, injectionOf, INJECTIONS, type Injection, type InjectionName } from '../../sim/injections.js';
import { FOOTER, handleKey, injectFromDashboard, INJECTION_KEYS, interactiveScenario } from '../../sim/interactive.js';
import { loadScenarioFile, parseScenario, ScenarioError } from '../../sim/scenario.js';
import { injectSchema } from '../../src/protocol/topics.js';
import { dashboardConfig, dashboardOptionsSchema } from '../../src/dashboard/server.js';

const TABLE = INJECTIONS as unknown as readonly Injection[];
const base = { name: 'x', description: 'd', duration: '1m' };

/** Values a scenario file may give the parameters a step cannot leave out. */
const REQUIRED: Partial<Record<InjectionName, Record<string, unknown>>> = {
  leak: { ml: 50 },
  internalLeak: { leakFraction: 0.5 },
  siphon: { lpm: 1 },
  levelNoise: { amplitude: 1 },
  selfTestFail: { test: 'stack' },
  powerCut: { power: 'cut' },
  dryPan: { dryPan: true },
};

function stepFor(e: Injection): Record<string, unknown> {
  return { at: '1s', ...(e.tag === 'inject' ? { inject: e.name } : {}), ...REQUIRED[e.name as InjectionName] };
}

async function started(): Promise<Simulation> {
  const sim = new Simulation({ scenario: interactiveScenario() });
  await sim.start();
  return sim;
}

describe('the injection table', () => {
  it('has unique names, keys and button places', () => {
    const names = TABLE.map((e) => e.name);
    expect(new Set(names).size).toBe(names.length);
    const keys = TABLE.flatMap((e) => (e.key ? [e.key.key] : []));
    expect(new Set(keys).size).toBe(keys.length);
    const places = TABLE.flatMap((e) => (e.button ? [e.button.place] : []));
    expect(new Set(places).size).toBe(places.length);
  });

  it('reaches every entry from a scenario step, which the simulation applies as that entry', async () => {
    for (const e of TABLE) {
      const scenario = parseScenario({ ...base, timeline: [stepFor(e)] }, 'f.json');
      const step = scenario.timeline[0]!;
      expect(injectionOf(step), e.name).toBe(e);
      const sim = await started();
      const apply = vi.spyOn(e, 'apply');
      try {
        await sim.apply(step);
        expect(apply, e.name).toHaveBeenCalledTimes(1);
        // The entry gets the parsed step: durations in ms, defaults filled in.
        expect(apply.mock.calls[0]![1]).toEqual(step);
      } finally {
        apply.mockRestore();
        await sim.stop();
      }
      if (e.tag === 'inject') expect(sim.log.filter((l) => l.type === 'inject').map((l) => l.fault)).toEqual([e.name]);
    }
  });

  it('fills in the defaults from the one schema (a cracked hose, a chattering float)', () => {
    const [cracked, chatter] = parseScenario(
      {
        ...base,
        timeline: [
          { at: '1s', inject: 'crackedHose' },
          { at: '1s', inject: 'floatChatter' },
        ],
      },
      'f.json',
    ).timeline;
    expect(cracked).toEqual({ at: 1000, inject: 'crackedHose', leakFraction: 0.85, toPanFraction: 0.005 });
    expect(chatter).toEqual({ at: 1000, inject: 'floatChatter', period: 20_000, wet: 3_000 });
  });

  it('gives every entry with a key that key in aquastop sim, and the key applies that entry', async () => {
    const withKey = TABLE.filter((e) => e.key);
    expect(withKey.map((e) => e.name).sort()).toEqual([...INJECTION_KEYS.values()].sort());
    for (const e of withKey) {
      expect(INJECTION_KEYS.get(e.key!.key)).toBe(e.name);
      expect(FOOTER).toContain(`${e.key!.key}=${e.key!.label}`);
      const sim = await started();
      const inject = vi.spyOn(sim, 'inject');
      const result = handleKey(sim, e.key!.key);
      expect(result.next, e.name).toBe('continue');
      await result.done;
      expect(inject.mock.calls, e.name).toEqual([[e.name]]);
      await sim.stop();
    }
  });

  it("a key gives the README's leak (120 mL) and a power button that toggles", async () => {
    const sim = await started();
    await handleKey(sim, 'l').done;
    expect(sim.log.filter((l) => l.type === 'inject')).toMatchObject([{ fault: 'leak', ml: 120 }]);
    await handleKey(sim, 'p').done;
    expect(sim.runtime).toBeNull();
    await handleKey(sim, 'p').done;
    expect(sim.runtime).not.toBeNull();
    await sim.stop();
  });

  it("takes every injection the dashboard may send from the table, and shows the table's buttons", async () => {
    const wire: readonly string[] = injectSchema.shape.inject.options;
    for (const name of wire) expect(TABLE.find((e) => e.name === name)?.manual, name).toBeDefined();
    const buttons = dashboardButtons();
    expect(buttons.map((b) => b.name)).toEqual(['leak', 'burstHose', 'tapClosed', 'powerCut']);
    for (const b of buttons) {
      expect(wire, b.name).toContain(b.name);
      expect(b.label).toBe(TABLE.find((e) => e.name === b.name)!.button!.label);
    }
    // The page gets them from its config and spells none of them itself.
    const config = dashboardConfig(dashboardOptionsSchema.parse({ port: 0, wsUrl: 'ws://127.0.0.1:9001', injections: buttons }));
    expect(config.injections).toEqual(buttons);
    const page = join(import.meta.dirname, '../../src/dashboard/public');
    for (const file of readdirSync(page).filter((f) => f.endsWith('.js'))) {
      const text = readFileSync(join(page, file), 'utf8');
      for (const e of TABLE) if (e.name !== 'leak') expect(text, `${file} spells ${e.name}`).not.toMatch(new RegExp(`['"\`]${e.name}['"\`]`));
      expect(text, file).not.toContain('Leak into the base pan');
    }
    // A button press applies the entry (a refused name is an answer, not a throw).
    for (const name of wire) {
      const sim = await started();
      const inject = vi.spyOn(sim, 'inject');
      expect(injectFromDashboard(sim, name as InjectionName)).toEqual({ ok: true });
      expect(inject.mock.calls).toEqual([[name]]);
      await sim.stop();
    }
    const sim = await started();
    expect(injectFromDashboard(sim, 'memoryCorrupt')).toMatchObject({ ok: false });
    await sim.stop();
  });

  it('names the step and the field of a bad parameter in a scenario file, in one line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'aquastop-injections-'));
    let checked = 0;
    for (const e of TABLE) {
      for (const field of Object.keys(e.shape)) {
        if (field === 'inject') continue;
        const file = join(dir, `${e.name}-${field}.json`);
        // The second step is the bad one: its index is named.
        writeFileSync(
          file,
          JSON.stringify({
            ...base,
            timeline: [
              { at: '1s', press: 'reset' },
              { ...stepFor(e), [field]: 'x' },
            ],
          }),
        );
        let error: unknown;
        try {
          loadScenarioFile(file);
        } catch (err) {
          error = err;
        }
        expect(error, `${e.name}.${field}`).toBeInstanceOf(ScenarioError);
        const message = (error as Error).message;
        expect(message, `${e.name}.${field}`).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: timeline\\.1\\.${field}: \\S`));
        expect(message).not.toContain('\n');
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(12);
  });

  it('keeps each scenario step shape strict: an unknown field is named', () => {
    for (const e of TABLE) {
      expect(() => parseScenario({ ...base, timeline: [{ ...stepFor(e), bogus: 1 }] }, 'f.json'), e.name).toThrow(/^f\.json: timeline\.0: .*bogus/);
    }
  });
});
