/**
 * The controller's parallel regions beside the breaker: what the sensors say (leak, level,
 * inflow, link) and the two outputs (valve, pump), derived from the other regions with
 * eventless transitions so that each output has exactly one place where it switches.
 */
import { and, not } from 'xstate';
import { holds, tagsFor } from './facts.js';
import { controllerSetup, detect } from './setup.js';

/** The base-pan float, debounced (i30), and how long the pan has been dry. */
export const leakRegion = controllerSetup.createStateConfig({
  initial: 'unknown',
  states: {
    unknown: {
      id: 'leakUnknown',
      tags: tagsFor('leakUnknown'),
      on: {
        'sensor.float': [
          { guard: 'isFloatWet', target: 'debouncing' },
          { guard: 'isFloatOpen', target: 'signalLost' },
          { guard: 'isFloatDry', target: 'drying' },
        ],
      },
    },
    dry: {
      id: 'leakDry',
      tags: tagsFor('leakDry'),
      on: {
        'sensor.float': [
          { guard: 'isFloatWet', target: 'debouncing' },
          { guard: 'isFloatOpen', target: 'signalLost' },
        ],
      },
    },
    debouncing: {
      id: 'leakDebouncing',
      tags: tagsFor('leakDebouncing'),
      after: { wetDebounce: { target: 'wet', actions: detect('i30', 'water in the base pan') } },
      on: {
        'sensor.float': [
          // A break in the wet signal restarts the debounce: chatter never trips. But the pan
          // was wet a moment ago: it counts as dry again only after leak.dryMs.
          { guard: 'isFloatDry', target: 'drying' },
          { guard: 'isFloatOpen', target: 'signalLost' },
        ],
      },
    },
    wet: {
      id: 'leakWet',
      tags: tagsFor('leakWet'),
      on: {
        'sensor.float': [
          { guard: 'isFloatDry', target: 'drying' },
          { guard: 'isFloatOpen', target: 'signalLost' },
        ],
      },
    },
    drying: {
      id: 'leakDrying',
      tags: tagsFor('leakDrying'),
      after: { panDry: 'dry' },
      on: {
        'sensor.float': [
          // Wet again before the pan counted as dry: a new wet spell, debounced like any other.
          { guard: 'isFloatWet', target: 'debouncing' },
          { guard: 'isFloatOpen', target: 'signalLost' },
        ],
      },
    },
    signalLost: {
      id: 'leakSignalLost',
      tags: tagsFor('leakSignalLost'),
      entry: detect('i30', 'base-pan float signal lost (open circuit)'),
      on: {
        'sensor.float': [
          { guard: 'isFloatDry', target: 'drying' },
          { guard: 'isFloatWet', target: 'wet' },
        ],
      },
    },
  },
});

/**
 * Level-sensor health: signal lost (i41) or implausible (i42). A noisy spell lasts until the
 * signal has read plausible for sensors.levelSettleMs; i42 is timed over the whole spell, so
 * plausible samples between noisy ones do not restart it (and the valve stays closed). Only
 * plausible readings are recorded: the level the guards read is the last one that was.
 */
export const levelRegion = controllerSetup.createStateConfig({
  // Not good until a first plausible reading: unknown input never lets water in.
  initial: 'unknown',
  states: {
    unknown: {
      on: {
        'sensor.level': [{ guard: 'isLevelOk', target: 'ok', actions: 'recordLevel' }, { guard: 'isLevelOpen', target: 'lost' }, { target: 'noisy' }],
      },
    },
    ok: {
      id: 'levelOk',
      tags: tagsFor('levelOk'),
      on: {
        'sensor.level': [{ guard: 'isLevelOpen', target: 'lost' }, { guard: 'isLevelImplausible', target: 'noisy' }, { actions: 'recordLevel' }],
      },
    },
    /** A signal that comes back settles first, like the end of a noisy spell (a loose wire flickers). */
    lost: {
      after: { levelLost: { target: 'faulted', actions: detect('i41', 'level sensor signal lost') } },
      on: {
        'sensor.level': [
          { guard: 'isLevelOk', target: '#levelSettling', actions: 'recordLevel' },
          { guard: 'isLevelImplausible', target: 'noisy' },
        ],
      },
    },
    /** Inside a noisy spell a lost sample is one more bad sample: the spell (and its i42 timer) goes on. */
    noisy: {
      initial: 'implausible',
      after: { levelImplausible: { target: 'faulted', actions: detect('i42', 'level sensor implausible or too noisy') } },
      on: { 'sensor.level': { guard: 'isLevelOpen', target: '.implausible' } },
      states: {
        implausible: {
          on: { 'sensor.level': { guard: 'isLevelOk', target: 'settling', actions: 'recordLevel' } },
        },
        settling: {
          id: 'levelSettling',
          after: { levelSettle: '#levelOk' },
          on: {
            'sensor.level': [
              { guard: 'isLevelImplausible', target: 'implausible' },
              { guard: 'isLevelOk', actions: 'recordLevel' },
            ],
          },
        },
      },
    },
    /** i41 or i42 raised: good again only after levelSettleMs of plausible readings, like a noisy spell. */
    faulted: {
      initial: 'bad',
      states: {
        bad: {
          on: { 'sensor.level': { guard: 'isLevelOk', target: 'settling', actions: 'recordLevel' } },
        },
        settling: {
          after: { levelSettle: '#levelOk' },
          on: {
            'sensor.level': [{ guard: 'isLevelOk', actions: 'recordLevel' }, { target: 'bad' }],
          },
        },
      },
    },
  },
});

/**
 * Flow while the valve is closed (iB0). Flow counts as stopped after valveLeak.quietMs
 * without a pulse: every pulse restarts that wait, not the iB0 timer.
 */
export const inflowRegion = controllerSetup.createStateConfig({
  initial: 'quiet',
  states: {
    quiet: {
      id: 'inflowQuiet',
      tags: tagsFor('inflowQuiet'),
      on: { 'sensor.flow': { guard: and(['isFlowing', not('isValveOpen')]), target: 'suspect' } },
    },
    suspect: {
      after: { valveLeakFlow: { target: 'faulted', actions: detect('iB0', 'flow while the valve is closed') } },
      always: { guard: 'isValveOpen', target: 'quiet' },
      initial: 'pulsing',
      states: {
        pulsing: {
          after: { flowQuiet: '#inflowQuiet' },
          on: { 'sensor.flow': { guard: 'isFlowing', target: 'pulsing', reenter: true } },
        },
      },
    },
    faulted: {
      initial: 'flowing',
      on: { 'controller.resetDone': '#inflowQuiet' },
      states: {
        flowing: {
          id: 'inflowFlowing',
          after: { flowQuiet: 'stopped' },
          on: { 'sensor.flow': { guard: 'isFlowing', target: 'flowing', reenter: true } },
        },
        stopped: {
          on: { 'sensor.flow': { guard: 'isFlowing', target: 'flowing' } },
        },
      },
    },
  },
});

/**
 * The board's watchdog reports (iC0). While the breaker holds iC0 the breaker clears it; an
 * iC0 only recorded beside another held fault is cleared here when the link returns.
 */
export const linkRegion = controllerSetup.createStateConfig({
  initial: 'ok',
  states: {
    ok: {
      id: 'linkOk',
      tags: tagsFor('linkOk'),
      on: { 'board.linkLost': { target: 'lost', actions: detect('iC0', 'board watchdog: no keepalive from the controller') } },
    },
    lost: {
      on: {
        'board.linkRestored': [
          { guard: 'isHoldingLinkFault', target: 'ok' },
          { target: 'ok', actions: { type: 'emitCleared', params: { code: 'iC0' } } },
        ],
      },
    },
  },
});

/**
 * The inlet valve: the one place it opens and closes, from the `valveMayOpen` guard. An open
 * that would exceed valve.maxOpens within valve.windowMs is refused and raises i13.
 */
export const valveRegion = controllerSetup.createStateConfig({
  initial: 'closed',
  states: {
    closed: {
      always: [
        { guard: and(['valveMayOpen', 'isValveCycleSpent']), target: 'refused' },
        { guard: 'valveMayOpen', target: 'open' },
      ],
    },
    refused: {
      entry: {
        type: 'detect',
        params: ({ context }) => ({
          code: 'i13' as const,
          detail: `the valve would open more than ${context.config.valve.maxOpens} times in ${Math.round(context.config.valve.windowMs / 1000)} s`,
        }),
      },
      always: { guard: not('valveMayOpen'), target: 'closed' },
    },
    open: {
      id: 'valveOpen',
      tags: tagsFor('valveOpen'),
      entry: ['openValve', 'countValveOpen', 'expireValveOpen'],
      exit: 'closeValve',
      always: { guard: not('valveMayOpen'), target: 'closed' },
    },
  },
});

/** The drain pump, from the `wantsPumpOn` guard. */
export const pumpRegion = controllerSetup.createStateConfig({
  initial: 'off',
  states: {
    off: { always: { guard: 'wantsPumpOn', target: 'on' } },
    on: {
      entry: 'startPump',
      exit: 'stopPump',
      always: { guard: not('wantsPumpOn'), target: 'off' },
    },
  },
});

/** At most one proof test per exercise.intervalMs: the gate rests after each one. */
export const exerciseGateRegion = controllerSetup.createStateConfig({
  initial: 'ready',
  states: {
    ready: { id: 'exerciseReady', always: { guard: holds('exerciseRunning'), target: 'resting' } },
    resting: { after: { exerciseInterval: 'ready' } },
  },
});
