/**
 * `aquastop sim` without a scenario: dishwasher programs back to back at real speed, with
 * single keys to inject faults and act as the user (each injection's key is in its entry of
 * sim/injections.ts). Also the dashboard's fault buttons.
 */
import type { CommandResult } from '../src/board/runtime-types.js';
import type { Simulation } from './engine.js';
import { runRealtime } from './realtime.js';
import { parseScenario, type Scenario } from './scenario.js';
import { INJECTIONS, injectionNamed, type InjectionName } from './injections.js';

export function interactiveScenario(): Scenario {
  return parseScenario(
    {
      name: 'interactive',
      description: 'Dishwasher programs back to back; press keys to inject faults.',
      duration: '720h',
      program: { loop: true },
    },
    'interactive',
  );
}

interface Key {
  readonly key: string;
  readonly label: string;
  readonly act: (sim: Simulation) => void | Promise<void>;
}

/** An injection's key, word and step, from its entry in the table (sim/injections.ts). */
function injectionKey(name: InjectionName): Key {
  const { key } = injectionNamed(name)!;
  if (!key) throw new Error(`the injection ${name} has no key`);
  return { ...key, act: (sim) => sim.inject(name) };
}

const KEYS: readonly Key[] = [
  injectionKey('leak'),
  injectionKey('burstHose'),
  injectionKey('tapClosed'),
  { key: 'o', label: 'open tap', act: (sim) => sim.apply({ clear: 'tapClosed' }) },
  injectionKey('dryPan'),
  { key: 'r', label: 'resume', act: (sim) => sim.press('resume') },
  { key: 'x', label: 'reset', act: (sim) => sim.press('reset') },
  { key: 'c', label: 'close valve', act: (sim) => sim.press('closeValve') },
  injectionKey('powerCut'),
];

/** The injections a key gives, by key: each entry of the table that has a key is here. */
export const INJECTION_KEYS: ReadonlyMap<string, InjectionName> = new Map(INJECTIONS.flatMap((e) => ('key' in e && e.key ? [[e.key.key, e.name] as const] : [])));

export const FOOTER = `keys: ${KEYS.map((k) => `${k.key}=${k.label}`).join('  ')}  q=quit`;

/**
 * One key press: acts on the simulation and says what the terminal loop does next
 * (`quit` on q or Ctrl-C, `footer` to show the keys again for an unknown key).
 */
export function handleKey(sim: Simulation, key: string): { readonly next: 'quit' | 'footer' | 'continue'; readonly done?: Promise<void> } {
  if (key === 'q' || key === '\u0003') return { next: 'quit' };
  const action = KEYS.find((k) => k.key === key);
  if (!action) return { next: 'footer' };
  return { next: 'continue', done: Promise.resolve(action.act(sim)) };
}

export async function runInteractive(sim: Simulation, options: { speed: number; durationMs: number | undefined; out: (line: string) => void }): Promise<void> {
  const run = runRealtime([sim], { speed: options.speed, ...(options.durationMs !== undefined ? { durationMs: options.durationMs } : {}) });
  const stdin = process.stdin;
  const onSignal = () => run.stop();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let onData: ((data: Buffer) => void) | null = null;
  if (stdin.isTTY) {
    options.out(FOOTER);
    stdin.setRawMode(true);
    stdin.resume();
    onData = (data: Buffer) => {
      // Keys typed quickly (or pasted) arrive together: each one counts.
      // eslint-disable-next-line @typescript-eslint/no-misused-spread -- one key per code point: a pasted emoji is one key
      const results = [...data.toString('utf8')].map((key) => handleKey(sim, key).next);
      if (results.includes('quit')) run.stop();
      else if (results.includes('footer')) options.out(FOOTER);
    };
    stdin.on('data', onData);
  }
  try {
    await run.done;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (onData) {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
    }
  }
}

/**
 * The dashboard's fault buttons (telemetry's `inject` topic) for a simulated appliance: the
 * entry's own step, as a key gives it (a power cut cuts the power when it is on, restores it when off).
 */
export function injectFromDashboard(sim: Simulation, fault: InjectionName, onError?: (err: unknown) => void): CommandResult {
  if (!injectionNamed(fault)?.manual) return { ok: false, error: `"${fault}" cannot be injected from the dashboard` };
  const done = sim.inject(fault);
  if (onError) done.catch(onError);
  else void done;
  return { ok: true };
}
