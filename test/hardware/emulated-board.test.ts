/**
 * Our firmware in the emulator behind the johnny-five driver: the host side of issue #4.
 * Time is the VirtualClock's (the emulated CPU follows it), so the 10 s debounce and the 2 s
 * link timeout cost emulation work, not waiting.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pins } from '../../hardware/pins.js';
import { CYCLES_PER_MS } from '../../hardware/boards/avr/uno.js';
import { defaultFirmwareHex } from '../../hardware/boards/emulated-board.js';
import { hasTools } from '../helpers/tools.js';
import { firmwareUnderTest } from './firmware-under-test.js';
import { openRig, type TestRig } from './rig.js';

const VALVE = pins.pins.valve.pin;
const PUMP = pins.pins.drainPump.pin;
const T = 60_000;

function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomBytes(n: number, seed: number): number[] {
  const rnd = mulberry32(seed);
  return Array.from({ length: n }, () => Math.floor(rnd() * 256));
}

describe.skipIf(!hasTools('avr-gcc', 'avr-g++', 'avr-objcopy'))('emulated board with our firmware', () => {
  let rig: TestRig | null = null;
  beforeAll(async () => {
    await defaultFirmwareHex();
  }, T);
  afterEach(async () => {
    await rig?.board.close();
    rig = null;
  });

  it(
    'completes the johnny-five handshake and finds the safety extensions',
    async () => {
      rig = await openRig();
      expect(rig.driver.firmwareName).toBe('AquastopFirmata');
      expect(rig.driver.protection).toBe('firmware');
      expect(rig.driver.safetyVersion).toMatchObject({ major: 1, wetDebounceMs: pins.safety.wetDebounceMs, linkTimeoutMs: pins.safety.linkTimeoutMs });
      expect(rig.reports.filter((r) => r.type === 'warning' || r.type === 'error')).toEqual([]);
      expect(rig.driver.lastStatus?.armed).toBe(true);
    },
    T,
  );

  it(
    'drives the valve and pump pins as commanded',
    async () => {
      rig = await openRig();
      expect(rig.driver.valveRelayType).toBe('NC'); // a normally closed valve: relay open() = coil on = valve open
      expect(rig.uno.outputHigh(VALVE)).toBe(false);
      rig.board.setValve(true);
      await rig.advance(200);
      expect(rig.uno.outputHigh(VALVE)).toBe(true);
      expect(rig.uno.outputHigh(PUMP)).toBe(false);
      rig.board.setDrainPump(true);
      rig.board.setValve(false);
      await rig.advance(200);
      expect(rig.uno.outputHigh(VALVE)).toBe(false);
      expect(rig.uno.outputHigh(PUMP)).toBe(true);
      expect(rig.plant.pump).toBe(true);
    },
    T,
  );

  it(
    'closes the valve within 2 s of host silence, reports link lost, and recovers when the host returns',
    async () => {
      rig = await openRig();
      rig.board.setValve(true);
      await rig.advance(300);
      expect(rig.plant.valve).toBe(true);
      rig.hostAlive = false;
      const r = rig;
      await r.until(() => !r.uno.outputHigh(VALVE), 5_000, 'valve closed after host silence');
      const silentMs = r.uno.cycles / CYCLES_PER_MS - r.lastHostByteAtMs();
      expect(silentMs).toBeLessThanOrEqual(pins.safety.linkTimeoutMs + 50);
      expect(silentMs).toBeGreaterThanOrEqual(pins.safety.linkTimeoutMs - 50);
      await r.until(() => r.reports.some((x) => x.type === 'linkLost'), 1_000, 'linkLost report');
      r.hostAlive = true;
      await r.until(() => r.reports.some((x) => x.type === 'linkRestored'), 2_000, 'linkRestored report');
      await r.until(() => r.uno.outputHigh(VALVE), 1_000, 'valve re-opened after re-arm');
    },
    T,
  );

  it(
    'closes the valve when the float wire breaks, long before the leak debounce',
    async () => {
      rig = await openRig();
      rig.board.setValve(true);
      await rig.advance(300);
      rig.plant.float = 'open';
      const r = rig;
      const ms = await r.until(() => !r.uno.outputHigh(VALVE), 2_000, 'valve closed on a broken float wire');
      expect(ms).toBeLessThan(pins.safety.wetDebounceMs / 10);
      await r.advance(300);
      expect(r.board.read().float).toBe('open');
      expect(r.plant.valve).toBe(false);
    },
    T,
  );

  it(
    'reads a blown hose fuse through its pin: the board latches the valve closed and the driver reports hoseFuseBlown, also after the contact closes again',
    async () => {
      rig = await openRig();
      rig.board.setValve(true);
      await rig.advance(300);
      expect(rig.plant.valve).toBe(true);
      expect(rig.board.read().hoseFuseBlown).toBe(false);
      rig.plant.hoseFuseBlown = true;
      const r = rig;
      const ms = await r.until(() => r.board.read().hoseFuseBlown === true, 1_000, 'hoseFuseBlown read');
      expect(ms).toBeLessThan(pins.safety.hoseFuseDebounceMs + 100);
      expect(r.plant.valve).toBe(false);
      expect(r.driver.lastStatus).toMatchObject({ latched: true, tripReason: 'hose safety valve blown' });
      r.plant.hoseFuseBlown = false; // a contact that closes again: the latch still says blown
      r.board.setValve(true);
      await r.advance(500);
      expect(r.board.read().hoseFuseBlown).toBe(true);
      expect(r.plant.valve).toBe(false);
    },
    T,
  );

  it(
    'recovers from a hung firmware: the watchdog resets the chip, the driver warns and re-arms',
    async () => {
      // TEST_HANG is compiled only into test images.
      rig = await openRig({ hexPath: (await firmwareUnderTest()).hexPath });
      rig.board.setValve(true);
      await rig.advance(300);
      expect(rig.plant.valve).toBe(true);
      rig.uno.sendSerial([0xf0, 0x0f, 0x48, 0x47, 0xf7]); // TEST_HANG "HG"
      const r = rig;
      // Counted from now: every power-on already had one (the firmware's watchdog self-test).
      const watchdogResets = () => r.uno.resets.filter((c) => c === 'watchdog').length;
      const before = watchdogResets();
      await r.until(() => watchdogResets() > before, 2_000, 'watchdog reset');
      expect(r.uno.outputHigh(VALVE)).toBe(false);
      await r.until(() => r.reports.some((x) => x.type === 'warning' && /watchdog/.test(x.message)), 2_000, 'restart warning');
      await r.until(() => r.uno.outputHigh(VALVE), 2_000, 'valve re-opened after re-arm');
      expect(r.driver.lastStatus?.resetCause).toBe(0x08);
    },
    T,
  );

  it(
    'survives garbage from the board: random bytes, truncated and oversized sysex; reports it and keeps reading',
    async () => {
      rig = await openRig();
      const before = rig.driver.lastStatus!.seq;
      rig.injectToHost(randomBytes(500, 7));
      rig.injectToHost([0xf0, 0x04, 0x01, 0x02]); // truncated STATUS
      rig.injectToHost([0xf7]);
      rig.injectToHost([0xf0, 0x04, ...Array<number>(3000).fill(0x11), 0xf7]); // oversized STATUS
      rig.injectToHost([0xf0, 0x04, 0x7f, 0x05, 0xf7]); // short STATUS with a bad float code
      await rig.advance(1_000);
      expect(rig.driver.garbageFrames).toBeGreaterThan(0);
      expect(rig.reports.some((r) => r.type === 'warning' && /malformed/.test(r.message))).toBe(true);
      expect(rig.driver.lastStatus!.seq).not.toBe(before);
      expect(rig.board.read().float).toBe('dry');
      rig.board.setValve(true);
      await rig.advance(300);
      expect(rig.plant.valve).toBe(true);
    },
    T,
  );
});

describe.skipIf(!hasTools('avr-gcc', 'avr-g++', 'avr-objcopy'))('emulated board: the float interlock and its latch', () => {
  // One 10 s debounce costs real emulation work: the steps below share one tripped board.
  let rig: TestRig;
  beforeAll(async () => {
    rig = await openRig();
  }, T);
  afterAll(async () => {
    await rig?.board.close();
  });

  it(
    'trips the valve locally on a wet float even while the host keeps asking for water',
    async () => {
      rig.board.setValve(true);
      await rig.advance(300);
      expect(rig.plant.valve).toBe(true);
      rig.plant.float = 'wet';
      const wetAt = rig.clock.now();
      // The host insists: valve open, every tick, and keepalives keep the link up.
      while (rig.uno.outputHigh(VALVE)) {
        if (rig.clock.now() - wetAt > pins.safety.wetDebounceMs + 1_000) throw new Error('the valve stayed open past the debounce');
        rig.board.setValve(true);
        await rig.advance(100);
      }
      const tripMs = rig.clock.now() - wetAt;
      expect(tripMs).toBeGreaterThanOrEqual(pins.safety.wetDebounceMs - 100);
      for (let i = 0; i < 10; i++) {
        rig.board.setValve(true);
        await rig.advance(100);
        expect(rig.uno.outputHigh(VALVE)).toBe(false);
      }
      expect(rig.plant.valve).toBe(false);
      expect(rig.plant.pump).toBe(true);
      expect(rig.reports).toContainEqual({ type: 'localTrip', reason: 'float wet' });
      expect(rig.driver.lastStatus).toMatchObject({ latched: true, pumpForced: true, tripReason: 'float wet' });
    },
    T,
  );

  it(
    'keeps the valve closed through garbage sent to the board while latched',
    async () => {
      rig.board.setValve(true);
      const frames = [
        ...randomBytes(400, 42),
        0xf0,
        0x03,
        0x4c, // truncated CLEAR_LATCH
        0xf0,
        0x03,
        ...Array<number>(200).fill(0x4c),
        0xf7, // oversized CLEAR_LATCH
        0xf5,
        VALVE,
        1,
        0x90,
        0x7f,
        0x01,
      ];
      rig.uno.sendSerial(frames);
      let opened = false;
      for (let i = 0; i < 20; i++) {
        await rig.advance(50, 50);
        if (rig.uno.outputHigh(VALVE)) opened = true;
      }
      expect(opened).toBe(false);
      expect(rig.driver.lastStatus?.latched).toBe(true);
      // The firmware still answers after the noise.
      const seq = rig.driver.lastStatus!.seq;
      await rig.advance(500);
      expect(rig.driver.lastStatus!.seq).not.toBe(seq);
    },
    T,
  );

  it(
    'refuses to clear the latch while the float is wet, and says so',
    async () => {
      expect(rig.plant.float).toBe('wet');
      rig.board.resetLatch();
      await rig.advance(300);
      expect(rig.driver.lastStatus?.latched).toBe(true);
      expect(rig.reports.some((r) => r.type === 'warning' && /kept its latch: refused: float wet/.test(r.message))).toBe(true);
    },
    T,
  );

  it(
    'keeps the latch across an emulated reset and a restart from the EEPROM file',
    async () => {
      rig.plant.float = 'dry';
      await rig.advance(300);
      rig.uno.reset('external');
      await rig.advance(1_000);
      expect(rig.driver.lastStatus).toMatchObject({ latched: true, resetCause: 0x02 });
      rig.board.setValve(true);
      await rig.advance(300);
      expect(rig.uno.outputHigh(VALVE)).toBe(false);
      await rig.board.close();

      const again = await openRig({ eepromPath: rig.eepromPath });
      try {
        expect(again.driver.lastStatus?.latched).toBe(true);
        expect(again.reports.some((r) => r.type === 'localTrip' && /EEPROM/.test(r.reason))).toBe(true);
        again.board.setValve(true);
        await again.advance(500);
        expect(again.plant.valve).toBe(false);
        // A person clears the latch (float dry): then the host may open the valve again.
        again.board.resetLatch();
        await again.advance(300);
        expect(again.driver.lastStatus?.latched).toBe(false);
        again.board.setValve(true);
        await again.advance(300);
        expect(again.plant.valve).toBe(true);
      } finally {
        await again.board.close();
      }
    },
    T,
  );
});
