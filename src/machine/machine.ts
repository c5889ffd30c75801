/**
 * The Aquastop controller: a circuit breaker around the inlet valve (README, "The controller").
 *
 * Parallel regions:
 * - breaker: booting -> armed | tripped | probing | latched | service; armed and probing
 *   hold the fill/drain phases they supervise. Fill supervision raises i10/i11/iF0/iE0,
 *   drain supervision i20.
 * - leak: the base-pan float, debounced (i30), and how long the pan has been dry.
 * - level: level-sensor health (i41 lost, i42 implausible).
 * - inflow: flow while the valve is closed (iB0).
 * - link: the board's watchdog reports (iC0). While the link is lost nothing opens the valve:
 *   a cool-down that ends waits for the link, and so does a probe.
 * - valve, pump: the outputs, derived from the other regions with eventless transitions,
 *   so there is exactly one place where each output opens/closes.
 * - exerciseGate: at most one proof test of the shut-off per exercise.intervalMs.
 *
 * What "the pan is dry", "the level is good", "the valve may open" mean is defined once, in
 * facts.ts, as state tags; the guards here and the status outside read those.
 *
 * Here: the breaker region and the assembly. The named delays, guards and actions are in
 * setup.ts, fill/drain supervision in supervision.ts, the other regions in regions.ts.
 *
 * Pure: no I/O, no timers of its own. Waiting uses named xstate delays on the actor's clock.
 * Detected faults travel as the internal `fault.detected` event; the breaker decides.
 */
import { and, not, stateIn } from 'xstate';
import { parseControllerConfig } from './config.js';
import { holds, tagsFor } from './facts.js';
import { exerciseGateRegion, inflowRegion, leakRegion, levelRegion, linkRegion, pumpRegion, valveRegion } from './regions.js';
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
    recentOpens: 0,
    bootLatch: input.latch,
    bootMemoryFault: input.memoryFault === true,
  }),
  states: {
    breaker: {
      initial: 'booting',
      on: {
        'valve.openExpired': { actions: 'forgetValveOpen' },
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
        'user.exercise': { actions: reject('user.exercise', 'the proof test runs only when the breaker is armed and the appliance idle') },
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
              { guard: 'isServiceFault', target: 'service', actions: ['holdFault', 'emitRaised', 'failExercise'] },
              { guard: 'isManualFault', target: 'latched', actions: ['holdFault', 'emitRaised', 'failExercise'] },
              { target: 'tripped', actions: ['holdFault', 'emitRaised', 'failExercise'] },
            ],
            'user.closeValve': [
              { guard: holds('exerciseRunning'), target: '.held', actions: ['accept', { type: 'emitExercise', params: { result: 'stopped' } }] },
              { target: '.held', actions: 'accept' },
            ],
          },
          states: {
            idle: {
              always: [
                { guard: and(['isFillSatisfied', holds('levelGood')]), actions: ['emitFillDone', 'clearDemand'] },
                { guard: 'hasFillDemand', target: 'filling' },
                { guard: and(['isDrainSatisfied', holds('levelGood')]), actions: ['emitDrainDone', 'clearDemand'] },
                { guard: 'hasDrainDemand', target: 'draining' },
              ],
              on: {
                // (A lost link never reaches here: it trips the armed breaker with iC0.)
                'user.exercise': [
                  { guard: not(stateIn('#exerciseReady')), actions: 'rejectExerciseInterval' },
                  { guard: not(holds('panDry')), actions: 'rejectUntilPanDry' },
                  { guard: not(holds('levelGood')), actions: reject('user.exercise', 'the level sensor signal is lost or implausible') },
                  { guard: not('isExerciseLevelLow'), actions: 'rejectExerciseLevel' },
                  { guard: not(holds('inflowQuiet')), actions: reject('user.exercise', 'water is flowing while the valve is closed') },
                  { target: 'exercising', actions: 'accept' },
                ],
              },
            },
            filling: fillSupervision('armedFilling', '#armed.idle', false),
            draining: drainSupervision('armedDraining', '#armed.idle', false),
            /**
             * The proof test of the shut-off: open for at most exercise.durationMs (closing
             * early at the volume or rise cap), then closed for long enough that a valve that
             * keeps flowing is caught as iB0; passed once the flow has stopped.
             */
            exercising: {
              id: 'exercising',
              tags: tagsFor('exercising'),
              initial: 'opening',
              states: {
                opening: {
                  id: 'exerciseOpening',
                  tags: tagsFor('exerciseOpening'),
                  entry: 'startFill',
                  after: { exerciseDuration: 'verifying' },
                  on: {
                    'sensor.flow': [{ guard: 'isExerciseCapReached', target: 'verifying', actions: 'countInflow' }, { actions: 'countInflow' }],
                    'sensor.level': { guard: 'isExerciseCapReached', target: 'verifying' },
                  },
                },
                verifying: {
                  after: { exerciseVerify: 'concluding' },
                  on: { 'sensor.flow': { actions: 'countInflow' } },
                },
                concluding: {
                  always: {
                    guard: and([holds('inflowQuiet'), holds('floatDry')]),
                    target: '#armed.idle',
                    actions: { type: 'emitExercise', params: { result: 'passed' } },
                  },
                },
              },
            },
            held: {
              on: {
                'user.resume': [
                  { guard: not(holds('panDry')), actions: 'rejectUntilPanDry' },
                  { target: 'idle', actions: 'accept' },
                ],
              },
            },
          },
        },
        tripped: {
          entry: breakerEntry('tripped'),
          initial: 'coolingDown',
          states: {
            coolingDown: { after: { coolDown: 'waitingForLink' } },
            /** Cooled down: the probe starts as soon as the board hears us (at once when it does). */
            waitingForLink: {
              id: 'trippedWaitingForLink',
              always: { guard: and([holds('linkGood'), not('isHoldingLinkFault')]), target: '#probing' },
            },
          },
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
              { guard: not(holds('linkGood')), actions: reject('user.resume', 'the board link is lost: the probe waits for it') },
              { target: 'probing', actions: 'accept' },
            ],
            'board.linkRestored': { guard: 'isHoldingLinkFault', target: 'armed', actions: ['clearFault', 'forgetFault'] },
          },
        },
        probing: {
          id: 'probing',
          entry: breakerEntry('probing'),
          initial: 'deciding',
          on: {
            'fault.detected': [
              { guard: 'isServiceFault', target: 'service', actions: ['holdFault', 'emitRaised'] },
              // The link, not the appliance, failed: the probe proved nothing. It waits for the link, keeping its fault.
              { guard: 'isLinkFault', target: '#trippedWaitingForLink', actions: 'emitRaised' },
              // The half-open probe failed: a repeated fault needs a person.
              { target: 'latched', actions: ['holdFault', 'emitRaised'] },
            ],
            'user.closeValve': { target: 'tripped', actions: 'accept' },
          },
          states: {
            deciding: {
              always: [{ guard: 'hasFillDemand', target: 'probeFill' }, { guard: 'hasDrainDemand', target: 'probeDrain' }, { target: 'waiting' }],
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
                guard: holds('leak'),
                actions: reject('user.reset', 'the base pan is wet or its float signal is lost: reset refused until it is dry'),
              },
              {
                guard: holds('floatUnknown'),
                actions: reject('user.reset', 'the base-pan float has not been read yet: reset refused'),
              },
              { guard: not(holds('panDry')), actions: 'rejectUntilPanDry' },
              {
                guard: not(holds('levelGood')),
                actions: reject('user.reset', 'the level sensor signal is lost or implausible: reset refused'),
              },
              {
                guard: stateIn('#inflowFlowing'),
                actions: reject('user.reset', 'water is flowing while the valve is closed: reset refused'),
              },
              {
                guard: not(holds('linkGood')),
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
    exerciseGate: exerciseGateRegion,
  },
});

export type ControllerMachine = typeof controllerMachine;
