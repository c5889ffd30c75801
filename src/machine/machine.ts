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
 * Pure: no I/O, no timers of its own. Waiting uses named xstate delays on the actor's clock.
 * Detected faults travel as the internal `fault.detected` event; the breaker decides.
 */
import { and, assign, emit, not, or, raise, setup, stateIn } from 'xstate';
import type { FaultCode } from './catalogue.js';
import { parseControllerConfig, type ControllerConfig } from './config.js';
import type { Breaker, ControllerEmitted, ControllerEvent, ControllerInput, Rejection } from './events.js';
import * as g from './guards.js';
import type { ControllerContext } from './guards.js';

type FaultDetected = { type: 'fault.detected'; code: FaultCode; detail?: string };
type ResetDone = { type: 'controller.resetDone' };
type InternalEvent = ControllerEvent | FaultDetected | ResetDone;

export interface MachineInput extends ControllerInput {
  readonly config?: ControllerConfig;
}

const RESTORED = 'restored after a restart: latched before the power was lost';

export const controllerSetup = setup({
  types: {
    context: {} as ControllerContext,
    events: {} as InternalEvent,
    input: {} as MachineInput,
    emitted: {} as ControllerEmitted,
  },
  delays: {
    fillStatic: ({ context }) => context.config.fill.staticTimeoutMs,
    fillDynamic: ({ context }) => context.config.fill.dynamicTimeoutMs,
    topUpTimeout: ({ context }) => context.config.fill.topUpTimeoutMs,
    drainTimeout: ({ context }) => context.config.drain.timeoutMs,
    wetDebounce: ({ context }) => context.config.leak.wetDebounceMs,
    panDry: ({ context }) => context.config.leak.dryMs,
    coolDown: ({ context }) => context.config.breaker.coolDownMs,
    levelLost: ({ context }) => context.config.sensors.levelLostMs,
    levelImplausible: ({ context }) => context.config.sensors.levelImplausibleMs,
    valveLeakFlow: ({ context }) => context.config.valveLeak.flowMs,
    exerciseDuration: ({ context }) => context.config.exercise.durationMs,
  },
  guards: {
    isMemoryFault: ({ context }) => context.bootMemoryFault,
    hasServiceLatch: ({ context }) => context.bootLatch?.breaker === 'service',
    hasLatch: ({ context }) => context.bootLatch !== null,
    hasFillDemand: ({ context }) => g.hasFillDemand(context),
    hasDrainDemand: ({ context }) => g.hasDrainDemand(context),
    isTopUp: ({ context }) => g.isTopUp(context),
    isFillSatisfied: ({ context }) => g.isFillSatisfied(context),
    isDrainSatisfied: ({ context }) => g.isDrainSatisfied(context),
    hasRisen: ({ context }) => g.hasRisen(context),
    reachesFillTarget: ({ context, event }) => g.reachesFillTarget(context, event as ControllerEvent),
    reachesEmpty: ({ context, event }) => g.reachesEmpty(context, event as ControllerEvent),
    isUnaccounted: ({ context, event }) => g.isUnaccounted(context, event as ControllerEvent),
    isFlowing: ({ event }) => g.isFlowing(event as ControllerEvent),
    isTooManyFailedTopUps: ({ context }) => context.failedTopUps + 1 >= context.config.fill.maxFailedTopUps,
    isServiceFault: ({ event }) => event.type === 'fault.detected' && g.isServiceCode(event.code),
    isManualFault: ({ event }) => event.type === 'fault.detected' && g.isManualCode(event.code),
    isLinkFault: ({ event }) => event.type === 'fault.detected' && event.code === 'iC0',
    isMorePressingFault: ({ context, event }) => event.type === 'fault.detected' && g.isMorePressing(event.code, context.fault),
    isHeldFault: ({ context, event }) => event.type === 'fault.detected' && event.code === context.fault,
    isHoldingLinkFault: ({ context }) => context.fault === 'iC0',
    isLevelOk: ({ event }) => event.type === 'sensor.level' && event.reading.status === 'ok',
    isLevelOpen: ({ event }) => event.type === 'sensor.level' && event.reading.status === 'open',
    isLevelImplausible: ({ event }) => event.type === 'sensor.level' && event.reading.status === 'implausible',
    isFloatWet: ({ event }) => event.type === 'sensor.float' && event.reading === 'wet',
    isFloatDry: ({ event }) => event.type === 'sensor.float' && event.reading === 'dry',
    isFloatOpen: ({ event }) => event.type === 'sensor.float' && event.reading === 'open',
    /**
     * The one condition under which the valve may be open: a fill (or exercise) is
     * supervised, the level signal is good, and the float reads dry.
     */
    wantsValveOpen: and([
      or([stateIn('#armedFilling'), stateIn('#probeFill'), stateIn('#exercising')]),
      stateIn('#levelOk'),
      or([stateIn('#leakDry'), stateIn('#leakDrying')]),
    ]),
    /** The pump runs for a supervised drain, and while the pan is wet or its float is lost (i30). */
    wantsPumpOn: or([stateIn('#armedDraining'), stateIn('#probeDrain'), stateIn('#leakWet'), stateIn('#leakSignalLost')]),
  },
  actions: {
    setDemand: assign({
      demand: ({ event }) => {
        if (event.type === 'program.fill') return { kind: 'fill' as const, targetL: event.targetL, topUp: event.topUp === true };
        if (event.type === 'program.drain') return { kind: 'drain' as const };
        return null;
      },
    }),
    clearDemand: assign({ demand: null }),
    recordLevel: assign({
      levelL: ({ context, event }) =>
        event.type === 'sensor.level' && event.reading.status === 'ok' ? event.reading.litres : context.levelL,
    }),
    startFill: assign({
      fillStartL: ({ context }) => context.levelL ?? 0,
      inflowL: 0,
    }),
    countInflow: assign({
      inflowL: ({ context, event }) => (event.type === 'sensor.flow' ? context.inflowL + event.litres : context.inflowL),
    }),
    countFailedTopUp: assign({ failedTopUps: ({ context }) => context.failedTopUps + 1 }),
    resetFailedTopUps: assign({ failedTopUps: 0 }),
    /** Take the detected fault as the one holding the breaker. */
    holdFault: assign({
      fault: ({ event, context }) => (event.type === 'fault.detected' ? event.code : context.fault),
      faultDetail: ({ event, context }) => (event.type === 'fault.detected' ? event.detail : context.faultDetail),
      tripCount: ({ context }) => context.tripCount + 1,
    }),
    restoreLatch: assign({
      fault: ({ context }) => context.bootLatch?.code ?? null,
      faultDetail: ({ context }) => context.bootLatch?.detail,
    }),
    holdMemoryFault: assign({ fault: 'i80' as FaultCode, faultDetail: 'persistent memory unreadable at boot' }),
    emitRaised: emit(({ event }) =>
      event.type === 'fault.detected'
        ? { type: 'fault.raised' as const, code: event.code, ...(event.detail ? { detail: event.detail } : {}) }
        : { type: 'fault.raised' as const, code: 'i80' as FaultCode },
    ),
    emitRestoredRaised: emit(({ context }) => ({
      type: 'fault.raised' as const,
      code: context.fault ?? ('i80' as FaultCode),
      detail: RESTORED,
    })),
    emitMemoryFaultRaised: emit({ type: 'fault.raised', code: 'i80', detail: 'persistent memory unreadable at boot' }),
    /** The held fault is gone: announce it, forget it, and drop any persisted latch. */
    clearFault: emit(({ context }) => ({ type: 'fault.cleared' as const, code: context.fault ?? ('i80' as FaultCode) })),
    forgetFault: assign({ fault: null, faultDetail: undefined }),
    emitUnlatched: emit({ type: 'latch.changed', latch: null }),
    emitLatch: emit(({ context }, params: { breaker: 'latched' | 'service' }) => ({
      type: 'latch.changed' as const,
      latch: {
        code: context.fault ?? ('i80' as FaultCode),
        breaker: params.breaker,
        ...(context.faultDetail ? { detail: context.faultDetail } : {}),
      },
    })),
    emitBreaker: emit(({ context }, params: { breaker: Breaker }) => ({
      type: 'breaker.changed' as const,
      breaker: params.breaker,
      code: params.breaker === 'armed' ? null : context.fault,
    })),
    openValve: emit({ type: 'valve.changed', open: true }),
    closeValve: emit({ type: 'valve.changed', open: false }),
    startPump: emit({ type: 'pump.changed', on: true }),
    stopPump: emit({ type: 'pump.changed', on: false }),
    emitFillDone: emit(({ context, event }) => ({
      type: 'fill.done' as const,
      levelL: event.type === 'sensor.level' && event.reading.status === 'ok' ? event.reading.litres : (context.levelL ?? 0),
    })),
    emitDrainDone: emit({ type: 'drain.done' }),
    accept: emit(({ event }) => ({ type: 'command.accepted' as const, command: event.type as ControllerEvent['type'] })),
    reject: emit((_, params: Rejection) => ({ type: 'command.rejected' as const, rejection: params })),
    detect: raise((_, params: { code: FaultCode; detail?: string }) => ({
      type: 'fault.detected' as const,
      code: params.code,
      ...(params.detail ? { detail: params.detail } : {}),
    })),
    announceReset: raise({ type: 'controller.resetDone' }),
  },
});

const detect = (code: FaultCode, detail?: string) => ({ type: 'detect' as const, params: { code, ...(detail ? { detail } : {}) } });
const reject = (command: Rejection['command'], reason: string) => ({ type: 'reject' as const, params: { command, reason } });
const breakerEntry = (breaker: Breaker) => ({ type: 'emitBreaker' as const, params: { breaker } });

/** Fill supervision shared by armed.filling and probing.probeFill. */
function fillSupervision(id: string, doneTarget: string, probe: boolean) {
  return controllerSetup.createStateConfig({
    id,
    entry: 'startFill',
    after: {
      topUpTimeout: [
        {
          guard: and(['isTopUp', 'isTooManyFailedTopUps']),
          actions: ['countFailedTopUp', detect('iF0', 'top-up fill did not reach its level')],
        },
        {
          guard: 'isTopUp',
          target: doneTarget,
          actions: ['countFailedTopUp', 'emitFillDone', 'clearDemand'],
        },
      ],
      fillStatic: { guard: and([not('isTopUp'), not('hasRisen')]), actions: detect('i10', 'no level rise after the valve opened') },
      fillDynamic: { guard: not('isTopUp'), actions: detect('i11', 'fill level not reached in time') },
    },
    // A probe whose demand is withdrawn has proved nothing: it waits for the next one.
    always: probe
      ? [
          { guard: 'isFillSatisfied', target: doneTarget, actions: ['emitFillDone', 'clearDemand'] },
          { guard: not('hasFillDemand'), target: '#probeWaiting' },
        ]
      : [{ guard: not('hasFillDemand'), target: doneTarget }],
    on: {
      'sensor.level': {
        guard: 'reachesFillTarget',
        target: doneTarget,
        actions: ['emitFillDone', 'clearDemand', 'resetFailedTopUps'],
      },
      'sensor.flow': [
        { guard: 'isUnaccounted', actions: ['countInflow', detect('iE0', 'metered inflow far above the tub level rise')] },
        { actions: 'countInflow' },
      ],
    },
  });
}

function drainSupervision(id: string, doneTarget: string, probe: boolean) {
  return controllerSetup.createStateConfig({
    id,
    after: { drainTimeout: { actions: detect('i20', 'tub not empty after the drain time') } },
    // armed.idle never starts a drain of an empty tub; a probe may be asked to.
    always: probe
      ? [
          { guard: 'isDrainSatisfied', target: doneTarget, actions: ['emitDrainDone', 'clearDemand'] },
          { guard: not('hasDrainDemand'), target: '#probeWaiting' },
        ]
      : [{ guard: not('hasDrainDemand'), target: doneTarget }],
    on: {
      'sensor.level': { guard: 'reachesEmpty', target: doneTarget, actions: ['emitDrainDone', 'clearDemand'] },
    },
  });
}

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

    leak: {
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
    },

    level: {
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
    },

    inflow: {
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
    },

    link: {
      initial: 'ok',
      states: {
        ok: { on: { 'board.linkLost': { target: 'lost', actions: detect('iC0', 'board watchdog: no keepalive from the controller') } } },
        lost: { id: 'linkLost', on: { 'board.linkRestored': 'ok' } },
      },
    },

    valve: {
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
    },

    pump: {
      initial: 'off',
      states: {
        off: { always: { guard: 'wantsPumpOn', target: 'on' } },
        on: {
          entry: 'startPump',
          exit: 'stopPump',
          always: { guard: not('wantsPumpOn'), target: 'off' },
        },
      },
    },
  },
});

export type ControllerMachine = typeof controllerMachine;
