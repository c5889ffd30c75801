/**
 * The controller's vocabulary for xstate's `setup()`: context, events, named delays (each
 * read from the validated configuration), guards and actions. The machine (machine.ts) and
 * its regions (supervision.ts, regions.ts) refer to these by name only.
 *
 * Pure: no I/O, no timers of its own. Waiting uses the named delays on the actor's clock.
 */
import { and, assign, emit, enqueueActions, not, or, raise, setup } from 'xstate';
import type { FaultCode } from './catalogue.js';
import type { ControllerConfig } from './config.js';
import type { Breaker, ControllerEmitted, ControllerEvent, ControllerInput, ExerciseResult, Rejection } from './events.js';
import { holds } from './facts.js';
import * as g from './guards.js';
import type { ControllerContext } from './guards.js';

export type FaultDetected = { type: 'fault.detected'; code: FaultCode; detail?: string };
type ResetDone = { type: 'controller.resetDone' };
/** One valve open has left the valve.windowMs window (i13 counting). */
type OpenExpired = { type: 'valve.openExpired' };
export type InternalEvent = ControllerEvent | FaultDetected | ResetDone | OpenExpired;

export interface MachineInput extends ControllerInput {
  readonly config?: ControllerConfig;
}

const RESTORED = 'restored after a restart: latched before the power was lost';

/**
 * A state the machine's structure makes impossible (a fault event without a fault). It is
 * never papered over with a made-up code: the actor fails, and the runtime's fail-safe closes
 * the valve and says why.
 */
export class ImpossibleStateError extends Error {
  readonly impossibleState = true;
  constructor(message: string) {
    super(`impossible controller state: ${message}`);
    this.name = 'ImpossibleStateError';
  }
}

/** What a guard used only on one event type reads of it. */
const level = (event: InternalEvent) => (event as Extract<ControllerEvent, { type: 'sensor.level' }>).reading;
const float = (event: InternalEvent) => (event as Extract<ControllerEvent, { type: 'sensor.float' }>).reading;
const litres = (event: InternalEvent) => (event as Extract<ControllerEvent, { type: 'sensor.flow' }>).litres;

function heldFault(context: ControllerContext, what: string): FaultCode {
  if (context.fault === null) throw new ImpossibleStateError(`${what} without a held fault`);
  return context.fault;
}

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
    levelSettle: ({ context }) => context.config.sensors.levelSettleMs,
    flowQuiet: ({ context }) => context.config.valveLeak.quietMs,
    exerciseDuration: ({ context }) => context.config.exercise.durationMs,
    /** After the close, long enough for iB0 to be raised if the flow does not stop. */
    exerciseVerify: ({ context }) => context.config.valveLeak.flowMs + context.config.valveLeak.quietMs,
    exerciseInterval: ({ context }) => context.config.exercise.intervalMs,
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
    isUnaccounted: ({ context, event }) => g.isUnaccounted(context, litres(event)),
    // Used only on `sensor.flow` transitions.
    isFlowing: ({ event }) => litres(event) > 0,
    isTooManyFailedTopUps: ({ context }) => context.failedTopUps + 1 >= context.config.fill.maxFailedTopUps,
    // Used only on `fault.detected` transitions.
    isServiceFault: ({ event }) => g.isServiceCode((event as FaultDetected).code),
    isManualFault: ({ event }) => g.isManualCode((event as FaultDetected).code),
    isLinkFault: ({ event }) => (event as FaultDetected).code === 'iC0',
    isMorePressingFault: ({ context, event }) => g.isMorePressing((event as FaultDetected).code, heldFault(context, 'a latched breaker')),
    isHeldFault: ({ context, event }) => (event as FaultDetected).code === context.fault,
    isHoldingLinkFault: ({ context }) => context.fault === 'iC0',
    isHoldingLeakFault: ({ context }) => context.fault === 'i30',
    // Used only on `sensor.level` transitions.
    isLevelOk: ({ event }) => level(event).status === 'ok',
    isLevelOpen: ({ event }) => level(event).status === 'open',
    isLevelImplausible: ({ event }) => level(event).status === 'implausible',
    isValveCycleSpent: ({ context }) => context.recentOpens >= context.config.valve.maxOpens,
    isValveOpen: holds('valveOpen'),
    isExerciseLevelLow: ({ context }) => context.levelL !== null && context.levelL <= context.config.exercise.maxStartLevelL,
    isExerciseCapReached: ({ context, event }) => g.isExerciseCapReached(context, event as ControllerEvent),
    // Used only on `sensor.float` transitions.
    isFloatWet: ({ event }) => float(event) === 'wet',
    isFloatDry: ({ event }) => float(event) === 'dry',
    isFloatOpen: ({ event }) => float(event) === 'open',
    /**
     * The one condition under which the valve may be open (facts.ts): the breaker asks for
     * water under supervision, the float reads dry, the level signal is good, the board hears
     * us, and water a person's command asked for (a probe, a proof test) waits for a pan dry
     * for leak.dryMs.
     */
    valveMayOpen: and([holds('valveDemand'), holds('floatDry'), holds('levelGood'), holds('linkGood'), or([not(holds('valveDemandNeedsPanDry')), holds('panDry')])]),
    /**
     * The pump runs for a supervised drain, and while the pan is wet or its float is lost (i30).
     * With i30 already held (restored at boot) a wet float needs no new debounce to pump.
     */
    wantsPumpOn: or([holds('drainDemand'), holds('panNeedsPumping'), and(['isHoldingLeakFault', holds('leak')])]),
  },
  actions: {
    setDemand: assign({
      // Used only on program.fill and program.drain.
      demand: ({ event }) => (event.type === 'program.fill' ? { kind: 'fill' as const, targetL: event.targetL, topUp: event.topUp === true } : { kind: 'drain' as const }),
    }),
    clearDemand: assign({ demand: null }),
    recordLevel: assign({
      levelL: ({ context, event }) => {
        const reading = level(event);
        return reading.status === 'ok' ? reading.litres : context.levelL;
      },
    }),
    startFill: assign({
      fillStartL: ({ context }) => context.levelL ?? 0,
      inflowL: 0,
    }),
    countInflow: assign({
      inflowL: ({ context, event }) => context.inflowL + litres(event),
    }),
    countValveOpen: assign({ recentOpens: ({ context }) => context.recentOpens + 1 }),
    /** The open just counted leaves the window valve.windowMs from now. */
    expireValveOpen: raise({ type: 'valve.openExpired' as const }, { delay: ({ context }) => context.config.valve.windowMs }),
    forgetValveOpen: assign({ recentOpens: ({ context }) => Math.max(0, context.recentOpens - 1) }),
    countFailedTopUp: assign({ failedTopUps: ({ context }) => context.failedTopUps + 1 }),
    resetFailedTopUps: assign({ failedTopUps: 0 }),
    /** Take the detected fault as the one holding the breaker. */
    holdFault: assign({
      fault: ({ event }) => (event as FaultDetected).code,
      faultDetail: ({ event }) => (event as FaultDetected).detail,
      tripCount: ({ context }) => context.tripCount + 1,
    }),
    restoreLatch: assign({
      // Used only when booting found a latch (hasLatch).
      fault: ({ context }) => context.bootLatch!.code ?? null,
      faultDetail: ({ context }) => context.bootLatch!.detail,
    }),
    holdMemoryFault: assign({ fault: 'i80' as FaultCode, faultDetail: 'persistent memory unreadable at boot' }),
    emitRaised: emit(({ event }) => {
      if (event.type !== 'fault.detected') throw new ImpossibleStateError(`a fault raised by ${event.type}`);
      return { type: 'fault.raised' as const, code: event.code, ...(event.detail ? { detail: event.detail } : {}) };
    }),
    emitRestoredRaised: emit(({ context }) => ({
      type: 'fault.raised' as const,
      code: heldFault(context, 'a latch restored at boot'),
      detail: RESTORED,
    })),
    emitMemoryFaultRaised: emit({ type: 'fault.raised', code: 'i80', detail: 'persistent memory unreadable at boot' }),
    /** The held fault is gone: announce it, forget it, and drop any persisted latch. */
    clearFault: emit(({ context }) => ({ type: 'fault.cleared' as const, code: heldFault(context, 'a fault cleared') })),
    /** A fault only recorded beside the held one (iC0 while latched) is gone. */
    emitCleared: emit((_, params: { code: FaultCode }) => ({ type: 'fault.cleared' as const, code: params.code })),
    forgetFault: assign({ fault: null, faultDetail: undefined }),
    emitUnlatched: emit({ type: 'latch.changed', latch: null }),
    emitLatch: emit(({ context }, params: { breaker: 'latched' | 'service' }) => ({
      type: 'latch.changed' as const,
      latch: {
        code: heldFault(context, `a ${params.breaker} breaker`),
        breaker: params.breaker,
        ...(context.faultDetail ? { detail: context.faultDetail } : {}),
      },
    })),
    emitBreaker: emit(({ context }, params: { breaker: Breaker }) => ({
      type: 'breaker.changed' as const,
      breaker: params.breaker,
      // null when armed: every way into armed forgets the fault first.
      code: context.fault,
    })),
    openValve: emit({ type: 'valve.changed', open: true }),
    closeValve: emit({ type: 'valve.changed', open: false }),
    startPump: emit({ type: 'pump.changed', on: true }),
    stopPump: emit({ type: 'pump.changed', on: false }),
    emitFillDone: emit(({ context }) => ({ type: 'fill.done' as const, levelL: context.levelL ?? 0 })),
    emitDrainDone: emit({ type: 'drain.done' }),
    accept: emit(({ event }) => ({ type: 'command.accepted' as const, command: event.type as ControllerEvent['type'] })),
    reject: emit((_, params: Rejection) => ({ type: 'command.rejected' as const, rejection: params })),
    /** A person's command that could let water in waits for a pan dry for leak.dryMs. */
    rejectUntilPanDry: emit(({ context, event }) => ({
      type: 'command.rejected' as const,
      rejection: {
        // Used only on user.reset, user.resume and user.exercise.
        command: event.type as Rejection['command'],
        reason: `the base pan must stay dry for ${Math.round(context.config.leak.dryMs / 1000)} s first`,
      },
    })),
    rejectExerciseInterval: emit(({ context }) => ({
      type: 'command.rejected' as const,
      rejection: {
        command: 'user.exercise' as const,
        reason: `a proof test already ran in the last ${Math.round(context.config.exercise.intervalMs / 60_000)} min (at most one per interval)`,
      },
    })),
    rejectExerciseLevel: emit(({ context }) => ({
      type: 'command.rejected' as const,
      rejection: {
        command: 'user.exercise' as const,
        reason: `the tub is not empty: the proof test needs the level at most ${context.config.exercise.maxStartLevelL} L`,
      },
    })),
    /** A fault during a proof test is its result. */
    failExercise: enqueueActions(({ context, event, check, enqueue }) => {
      if (!check(holds('exerciseRunning'))) return;
      enqueue.emit({
        type: 'exercise.done',
        result: 'failed',
        inflowL: Math.round(context.inflowL * 1000) / 1000,
        code: (event as FaultDetected).code,
      });
    }),
    detect: raise((_, params: { code: FaultCode; detail?: string }) => ({
      type: 'fault.detected' as const,
      code: params.code,
      ...(params.detail ? { detail: params.detail } : {}),
    })),
    announceReset: raise({ type: 'controller.resetDone' }),
    /** A proof test that passed or was stopped (a failed one is reported by failExercise, with its fault). */
    emitExercise: emit(({ context }, params: { result: Exclude<ExerciseResult, 'failed'> }) => ({
      type: 'exercise.done' as const,
      result: params.result,
      inflowL: Math.round(context.inflowL * 1000) / 1000,
    })),
  },
});

export const detect = (code: FaultCode, detail?: string) => ({ type: 'detect' as const, params: { code, ...(detail ? { detail } : {}) } });
export const reject = (command: Rejection['command'], reason: string) => ({ type: 'reject' as const, params: { command, reason } });
export const breakerEntry = (breaker: Breaker) => ({ type: 'emitBreaker' as const, params: { breaker } });
