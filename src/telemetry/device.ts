/**
 * Telemetry for one appliance: retained state, availability and fault memory, heartbeats, fault
 * events through the on-disk outbox, commands and injections, and Home Assistant discovery.
 *
 * Contract:
 * - `attach(runtime)` is a (re)start of the device: boot counts up, heartbeat `seq` starts
 *   again at 1, availability turns online, state and discovery are published.
 * - `detach()` (power cut) turns availability offline and stops heartbeats; commands are
 *   then answered "powered off", while injections still reach the simulated appliance (so the
 *   dashboard's power button can restore the power it cut).
 * - Heartbeats are sent every `heartbeatS` of clock time and never queued: missed ones are
 *   not replayed, the gap shows in `seq`.
 * - A runtime listener never throws (a throwing listener would fail the runtime safe).
 * - A retained `set` or `inject` message is answered `ok:false` and not run.
 * - State and heartbeats name the fault event behind the fault they show (`faultEvent`): with a
 *   fault, the id of the event that raised it; without, the id of the event that cleared the last
 *   one (absent before any fault of this boot). So a watcher that learns of a fault from the
 *   retained state, before or without its fault event, still knows which event it is.
 * - A retained message (availability, state, fault memory) the broker acknowledged late (link.ts
 *   `SLOW_ACK_MS`: it may not have kept it) is published again, as it is then, at the next
 *   heartbeat, and again while its acknowledgement keeps coming late. Only a late acknowledgement
 *   puts a message in doubt, so each is published again at most once per acknowledgement: they
 *   do not pile up behind a broker that stays slow. One line in the log for each such spell.
 */
import type { Clock } from '../clock/clock.js';
import type { CommandResult, DeviceStatus, FaultEvent, Runtime } from '../board/runtime-types.js';
import type { FaultCode } from '../machine/catalogue.js';
import { authoriseCommand, parseCommand, parseInject, type InjectName } from './commands.js';
import { SLOW_ACK_MS, type DeviceLink } from './link.js';
import { discoveryMessages } from './discovery.js';
import { DeviceOutbox, type WireFaultEvent } from './outbox.js';
import type { LoopLag } from './loop-lag.js';
import type { DurableFs } from '../board/durable-file.js';
import { topicFor } from '../protocol/topics.js';
import type { HeartbeatCadence } from './heartbeat-cadence.js';

/** Bits of `DeviceTelemetry.doubt`: the retained messages whose last publish the broker acknowledged late. */
const AVAILABILITY = 1;
const STATE = 2;
const MEMORY = 4;
const IN_DOUBT = AVAILABILITY | STATE | MEMORY;
/** The spell of late acknowledgements is in the log already. */
const SAID = 8;

const loopLagFields = (lag: LoopLag | null) => (lag?.p99Ms != null && lag.maxMs != null ? { loopLagMs: lag.p99Ms, loopLagMaxMs: lag.maxMs } : {});

/** What a process's appliances share (one object for all: a copy per appliance held about 200 bytes, in every appliance of a fleet). */
export interface DeviceTelemetryOptions {
  readonly clock: Clock;
  readonly base: string;
  readonly haPrefix: string | null;
  readonly heartbeatS: number;
  /** Every appliance's heartbeat on one timer, at `heartbeatS`. */
  readonly cadence: HeartbeatCadence;
  readonly dataDir: string;
  readonly allowRemoteReset: boolean;
  readonly iso: (clockMs: number) => string;
  readonly log: (line: string, fields?: { readonly device?: string }) => void;
  /** Tracks a publish so `flush()` can wait for it. */
  readonly track: (p: Promise<unknown>) => void;
  /** The wall clock (ms) acknowledgements are timed by (link.ts `SLOW_ACK_MS`). */
  readonly ackClock: () => number;
  /** The process's event-loop lag for the heartbeat (loop-lag.ts), null until known. */
  readonly loopLag?: () => LoopLag | null;
  /** How the outbox file is written (outbox.ts); default durably. */
  readonly outboxFs?: DurableFs;
}

export interface Attachment {
  readonly runtime: Runtime;
  readonly fw: string;
  readonly inject?: (fault: InjectName) => CommandResult;
}

export class DeviceTelemetry {
  private readonly outbox: DeviceOutbox;
  private current: Attachment | null = null;
  /** The appliance's injector: it outlives a power cut of the controller (the sim's power button restores it). */
  private injector: Attachment['inject'] | null = null;
  private unlisten: (() => void) | null = null;
  /** The token of the live heartbeat schedule (heartbeat-cadence.ts); 0: none. */
  private beatToken = 0;
  private seq = 0;
  private started = false;
  /** Fault events of this boot behind the current faults: each raised and not yet cleared code's raise id (one per fault code at most). */
  /** Made at the first fault (most appliances of a fleet never raise one; an empty Map is about 150 bytes). */
  private raisedIds: Map<FaultCode, string> | null = null;
  /** The id of the last clearing event of this boot, named while no fault is shown. */
  private clearedId: string | null = null;
  /** `faultEvent` of the last state published: a fault event that changes it publishes the state again. */
  private publishedFaultEvent: string | undefined = undefined;
  /** Retained messages in doubt and whether the spell is said (the bits above). */
  private doubt = 0;

  constructor(
    private readonly o: DeviceTelemetryOptions,
    readonly id: string,
    private readonly connection: DeviceLink,
  ) {
    this.outbox = new DeviceOutbox({
      dataDir: o.dataDir,
      deviceId: id,
      ...(o.outboxFs ? { fs: o.outboxFs } : {}),
      onError(m) {
        o.log(`${id}: ${m}`, { device: id });
      },
    });
  }

  /** Topics this device listens to. */
  get filters(): string[] {
    return [topicFor('set', { base: this.o.base, id: this.id }), topicFor('inject', { base: this.o.base, id: this.id })];
  }

  attach(device: Attachment): void {
    this.detachListeners();
    this.outbox.begin();
    if (!this.started) {
      this.started = true;
      // Events an earlier run could not deliver go first, in order (later boots' are in flight already).
      for (const event of this.outbox.pending()) this.sendFault(event);
    }
    this.current = device;
    this.injector = device.inject ?? null;
    this.seq = 0;
    // A new boot: the controller raises again what is still wrong, under new ids.
    this.raisedIds = null;
    this.clearedId = null;
    this.unlisten = device.runtime.onAny((event) => {
      try {
        if (event.type === 'status') this.publishState(event.status);
        else if (event.type === 'fault') {
          this.onFault(event.fault);
          // The runtime has remembered a raised fault before telling its listeners.
          if (event.fault.event === 'raised') this.publishFaultMemory();
        } else if (event.type === 'exercise') {
          const { type: _type, ts, ...result } = event;
          this.o.track(this.connection.publish('exercise', { id: this.id }, { ...result, ts: this.o.iso(ts) }));
        }
      } catch (err) {
        this.o.log(`${this.id}: telemetry error: ${err instanceof Error ? err.message : String(err)}`, { device: this.id });
      }
    });
    this.publishAll();
    // The first heartbeat at once, so a watcher knows the device is alive without waiting an interval.
    this.heartbeat();
    this.scheduleHeartbeat();
  }

  /** The device went away (power cut, or a clean stop): availability offline, no more heartbeats. */
  detach(): void {
    this.detachListeners();
    this.current = null;
    this.publishAvailability();
  }

  /** After a (re)connect: everything retained may have been lost with the broker. */
  publishAll(): void {
    this.publishAvailability();
    if (!this.current) return;
    this.publishState(this.current.runtime.status());
    this.publishFaultMemory();
    this.publishDiscovery();
  }

  /**
   * One heartbeat now, outside the cadence (which goes on as it was): for a device on its own
   * connection that has just (re)connected, so a watcher knows it is alive at once rather than at
   * its next heartbeat (the one sent at attach was dropped while the connection was not up yet).
   */
  heartbeatNow(): void {
    if (this.current) this.heartbeat();
  }

  /** The availability names this process's bridge: when its last will fires, this device is offline too. */
  private publishAvailability(): void {
    this.timed(AVAILABILITY, this.connection.publish('availability', { id: this.id }, { state: this.current ? 'online' : 'offline', bridge: this.connection.bridgeId }));
  }

  /** The controller's fault memory (the last faults it keeps across power cycles), retained. */
  private publishFaultMemory(): void {
    if (!this.current) return;
    const faults = this.current.runtime.faultMemory().map((f) => ({ code: f.code, ts: this.o.iso(f.at), ...(f.detail !== undefined ? { detail: f.detail } : {}) }));
    this.timed(MEMORY, this.connection.publish('faultMemory', { id: this.id }, { faults, ts: this.o.iso(this.o.clock.now()) }));
  }

  /** A retained publish, tracked and timed: acknowledged late, it is in doubt (see the header). */
  private timed(bit: number, sent: Promise<boolean>): void {
    const at = this.o.ackClock();
    this.o.track(sent.then((ok) => this.acknowledged(bit, ok, at)));
  }

  private acknowledged(bit: number, ok: boolean, at: number): void {
    if (!ok || this.o.ackClock() - at < SLOW_ACK_MS) return;
    if ((this.doubt & SAID) === 0)
      this.o.log(
        `${this.id}: the broker took over ${SLOW_ACK_MS / 1000} s to acknowledge a retained message: publishing it again at the next heartbeat (the broker may not have kept it)`,
        {
          device: this.id,
        },
      );
    this.doubt |= bit | SAID;
  }

  /** At a heartbeat: what is in doubt, again. */
  private publishDoubted(): void {
    this.connection.reaffirm();
    const doubt = this.doubt;
    // A heartbeat with nothing in doubt ends the spell: the next one is said again.
    this.doubt = (doubt & IN_DOUBT) === 0 ? 0 : SAID;
    if (doubt & AVAILABILITY) this.publishAvailability();
    if (doubt & STATE) this.publishState(this.current!.runtime.status());
    if (doubt & MEMORY) this.publishFaultMemory();
  }

  publishDiscovery(): void {
    if (!this.current || this.o.haPrefix === null) return;
    const messages = discoveryMessages({ id: this.id, fw: this.current.fw, board: this.current.runtime.boardKind }, this.o.base, this.connection.bridgeId);
    for (const m of messages) {
      this.o.track(this.connection.publish('discovery', { prefix: this.o.haPrefix, component: m.component, id: this.id, object: m.object }, m.payload));
    }
  }

  /**
   * A message on one of `filters`. A retained one is refused: the broker kept it from some
   * earlier time and would hand it over again on every (re)subscription (a retained power cut
   * or reset would repeat after each reconnect and each restart).
   */
  onMessage(tail: 'set' | 'inject', payload: Buffer, retained = false): void {
    const result = retained ? this.refuseRetained(tail, payload) : tail === 'set' ? this.runCommand(payload) : this.runInject(payload);
    if (result === null) return;
    this.o.track(this.connection.publish('setResult', { id: this.id }, result));
  }

  private runCommand(payload: Buffer): { ok: boolean; error?: string; command?: string; id?: string } {
    const parsed = parseCommand(payload);
    const echo = { ...(parsed.key !== undefined ? { command: parsed.key } : {}), ...(parsed.id !== undefined ? { id: parsed.id } : {}) };
    if (!parsed.ok) return { ok: false, error: parsed.error, ...echo };
    if (!this.current) return { ok: false, error: `${this.id} is powered off`, ...echo };
    const allowed = authoriseCommand(parsed.command, this.o.allowRemoteReset);
    const result = allowed.ok ? this.current.runtime.command(parsed.command) : allowed;
    if (!result.ok) this.o.log(`${this.id}: refused ${parsed.key} command: ${result.error}`, { device: this.id });
    return result.ok ? { ok: true, ...echo } : { ok: false, error: result.error, ...echo };
  }

  private refuseRetained(tail: 'set' | 'inject', payload: Buffer): { ok: false; error: string; command?: string; id?: string } {
    const parsed = tail === 'set' ? parseCommand(payload) : null;
    const echo =
      tail === 'inject' ? { command: 'inject' } : { ...(parsed?.key !== undefined ? { command: parsed.key } : {}), ...(parsed?.id !== undefined ? { id: parsed.id } : {}) };
    this.o.log(`${this.id}: ignored a retained ${tail} message (publish commands without the retain flag; clear it with an empty retained message)`, { device: this.id });
    return { ok: false, error: 'ignored a retained message: the broker kept it from earlier; publish commands without the retain flag', ...echo };
  }

  /** Injections answer only when refused: the tile shows what an accepted one does. */
  private runInject(payload: Buffer): { ok: false; error: string; command: string } | null {
    const parsed = parseInject(payload);
    if (!parsed.ok) return { ok: false, error: parsed.error, command: 'inject' };
    const inject = this.injector;
    if (!inject) return { ok: false, error: `${this.id} is not a simulated appliance: nothing to inject`, command: 'inject' };
    const result = inject(parsed.fault);
    return result.ok ? null : { ok: false, error: result.error, command: 'inject' };
  }

  private publishState(status: DeviceStatus): void {
    if (!this.current) return;
    const faultEvent = this.faultEventOf(status);
    this.publishedFaultEvent = faultEvent.faultEvent;
    this.timed(
      STATE,
      this.connection.publish(
        'state',
        { id: this.id },
        {
          ...status,
          // Millilitres are plenty; the raw reading carries sensor noise to the last bit.
          tubLevelL: status.tubLevelL === null ? null : Math.round(status.tubLevelL * 1000) / 1000,
          ...faultEvent,
          fw: this.current.fw,
          board: this.current.runtime.boardKind,
          last_seen: this.o.iso(this.o.clock.now()),
        },
      ),
    );
  }

  /** The `faultEvent` field for a status (see the header), or nothing when no event of this boot is behind it. */
  private faultEventOf(status: DeviceStatus): { faultEvent?: string } {
    const id = status.fault === null ? this.clearedId : (this.raisedIds?.get(status.fault) ?? null);
    return id === null ? {} : { faultEvent: id };
  }

  private onFault(fault: FaultEvent): void {
    const { ts: _ts, id: _id, ...rest } = fault;
    const event: WireFaultEvent = { ...rest, id: this.outbox.nextId(), ts: this.o.iso(this.o.clock.now()) };
    if (event.event === 'raised') (this.raisedIds ??= new Map()).set(event.code, event.id);
    else {
      this.raisedIds?.delete(event.code);
      this.clearedId = event.id;
    }
    this.outbox.add(event);
    this.sendFault(event);
    // The runtime tells the status a fault changes right after the fault event, in the same turn,
    // and that state names the event. Should it have come first, the state is published again.
    queueMicrotask(() => {
      try {
        const status = this.current?.runtime.status();
        if (status && this.faultEventOf(status).faultEvent !== this.publishedFaultEvent) this.publishState(status);
      } catch (err) {
        this.o.log(`${this.id}: telemetry error: ${err instanceof Error ? err.message : String(err)}`, { device: this.id });
      }
    });
  }

  private sendFault(event: WireFaultEvent): void {
    const sent = this.connection.publish('fault', { id: this.id }, event, 'queue').then((ok) => {
      if (ok) this.outbox.ack(event.id);
    });
    this.o.track(sent);
  }

  private scheduleHeartbeat(): void {
    this.beatToken = this.o.cadence.schedule(this);
  }

  /** The cadence's call, one interval after the last schedule: a beat of an older schedule is dropped. */
  beat(token: number): void {
    if (token !== this.beatToken) return;
    this.beatToken = 0;
    if (!this.current) return;
    try {
      this.heartbeat();
      this.publishDoubted();
    } catch (err) {
      this.o.log(`${this.id}: telemetry error: ${err instanceof Error ? err.message : String(err)}`, { device: this.id });
    }
    this.scheduleHeartbeat();
  }

  private heartbeat(): void {
    const status = this.current!.runtime.status();
    this.seq++;
    this.connection.send(
      'heartbeat',
      { id: this.id },
      {
        seq: this.seq,
        boot: this.outbox.boot,
        uptimeS: status.uptimeS,
        intervalS: this.o.heartbeatS,
        state: status.state,
        fault: status.fault,
        ...this.faultEventOf(status),
        ts: this.o.iso(this.o.clock.now()),
        ...loopLagFields(this.o.loopLag?.() ?? null),
      },
    );
  }

  private detachListeners(): void {
    this.unlisten?.();
    this.unlisten = null;
    this.beatToken = 0;
  }
}
