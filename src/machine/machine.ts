/**
 * The Aquastop controller: a circuit breaker around the inlet valve (DESIGN.md).
 *
 * Parallel regions:
 * - breaker: booting -> armed | tripped | probing | latched | service; armed and probing
 *   hold the fill/drain phases they supervise. Fill supervision raises i10/i11/iF0/iE0,
 *   drain supervision i20.
 * - leak: the base-pan float, debounced (i30), and how long the pan has been dry.
 * - level: level-sensor health (i41 lost, i42 implausible).
 * - inflow: flow while the valve is closed (iB0).
 * - link: the board's watchdog reports (iC0).
 * - valve, pump: the outputs, derived from the other regions with eventless transitions,
 *   so there is exactly one place where each output opens/closes.
 *
 * Here: the breaker region and the assembly. The named delays, guards and actions are in
 * setup.ts, fill/drain supervision in supervision.ts, the other regions in regions.ts.
 *
 * Pure: no I/O, no timers of its own. Waiting uses named xstate delays on the actor's clock.
 * Detected faults travel as the internal `fault.detected` event; the breaker decides.
 */
import { not, or, stateIn } from 'xstate';
import { parseControllerConfig } from './config.js';
import { inflowRegion, leakRegion, levelRegion, linkRegion, pumpRegion, valveRegion } from './regions.js';
import { breakerEntry, controllerSetup, detect, reject } from './setup.js';
import { drainSupervision, fillSupervision } from './supervision.js';

export type { MachineInput } from './setup.js';
export { controllerSetup } from './setup.js';

export const controllerMachine = controllerSetup.createMachine({
  id: 'aquastop',
  type: 'parallel',
  context: ({ input }) => ({
    config: input.config ?? parseControllerConfig({}),
    fault: null,
    faultDetail: undefined,
    tripCount: 0,
    demand: null,
    levelL: null,
    fillStartL: 0,
    inflowL: 0,
    failedTopUps: 0,
    bootLatch: input.latch,
    bootMemoryFault: input.memoryFault === true,
  }),
  states: {
    breaker: {
      initial: 'booting',
      on: {
        'program.fill': { actions: 'setDemand' },
        'program.drain': { actions: 'setDemand' },
        'program.idle': { actions: 'clearDemand' },
        'sensor.hoseFuse': { actions: detect('iH0', 'hose safety valve blown') },
        'board.selfTestFailed': {
          actions: {
            type: 'detect',
            params: ({ event }) => ({ code: 'i90' as const, detail: `board self-test failed: ${event.test.slice(0, 80)}` }),
          },
        },
        'user.reset': { actions: reject('user.reset', 'nothing to reset: the breaker is not latched') },
        'user.resume': { actions: reject('user.resume', 'nothing to resume') },
        'user.exercise': { actions: reject('user.exercise', 'valve exercise is allowed only when armed and idle') },
        'user.closeValve': { actions: 'accept' },
      },
      states: {
        booting: {
          always: [
            { guard: 'isMemoryFault', target: 'service', actions: ['holdMemoryFault', 'emitMemoryFaultRaised'] },
            { guard: 'hasServiceLatch', target: 'service', actions: ['restoreLatch', 'emitRestoredRaised'] },
            { guard: 'hasLatch', target: 'latched', actions: ['restoreLatch', 'emitRestoredRaised'] },
            { target: 'armed' },
          ],
        },
        armed: {
          id: 'armed',
          entry: breakerEntry('armed'),
          initial: 'idle',
          on: {
            'fault.detected': [
              { guard: 'isServiceFault', target: 'service', actions: ['holdFault', 'emitRaised'] },
              { guard: 'isManualFault', target: 'latched', actions: ['holdFault', 'emitRaised'] },
              { target: 'tripped', actions: ['holdFault', 'emitRaised'] },
            ],
            'user.closeValve': { target: '.held', actions: 'accept' },
          },
          states: {
            idle: {
              always: [
                { guard: 'isFillSatisfied', actions: ['emitFillDone', 'clearDemand'] },
                { guard: 'hasFillDemand', target: 'filling' },
                { guard: 'isDrainSatisfied', actions: ['emitDrainDone', 'clearDemand'] },
                { guard: 'hasDrainDemand', target: 'draining' },
              ],
              on: { 'user.exercise': { target: 'exercising', actions: 'accept' } },
            },
            filling: fillSupervision('armedFilling', '#armed.idle', false),
            draining: drainSupervision('armedDraining', '#armed.idle', false),
            exercising: {
              id: 'exercising',
              after: { exerciseDuration: 'idle' },
            },
            held: {
              on: { 'user.resume': { target: 'idle', actions: 'accept' } },
            },
          },
        },
        tripped: {
          entry: breakerEntry('tripped'),
          after: { coolDown: { guard: not('isHoldingLinkFault'), target: 'probing' } },
          on: {
            'fault.detected': [
              { guard: 'isServiceFault', target: 'service', actions: ['holdFault', 'emitRaised'] },
              { guard: 'isManualFault', target: 'latched', actions: ['holdFault', 'emitRaised'] },
              // Another retryable fault while cooling down (only iC0 can arrive here) is recorded, not acted on.
              { actions: 'emitRaised' },
            ],
            'user.resume': [
              {
                guard: 'isHoldingLinkFault',
                actions: reject('user.resume', 'waiting for the board link to return (iC0)'),
              },
              { target: 'probing', actions: 'accept' },
            ],
            'board.linkRestored': { guard: 'isHoldingLinkFault', target: 'armed', actions: ['clearFault', 'forgetFault'] },
          },
        },
        probing: {
          entry: breakerEntry('probing'),
          initial: 'deciding',
          on: {
            'fault.detected': [
              { guard: 'isServiceFault', target: 'service', actions: ['holdFault', 'emitRaised'] },
              { guard: 'isLinkFault', target: 'tripped', actions: ['holdFault', 'emitRaised'] },
              // The half-open probe failed: a repeated fault needs a person.
              { target: 'latched', actions: ['holdFault', 'emitRaised'] },
            ],
            'user.closeValve': { target: 'tripped', actions: 'accept' },
          },
          states: {
            deciding: {
              always: [
                { guard: 'hasFillDemand', target: 'probeFill' },
                { guard: 'hasDrainDemand', target: 'probeDrain' },
                { target: 'waiting' },
              ],
            },
            waiting: {
              id: 'probeWaiting',
              always: [
                { guard: 'hasFillDemand', target: 'probeFill' },
                { guard: 'hasDrainDemand', target: 'probeDrain' },
              ],
            },
            probeFill: fillSupervision('probeFill', '#probeSucceeded', true),
            probeDrain: drainSupervision('probeDrain', '#probeSucceeded', true),
            succeeded: {
              id: 'probeSucceeded',
              always: { target: '#armed', actions: ['clearFault', 'forgetFault'] },
            },
          },
        },
        latched: {
          entry: [breakerEntry('latched'), { type: 'emitLatch', params: { breaker: 'latched' } }],
          on: {
            'fault.detected': [
              { guard: 'isServiceFault', target: 'service', actions: ['holdFault', 'emitRaised'] },
              { guard: 'isHeldFault' },
              { guard: 'isMorePressingFault', target: 'latched', reenter: true, actions: ['holdFault', 'emitRaised'] },
              { actions: 'emitRaised' },
            ],
            'user.reset': [
              {
                guard: or([stateIn('#leakWet'), stateIn('#leakDebouncing'), stateIn('#leakUnknown')]),
                actions: reject('user.reset', 'the base pan is wet: reset refused until it is dry'),
              },
              {
                guard: stateIn('#leakSignalLost'),
                actions: reject('user.reset', 'the base-pan float signal is lost (broken wire?): reset refused'),
              },
              {
                guard: stateIn('#leakDrying'),
                actions: {
                  type: 'reject',
                  params: ({ context }) => ({
                    command: 'user.reset' as const,
                    reason: `the base pan must stay dry for ${Math.round(context.config.leak.dryMs / 1000)} s before a reset`,
                  }),
                },
              },
              {
                guard: not(stateIn('#levelOk')),
                actions: reject('user.reset', 'the level sensor signal is lost or implausible: reset refused'),
              },
              {
                guard: stateIn('#inflowFlowing'),
                actions: reject('user.reset', 'water is flowing while the valve is closed: reset refused'),
              },
              {
                guard: stateIn('#linkLost'),
                actions: reject('user.reset', 'the board link is lost: reset refused'),
              },
              {
                target: 'armed',
                actions: ['accept', 'clearFault', 'forgetFault', 'emitUnlatched', 'resetFailedTopUps', 'announceReset'],
              },
            ],
          },
        },
        service: {
          entry: [breakerEntry('service'), { type: 'emitLatch', params: { breaker: 'service' } }],
          on: {
            'fault.detected': [{ guard: 'isHeldFault' }, { actions: 'emitRaised' }],
            'user.reset': {
              actions: reject('user.reset', 'a service fault needs a repair: no software reset'),
            },
          },
        },
      },
    },

    leak: leakRegion,
    level: levelRegion,
    inflow: inflowRegion,
    link: linkRegion,
    valve: valveRegion,
    pump: pumpRegion,
  },
});

export type ControllerMachine = typeof controllerMachine;
