/**
 * `aquastop sim` without a scenario: dishwasher programs back to back at real speed, with
 * single keys to inject faults and act as the user. Also the dashboard's fault buttons.
 */
import type { CommandResult } from '../src/board/runtime-types.js';
import type { Simulation } from './engine.js';
import { runRealtime } from './realtime.js';
import { parseScenario, type Scenario } from './scenario.js';

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

const KEYS: readonly Key[] = [
  { key: 'l', label: 'leak', act: (sim) => sim.apply({ inject: 'leak', ml: 120 }) },
  { key: 'b', label: 'burst hose', act: (sim) => sim.apply({ inject: 'burstHose' }) },
  { key: 't', label: 'tap closed', act: (sim) => sim.apply({ inject: 'tapClosed' }) },
  { key: 'o', label: 'open tap', act: (sim) => sim.apply({ clear: 'tapClosed' }) },
  { key: 'd', label: 'dry pan', act: (sim) => sim.apply({ dryPan: true }) },
  { key: 'r', label: 'resume', act: (sim) => sim.press('resume') },
  { key: 'x', label: 'reset', act: (sim) => sim.press('reset') },
  { key: 'c', label: 'close valve', act: (sim) => sim.press('closeValve') },
  { key: 'p', label: 'power cut/restore', act: (sim) => (sim.runtime ? sim.powerCut() : sim.powerUp()) },
];

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

export async function runInteractive(
  sim: Simulation,
  options: { speed: number; durationMs: number | undefined; out: (line: string) => void },
): Promise<void> {
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

/** The dashboard's fault buttons (telemetry's `inject` topic) for a simulated appliance. */
export function injectFromDashboard(
  sim: Simulation,
  fault: 'leak' | 'burstHose' | 'tapClosed' | 'powerCut' | 'crackedHose' | 'dryPan',
): CommandResult {
  switch (fault) {
    case 'leak':
      void sim.apply({ inject: 'leak', ml: 120 });
      break;
    case 'burstHose':
      void sim.apply({ inject: 'burstHose' });
      break;
    case 'tapClosed':
      void sim.apply({ inject: 'tapClosed' });
      break;
    case 'crackedHose':
      void sim.apply({ inject: 'crackedHose', leakFraction: 0.85, toPanFraction: 0.005 });
      break;
    case 'dryPan':
      void sim.apply({ dryPan: true });
      break;
    case 'powerCut':
      if (sim.runtime) sim.powerCut();
      else void sim.powerUp();
      break;
  }
  return { ok: true };
}
