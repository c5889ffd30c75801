/**
 * The controller's parallel regions beside the breaker: what the sensors say (leak, level,
 * inflow, link) and the two outputs (valve, pump), derived from the other regions with
 * eventless transitions so that each output has exactly one place where it switches.
 */
import { and, not, stateIn } from 'xstate';
import { controllerSetup, detect } from './setup.js';

/** The base-pan float, debounced (i30), and how long the pan has been dry. */
export const leakRegion = controllerSetup.createStateConfig({
  initial: 'unknown',
  states: {
    unknown: {
      id: 'leakUnknown',
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
      on: {
        'sensor.float': [
          { guard: 'isFloatWet', target: 'debouncing' },
          { guard: 'isFloatOpen', target: 'signalLost' },
        ],
      },
    },
    debouncing: {
      id: 'leakDebouncing',
      after: { wetDebounce: { target: 'wet', actions: detect('i30', 'water in the base pan') } },
      on: {
        'sensor.float': [
          // A break in the wet signal restarts the debounce: chatter never trips.
          { guard: 'isFloatDry', target: 'dry' },
          { guard: 'isFloatOpen', target: 'signalLost' },
        ],
      },
    },
    wet: {
      id: 'leakWet',
      on: {
        'sensor.float': [
          { guard: 'isFloatDry', target: 'drying' },
          { guard: 'isFloatOpen', target: 'signalLost' },
        ],
      },
    },
    drying: {
      id: 'leakDrying',
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

/** Level-sensor health: signal lost (i41) or implausible (i42). */
export const levelRegion = controllerSetup.createStateConfig({
  initial: 'ok',
  on: { 'sensor.level': { actions: 'recordLevel' } },
  states: {
    ok: {
      id: 'levelOk',
      on: {
        'sensor.level': [
          { guard: 'isLevelOpen', target: 'lost', actions: 'recordLevel' },
          { guard: 'isLevelImplausible', target: 'implausible', actions: 'recordLevel' },
          { actions: 'recordLevel' },
        ],
      },
    },
    lost: {
      after: { levelLost: { target: 'faulted', actions: detect('i41', 'level sensor signal lost') } },
      on: {
        'sensor.level': [
          { guard: 'isLevelOk', target: 'ok', actions: 'recordLevel' },
          { guard: 'isLevelImplausible', target: 'implausible' },
        ],
      },
    },
    implausible: {
      after: { levelImplausible: { target: 'faulted', actions: detect('i42', 'level sensor implausible') } },
      on: {
        'sensor.level': [
          { guard: 'isLevelOk', target: 'ok', actions: 'recordLevel' },
          { guard: 'isLevelOpen', target: 'lost' },
        ],
      },
    },
    faulted: {
      on: { 'sensor.level': { guard: 'isLevelOk', target: 'ok', actions: 'recordLevel' } },
    },
  },
});

/** Flow while the valve is closed (iB0). */
export const inflowRegion = controllerSetup.createStateConfig({
  initial: 'quiet',
  states: {
    quiet: {
      id: 'inflowQuiet',
      on: { 'sensor.flow': { guard: and(['isFlowing', stateIn('#valveClosed')]), target: 'suspect' } },
    },
    suspect: {
      after: { valveLeakFlow: { target: 'faulted', actions: detect('iB0', 'flow while the valve is closed') } },
      always: { guard: stateIn('#valveOpen'), target: 'quiet' },
      on: { 'sensor.flowStopped': 'quiet' },
    },
    faulted: {
      initial: 'flowing',
      on: { 'controller.resetDone': '#inflowQuiet' },
      states: {
        flowing: {
          id: 'inflowFlowing',
          on: { 'sensor.flowStopped': 'stopped' },
        },
        stopped: {
          on: { 'sensor.flow': { guard: 'isFlowing', target: 'flowing' } },
        },
      },
    },
  },
});

/** The board's watchdog reports (iC0). */
export const linkRegion = controllerSetup.createStateConfig({
  initial: 'ok',
  states: {
    ok: { on: { 'board.linkLost': { target: 'lost', actions: detect('iC0', 'board watchdog: no keepalive from the controller') } } },
    lost: { id: 'linkLost', on: { 'board.linkRestored': 'ok' } },
  },
});

/** The inlet valve: the one place it opens and closes, from the `wantsValveOpen` guard. */
export const valveRegion = controllerSetup.createStateConfig({
  initial: 'closed',
  states: {
    closed: { id: 'valveClosed', always: { guard: 'wantsValveOpen', target: 'open' } },
    open: {
      id: 'valveOpen',
      entry: 'openValve',
      exit: 'closeValve',
      always: { guard: not('wantsValveOpen'), target: 'closed' },
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
