/**
 * The emulated Arduino: our real firmware (.hex) running in avr8js, its pins wired to a
 * Plant, talked to through johnny-five over a custom serialport binding.
 *
 * - The image defaults to the one `aquastop firmware build` produces (built on first use, cached).
 * - `eepromPath` keeps the EEPROM in a file, so the firmware's latch survives a restart.
 * - Until `open()` has finished the handshake, the emulator runs on its own (as fast as it
 *   can, yielding to the event loop every couple of emulated ms), because the caller may be
 *   awaiting `open()` with its clock stopped. From then on it follows `clock`: 16,000 cycles
 *   per clock millisecond, stepped every `stepMs`.
 * - The johnny-five driver keeps its timers on the emulated CPU's own time (CycleClock).
 * - It stages the link faults of src/board/link-faults.ts at the wire: `linkLost` drops every
 *   byte both ways (the port stays open); `usbUnplug` makes the port vanish under the driver
 *   (its reads fail as a disconnect, the stream closes, reopening fails until the fault ends).
 *   The chip keeps running through both, as a board powered by the appliance does.
 * - It stages the periodic self-test failures of src/board/self-tests.ts on the chip itself
 *   (./avr/self-test-faults.ts: a trampled stack canary, a wrong ADC reference, a slow watchdog
 *   oscillator), so the firmware finds them, latches and reports them as it would on a real
 *   board. `stack` needs the ELF beside the .hex (the canary's address). Before `open()` it stages
 *   the start-up ones for the chip's boot (a flipped flash bit, a stuck RAM bit, a watchdog that
 *   cannot reset), which the firmware finds as it boots.
 */
import { SerialPortStream } from '@serialport/stream';
import type { Board, BoardInputs, BoardReport } from '../../src/board/board.js';
import type { Clock } from '../../src/clock/clock.js';
import { UsageError } from '../../src/errors/usage-error.js';
import type { LinkFault, LinkFaultStage } from '../../src/board/link-faults.js';
import type { Plant } from '../../src/board/plant.js';
import { buildFirmware, isFirmwareBuildError } from '../firmware/build.js';
import { pins } from '../pins.js';
import type { SelfTestName, SelfTestStage } from '../../src/board/self-tests.js';
import { FileEEPROMBackend } from './avr/eeprom-file.js';
import { PlantLink } from './avr/plant-link.js';
import { bootStageableSelfTests, breakForBoot, breakSelfTest, firmwareLayout, stageableSelfTests } from './avr/self-test-faults.js';
import { CYCLES_PER_MS, EmulatedUno, loadHexProgram } from './avr/uno.js';
import { JohnnyFiveBoard, type JohnnyFiveBoardOptions } from './johnny-five-board.js';
import { EndpointBinding, type ByteEndpoint } from './serial-binding.js';

export interface EmulatedBoardOptions {
  /** The appliance whose sensors drive the firmware's input pins and whose actuators its outputs drive. */
  readonly plant: Plant;
  /** Emulated time follows this clock: the CPU runs 16,000 cycles per clock millisecond. */
  readonly clock: Clock;
  /** Firmware image; default: the one `aquastop firmware build` produces. */
  readonly hexPath?: string;
  /** EEPROM contents kept in this file so the firmware's latch survives a restart. */
  readonly eepromPath?: string;
}

export interface EmulatedRigOptions extends EmulatedBoardOptions {
  /** Clock ms between emulation steps; default 10. */
  readonly stepMs?: number;
  /** Passed to the johnny-five driver (timeouts in emulated ms). */
  readonly driver?: Pick<JohnnyFiveBoardOptions, 'safetyTimeoutMs' | 'readyTimeoutMs' | 'keepaliveMs' | 'hostSilenceMs'>;
}

/** What tests and benchmarks reach under the Board: the chip, the wire and the driver. */
export interface EmulatedRig {
  readonly board: EmulatedBoard;
  readonly uno: EmulatedUno;
  readonly link: PlantLink;
  readonly driver: JohnnyFiveBoard;
  /** Emulated ms at which the host last wrote a byte to the board. */
  lastHostByteAtMs(): number;
  /** Puts raw bytes on the wire towards the host, as line noise would. */
  injectToHost(bytes: ArrayLike<number>): void;
  /** Cuts (true) or mends (false) the wire from the host to the board: while cut, host bytes are lost. */
  cutHostToBoard(cut: boolean): void;
  /** Cuts (true) or mends (false) the wire from the board to the host: while cut, the firmware's bytes are lost. */
  cutBoardToHost(cut: boolean): void;
  /** Pulls (true) or plugs back (false) the USB cable: the port vanishes under the driver. */
  unplug(unplugged: boolean): void;
}

let cachedHex: Promise<string> | null = null;

/**
 * The emulated board's firmware cannot be built (a missing compiler): the user's to fix, one
 * line, exit 2; still a board error to `aquastop run`, which names the port with it.
 */
export class FirmwareMissingError extends UsageError {
  readonly boardError = true;
}

/** The default image: built once per process (the build itself is cached on disk by input hash). */
export function defaultFirmwareHex(): Promise<string> {
  cachedHex ??= buildFirmware().then(
    (r) => r.hexPath,
    (err: unknown) => {
      cachedHex = null;
      // A missing compiler is the user's to fix: one line, exit 2 (the CLI prints usage errors so).
      if (isFirmwareBuildError(err)) throw new FirmwareMissingError(`emulated board: ${err.message}`);
      throw err;
    },
  );
  return cachedHex;
}

/** The wire's switches, as the rig holds them. */
interface Wire {
  cutHostToBoard(cut: boolean): void;
  cutBoardToHost(cut: boolean): void;
  unplug(unplugged: boolean): void;
}

export class EmulatedBoard implements Board, LinkFaultStage, SelfTestStage {
  readonly kind = 'emulated' as const;
  readonly pulsesPerLitre: number;
  readonly linkFaults: readonly LinkFault[] = ['linkLost', 'usbUnplug'];
  private opened = false;

  constructor(
    private readonly driver: JohnnyFiveBoard,
    private readonly link: PlantLink,
    private readonly clock: Clock,
    private readonly stepMs: number,
    private readonly wire: Wire,
    private readonly selfTests: SelfTestStage,
  ) {
    this.pulsesPerLitre = driver.pulsesPerLitre;
  }

  get stageableSelfTests(): readonly SelfTestName[] {
    return this.selfTests.stageableSelfTests;
  }

  failSelfTest(test: SelfTestName): void {
    this.selfTests.failSelfTest(test);
  }

  get bootStageableSelfTests(): readonly SelfTestName[] {
    return this.selfTests.bootStageableSelfTests;
  }

  failSelfTestAtBoot(test: SelfTestName): void {
    if (this.opened) throw new Error(`the emulated board has booted: "${test}" can fail only at its next boot`);
    this.selfTests.failSelfTestAtBoot(test);
  }

  setLinkFault(fault: LinkFault, active: boolean): void {
    if (fault === 'linkLost') {
      this.wire.cutHostToBoard(active);
      this.wire.cutBoardToHost(active);
    } else if (fault === 'usbUnplug') {
      this.wire.unplug(active);
    } else {
      throw new Error(`the emulated board cannot stage "${String(fault)}"`);
    }
  }

  async open(): Promise<void> {
    if (this.opened) return;
    this.opened = true;
    let done = false;
    const opening = this.driver.open().finally(() => {
      done = true;
    });
    // Run the chip on its own until the handshake is over (the caller's clock may be stopped).
    const slice = 2 * CYCLES_PER_MS;
    while (!done) {
      this.link.runFor(slice);
      await new Promise<void>((r) => setImmediate(r));
    }
    await opening;
    this.link.followClock(this.clock, this.stepMs);
  }

  read(): BoardInputs {
    return this.driver.read();
  }
  setValve(open: boolean): void {
    this.driver.setValve(open);
  }
  setDrainPump(on: boolean): void {
    this.driver.setDrainPump(on);
  }
  keepalive(): void {
    this.driver.keepalive();
  }
  resetLatch(): void {
    this.driver.resetLatch();
  }
  onReport(listener: (report: BoardReport) => void): () => void {
    return this.driver.onReport(listener);
  }

  async close(): Promise<void> {
    const closing = this.driver.close();
    // Let the release of the outputs reach the chip before the emulation stops.
    let settled = false;
    void closing.finally(() => {
      settled = true;
    });
    for (let i = 0; i < 50 && !settled; i++) {
      this.link.runFor(CYCLES_PER_MS);
      await new Promise<void>((r) => setImmediate(r));
    }
    this.link.runFor(5 * CYCLES_PER_MS);
    this.link.stop();
    await closing;
  }
}

export async function startEmulatedRig(options: EmulatedRigOptions): Promise<EmulatedRig> {
  const hexPath = options.hexPath ?? (await defaultFirmwareHex());
  const eeprom = options.eepromPath ? new FileEEPROMBackend(options.eepromPath) : undefined;
  const uno = new EmulatedUno({ program: loadHexProgram(hexPath), eeprom });
  const link = new PlantLink({ uno, plant: options.plant });
  const listeners = new Set<(bytes: Uint8Array) => void>();
  const goneListeners = new Set<() => void>();
  let lastHostCycle = 0;
  let hostWireCut = false;
  let boardWireCut = false;
  let unplugged = false;
  uno.onSerialByte = (b) => {
    if (boardWireCut || unplugged) return;
    const bytes = Uint8Array.of(b);
    for (const l of listeners) l(bytes);
  };
  const endpoint: ByteEndpoint = {
    write: (bytes) => {
      if (hostWireCut || unplugged) return;
      lastHostCycle = uno.cycles;
      uno.sendSerial(bytes);
    },
    onData: (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    reset: () => uno.reset('external'),
    present: () => !unplugged,
    onGone: (l) => {
      goneListeners.add(l);
      return () => goneListeners.delete(l);
    },
  };
  const wire: Wire = {
    cutHostToBoard: (cut) => {
      hostWireCut = cut;
    },
    cutBoardToHost: (cut) => {
      boardWireCut = cut;
    },
    unplug: (on) => {
      if (on === unplugged) return;
      unplugged = on;
      if (on) for (const l of [...goneListeners]) l();
    },
  };
  const binding = new EndpointBinding(new Map([['emulated', endpoint]]));
  const port = new SerialPortStream({ binding, path: 'emulated', baudRate: pins.baud });
  const reopen = () =>
    new Promise<SerialPortStream>((resolve, reject) => {
      const again = new SerialPortStream({ binding, path: 'emulated', baudRate: pins.baud, autoOpen: false });
      again.open((err) => (err ? reject(err) : resolve(again)));
    });
  const driver = new JohnnyFiveBoard({ port, reopen, kind: 'emulated', clock: link.cycleClock, ...options.driver });
  const layout = firmwareLayout(hexPath, uno.program);
  const selfTests: SelfTestStage = {
    stageableSelfTests: stageableSelfTests(layout),
    failSelfTest: (test) => breakSelfTest(uno, test, layout),
    bootStageableSelfTests: bootStageableSelfTests(layout),
    failSelfTestAtBoot: (test) => breakForBoot(uno, test, layout),
  };
  const board = new EmulatedBoard(driver, link, options.clock, options.stepMs ?? 10, wire, selfTests);
  return {
    board,
    uno,
    link,
    driver,
    lastHostByteAtMs: () => lastHostCycle / CYCLES_PER_MS,
    injectToHost: (bytes) => {
      const copy = Uint8Array.from(bytes);
      for (const l of listeners) l(copy);
    },
    ...wire,
  };
}

export async function createEmulatedBoard(options: EmulatedBoardOptions): Promise<Board> {
  return (await startEmulatedRig(options)).board;
}
