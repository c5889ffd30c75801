/**
 * What the chaos bench does and when, drawn from one seed before anything runs (so a run can
 * be repeated and its plan printed): the broker killed, paths cut at the proxy, device
 * processes killed (some while cut off, the case the outbox exists for), login floods; and for
 * each device a scenario whose timeline raises faults on its own, the USB link cuts
 * (`linkLost`, `usbUnplug`) among them.
 */
import { Rng } from '../../../sim/rng.js';

export interface DeviceSpec {
  readonly id: string;
  readonly board: 'simulated' | 'emulated';
  /** The shipped example account it logs in with. */
  readonly account: string;
}

export type ChaosEvent =
  | { readonly kind: 'brokerKill'; readonly at: number; readonly downMs: number }
  | { readonly kind: 'netCut'; readonly at: number; readonly device: string; readonly mode: 'reset' | 'blackhole'; readonly downMs: number }
  | { readonly kind: 'deviceKill'; readonly at: number; readonly device: string; readonly downMs: number }
  /** Cut the path, SIGKILL the process while it is cut off, restore, restart. */
  | { readonly kind: 'cutThenKill'; readonly at: number; readonly device: string; readonly killAfterMs: number; readonly downMs: number }
  | { readonly kind: 'loginFlood'; readonly at: number; readonly bad: number; readonly good: number }
  /**
   * The device dies and comes back at once while the broker still holds its old connection
   * (half-open: stranded at the proxy); the broker ends that connection only when its keepalive
   * runs out (1.5 x 60 s with mqtt.js's default) and then sends its last will.
   */
  | { readonly kind: 'rebootHalfOpen'; readonly at: number; readonly device: string; readonly downMs: number };

export interface ScenarioStep {
  readonly at: string;
  readonly [k: string]: unknown;
}

export interface Plan {
  readonly seed: number;
  readonly events: ChaosEvent[];
  /** Per device: its scenario's timeline (virtual time). */
  readonly timelines: Record<string, ScenarioStep[]>;
}

export interface PlanOptions {
  readonly seed: number;
  readonly devices: readonly DeviceSpec[];
  /** Wall ms from the start within which chaos events begin; each ends before `chaosEndMs`. */
  readonly chaosStartMs: number;
  readonly chaosEndMs: number;
  /** Virtual ms a scenario timeline covers. */
  readonly virtualMs: number;
}

/** A half-open connection lasts mqtt.js's keepalive (60 s) x 1.5 at the broker, plus a margin to see what follows. */
export const HALF_OPEN_SPAN_MS = 100_000;

function between(rng: Rng, lo: number, hi: number): number {
  return Math.round(lo + rng.next() * (hi - lo));
}

function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[Math.floor(rng.next() * items.length)]!;
}

/**
 * Faults raised by the device itself, every 25 to 60 virtual seconds, none overlapping, each
 * cleared again so the next can be raised: the USB link cut both ways (`linkLost`, iC0) or
 * unplugged (`usbUnplug`, iC0), a leak into the base pan (i30, mopped, then reset once the pan
 * has been dry 60 s), a closed tap (i10 on the next fill, then resume).
 */
export function deviceTimeline(rng: Rng, virtualMs: number): ScenarioStep[] {
  const steps: ScenarioStep[] = [];
  const s = (ms: number) => `${Math.round(ms)}ms`;
  let at = between(rng, 10_000, 30_000);
  while (at < virtualMs) {
    const kind = pick(rng, ['linkLost', 'linkLost', 'usbUnplug', 'usbUnplug', 'leak', 'tapClosed'] as const);
    let span: number;
    if (kind === 'linkLost' || kind === 'usbUnplug') {
      span = between(rng, 4_000, 20_000);
      steps.push({ at: s(at), inject: kind }, { at: s(at + span), clear: kind });
    } else if (kind === 'leak') {
      const dryAt = at + between(rng, 15_000, 30_000);
      span = dryAt - at + 75_000;
      steps.push({ at: s(at), inject: 'leak', ml: 120 }, { at: s(dryAt), dryPan: true }, { at: s(at + span), press: 'reset' });
    } else {
      span = 150_000;
      steps.push({ at: s(at), inject: 'tapClosed' }, { at: s(at + span), clear: 'tapClosed' }, { at: s(at + span + 10_000), press: 'resume' });
      span += 10_000;
    }
    at += span + between(rng, 25_000, 60_000);
  }
  return steps;
}

export function makePlan(o: PlanOptions): Plan {
  const rng = new Rng(o.seed);
  const timelines: Record<string, ScenarioStep[]> = {};
  for (const d of o.devices) timelines[d.id] = deviceTimeline(rng, o.virtualMs);

  // Each target (the broker, each device) has one thing done to it at a time.
  const busy = new Map<string, [number, number][]>();
  const isBusy = (target: string, from: number, to: number) => (busy.get(target) ?? []).some(([a, b]) => from < b && to > a);
  const occupy = (target: string, from: number, to: number) => busy.set(target, [...(busy.get(target) ?? []), [from, to]]);
  const events: ChaosEvent[] = [];
  let at = o.chaosStartMs;
  // One reboot behind a half-open connection, early enough for its keepalive to run out within
  // the run; the broker is not killed meanwhile (that would end the connection without its will).
  const halfOpenLatest = o.chaosEndMs - HALF_OPEN_SPAN_MS;
  if (halfOpenLatest >= o.chaosStartMs) {
    const device = pick(rng, o.devices).id;
    const when = between(rng, Math.min(halfOpenLatest, o.chaosStartMs + 20_000), halfOpenLatest);
    events.push({ kind: 'rebootHalfOpen', at: when, device, downMs: between(rng, 500, 2_000) });
    occupy(device, when, when + 5_000);
    occupy('broker', when, when + HALF_OPEN_SPAN_MS);
  }
  // At least one broker kill, wherever the broker is free.
  for (let attempt = 0; attempt < 50; attempt++) {
    const downMs = between(rng, 1_000, 6_000);
    const when = between(rng, o.chaosStartMs, o.chaosEndMs - downMs);
    if (isBusy('broker', when, when + downMs + 2_000)) continue;
    events.push({ kind: 'brokerKill', at: when, downMs });
    occupy('broker', when, when + downMs + 2_000);
    break;
  }
  while (true) {
    at += between(rng, 3_000, 9_000);
    const kind = pick(rng, ['brokerKill', 'netCut', 'netCut', 'deviceKill', 'cutThenKill', 'loginFlood'] as const);
    const device = pick(rng, o.devices).id;
    const target = kind === 'brokerKill' ? 'broker' : kind === 'loginFlood' ? 'flood' : device;
    if (isBusy(target, at, at + 1)) continue;
    let event: ChaosEvent;
    let span: number;
    if (kind === 'brokerKill') {
      event = { kind, at, downMs: between(rng, 1_000, 6_000) };
      span = event.downMs;
    } else if (kind === 'netCut') {
      event = { kind, at, device, mode: rng.next() < 0.5 ? 'reset' : 'blackhole', downMs: between(rng, 2_000, 25_000) };
      span = event.downMs;
    } else if (kind === 'deviceKill') {
      event = { kind, at, device, downMs: between(rng, 500, 5_000) };
      span = event.downMs;
    } else if (kind === 'cutThenKill') {
      event = { kind, at, device, killAfterMs: between(rng, 5_000, 15_000), downMs: between(rng, 500, 3_000) };
      span = event.killAfterMs + event.downMs;
    } else {
      event = { kind, at, bad: 300, good: 300 };
      span = 10_000;
    }
    if (at + span > o.chaosEndMs) break;
    if (isBusy(target, at, at + span + 2_000)) continue;
    occupy(target, at, at + span + 2_000);
    events.push(event);
  }
  events.sort((a, b) => a.at - b.at);
  return { seed: o.seed, events, timelines };
}
