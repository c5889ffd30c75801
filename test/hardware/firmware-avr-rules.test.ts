/**
 * The firmware's safety rules that must hold whatever the host does (PROTOCOL.md section 3), each
 * at pin level on the bare emulated chip, each able to fail: the mutation run
 * (`npm run mutate:firmware`) breaks them on purpose and expects this file to notice.
 * Most use a build with a 1 s float debounce (same sources, pins.json otherwise) to save time.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { pins } from '../../hardware/pins.js';
import { hasTools } from '../helpers/tools.js';
import { CYCLES_PER_MS, EmulatedUno, latchRecord, mulberry32, VALVE } from './firmware-avr-harness.js';
import { firmwareUnderTest } from './firmware-under-test.js';

const DEBOUNCE_MS = 1000;
const TRIP_WET = 1;
const TRIP_WIRE = 2;
const TRIP_RECORD_UNREADABLE = 3;
const TRIP_HOSE = 10;
const HOSE_DEBOUNCE_MS = pins.safety.hoseFuseDebounceMs;
const RESULT = { ok: 0, wet: 1, wire: 2, hose: 5 } as const;

describe.skipIf(!hasTools('avr-gcc', 'avr-g++', 'avr-objcopy', 'avr-ar'))('firmware safety rules (pin level)', () => {
  let program: Uint16Array;
  beforeAll(async () => {
    ({ program } = await firmwareUnderTest({
      name: 'short-debounce',
      pins: { ...pins, safety: { ...pins.safety, wetDebounceMs: DEBOUNCE_MS } },
    }));
  });

  /** Started, armed, valve requested open and open. */
  function openedBoard(eeprom?: readonly number[]): EmulatedUno {
    const uno = new EmulatedUno(program, { modelSleep: true });
    if (eeprom) uno.eeprom.memory.set(eeprom, 0x10);
    uno.start();
    uno.arm();
    uno.send(0xf4, VALVE, 0x01);
    uno.requestValve(true);
    uno.run(20);
    return uno;
  }

  const keepAsking = (uno: EmulatedUno) => ({ ms: 300, action: () => (uno.keepalive(), uno.requestValve(true)) });

  /** A new chip with this one's EEPROM, started, armed and asked for water. */
  function powerCycle(uno: EmulatedUno): EmulatedUno {
    const next = new EmulatedUno(program, { modelSleep: true });
    next.eeprom.memory.set(uno.eeprom.memory);
    next.start(0x01);
    next.arm();
    next.send(0xf4, VALVE, 0x01);
    next.requestValve(true);
    next.run(300, keepAsking(next));
    return next;
  }

  /** The last RESULT frame for CLEAR_LATCH sent from now on. */
  function clearLatchResult(uno: EmulatedUno): number {
    uno.clearLatch();
    return uno.expectFrame((f) => f[0] === 0x05 && f[1] === 0x03)[2]!;
  }

  describe('a broken float wire latches like a wet float', () => {
    it('latches with the wire-fault reason after the debounce time of an open float, and keeps it across a power cycle', () => {
      const uno = openedBoard();
      expect(uno.valveOpen).toBe(true);
      uno.setFloat('open');
      uno.run(DEBOUNCE_MS - 100, keepAsking(uno));
      expect(uno.valveOpen).toBe(false); // the wire fault closes it at once...
      expect(uno.lastStatus).toMatchObject({ float: 2, latched: false }); // ...but latches only after the debounce
      uno.run(200, keepAsking(uno));
      expect(uno.lastStatus).toMatchObject({ latched: true, reason: TRIP_WIRE });
      expect(uno.latchRecord).toEqual(latchRecord(1, TRIP_WIRE));

      uno.setFloat('dry'); // the wire is mended: the latch holds all the same
      const again = powerCycle(uno);
      expect(again.lastStatus).toMatchObject({ latched: true, reason: TRIP_WIRE, resetCause: 0x01 });
      expect(again.valveEdges.some((e) => e.high)).toBe(false);
    });

    it('latches with the wire-fault reason when the float flickers between wet and open, whatever the last sample, and keeps it across a power cycle', () => {
      // Wet and open in turns of 30, 50 and 70 ms: the sample that completes the 1 s debounce
      // reads open in the first run and wet in the other two.
      for (const turnMs of [30, 50, 70]) {
        const uno = openedBoard();
        let wet = true;
        const flicker = {
          ms: turnMs,
          action: () => {
            wet = !wet;
            uno.setFloat(wet ? 'wet' : 'open');
            uno.keepalive();
          },
        };
        uno.setFloat('wet');
        uno.run(DEBOUNCE_MS - 100, flicker);
        expect(uno.lastStatus.latched, `${turnMs} ms turns`).toBe(false); // no open stretch reaches 100 ms: the valve stays open until the latch
        uno.run(200, flicker);
        expect(uno.valveOpen, `${turnMs} ms turns`).toBe(false);
        expect(uno.lastStatus, `${turnMs} ms turns`).toMatchObject({ latched: true, reason: TRIP_WIRE });
        expect(uno.latchRecord, `${turnMs} ms turns`).toEqual(latchRecord(1, TRIP_WIRE));
        uno.setFloat('dry');
        expect(powerCycle(uno).lastStatus, `${turnMs} ms turns`).toMatchObject({ latched: true, reason: TRIP_WIRE });
      }
    });

    it('keeps the wet reason for a float that only ever read wet', () => {
      const uno = openedBoard();
      uno.setFloat('wet');
      uno.run(DEBOUNCE_MS + 100, keepAsking(uno));
      expect(uno.lastStatus).toMatchObject({ latched: true, reason: TRIP_WET });
      expect(uno.latchRecord).toEqual(latchRecord(1, TRIP_WET));
    });

    it('treats a float reading in the forbidden band between wet and dry as a wire fault', () => {
      const { wetMax, dryMin } = pins.float;
      const bandVolts = (((wetMax + dryMin) / 2 + 0.5) * 5) / 1024; // mid-band, in ADC counts
      const uno = openedBoard();
      uno.setFloatVolts(bandVolts);
      uno.run(150, keepAsking(uno));
      expect(uno.valveOpen).toBe(false);
      expect(uno.lastStatus.float).toBe(2);
      uno.run(DEBOUNCE_MS, keepAsking(uno));
      expect(uno.lastStatus).toMatchObject({ latched: true, reason: TRIP_WIRE });
      // And both band edges read as what pins.json says (the thresholds are inclusive).
      for (const [counts, float] of [
        [wetMax, 1],
        [wetMax + 1, 2],
        [dryMin - 1, 2],
        [dryMin, 0],
      ] as const) {
        uno.setFloatVolts(((counts + 0.5) * 5) / 1024);
        uno.run(30);
        uno.send(0xf0, 0x04, 0xf7);
        uno.expectFrame((f) => f[0] === 0x04);
        expect(uno.lastStatus.float, `ADC ${counts}`).toBe(float);
      }
    });
  });

  describe('a blown hose fuse latches the valve closed', () => {
    it('latches with the hose reason once the contact has read open for its debounce (the pull-up makes an open contact or a broken wire read blown), and keeps it when the contact closes again and across a power cycle', () => {
      const uno = openedBoard();
      expect(uno.valveOpen).toBe(true);
      expect(uno.lastStatus.hoseBlown).toBe(false);
      uno.setHoseContact(false);
      uno.run(HOSE_DEBOUNCE_MS - 30, keepAsking(uno));
      expect(uno.valveOpen).toBe(true); // not yet: a contact may bounce
      uno.run(60, keepAsking(uno));
      expect(uno.valveOpen).toBe(false);
      expect(uno.lastStatus).toMatchObject({ latched: true, reason: TRIP_HOSE, hoseBlown: true, valve: false });
      expect(uno.latchRecord).toEqual(latchRecord(1, TRIP_HOSE));

      uno.setHoseContact(true); // a contact that closes again does not bring the hose's valve back
      uno.run(300, keepAsking(uno));
      expect(uno.lastStatus).toMatchObject({ latched: true, reason: TRIP_HOSE, hoseBlown: false });
      expect(uno.valveOpen).toBe(false);
      const again = powerCycle(uno);
      expect(again.lastStatus).toMatchObject({ latched: true, reason: TRIP_HOSE, resetCause: 0x01 });
      expect(again.valveEdges.some((e) => e.high)).toBe(false);
    });

    it('does not latch for an open contact shorter than its debounce (a bounce), and reports it blown only once it is debounced', () => {
      const uno = openedBoard();
      for (let i = 0; i < 5; i++) {
        uno.setHoseContact(false);
        uno.run(HOSE_DEBOUNCE_MS / 2, keepAsking(uno));
        uno.setHoseContact(true);
        uno.run(20, keepAsking(uno));
      }
      uno.run(300, keepAsking(uno));
      expect(uno.valveOpen).toBe(true);
      expect(uno.lastStatus).toMatchObject({ latched: false, hoseBlown: false });
      expect(uno.statuses.some((st) => st.hoseBlown)).toBe(false);
    });

    it('refuses CLEAR_LATCH with 05 while the contact reads open, for any latch, and accepts it once the hose is replaced and the float dry', () => {
      const wet = openedBoard();
      wet.setFloat('wet');
      wet.run(DEBOUNCE_MS + 100, keepAsking(wet));
      expect(wet.lastStatus).toMatchObject({ latched: true, reason: TRIP_WET });
      wet.setFloat('dry');
      wet.setHoseContact(false);
      wet.run(HOSE_DEBOUNCE_MS + 50, keepAsking(wet));
      expect(wet.lastStatus).toMatchObject({ latched: true, reason: TRIP_WET, hoseBlown: true });
      expect(clearLatchResult(wet)).toBe(RESULT.hose);
      expect(wet.latchRecord).toEqual(latchRecord(1, TRIP_WET));

      const hose = openedBoard();
      hose.setHoseContact(false);
      hose.run(HOSE_DEBOUNCE_MS + 50, keepAsking(hose));
      expect(clearLatchResult(hose)).toBe(RESULT.hose);
      hose.run(30, keepAsking(hose));
      expect(hose.latchRecord).toEqual(latchRecord(1, TRIP_HOSE));
      expect(hose.valveOpen).toBe(false);
      hose.setHoseContact(true); // the new hose
      hose.run(30, keepAsking(hose));
      expect(clearLatchResult(hose)).toBe(RESULT.ok);
      expect(hose.latchRecord).toEqual(latchRecord(0, 0));
      expect(hose.valveOpen).toBe(false); // clearing never opens the valve by itself
    });
  });

  describe('a latch record that cannot be read comes up latched', () => {
    const check = (m: number, l: number, r: number) => m ^ l ^ r ^ 0x5a;
    const unreadable: Array<[string, number[]]> = [
      // Writes in flight (the magic byte is zeroed first and restored last): latching...
      ['latching, magic cleared', [0x00, 0x00, 0x00, check(0xa7, 0, 0)]],
      ['latching, latched byte written', [0x00, 0x01, 0x00, check(0xa7, 0, 0)]],
      ['latching, reason written', [0x00, 0x01, 0x01, check(0xa7, 0, 0)]],
      ['latching, check written', [0x00, 0x01, 0x01, check(0xa7, 1, 1)]],
      // ...and clearing.
      ['clearing, latched byte cleared', [0x00, 0x00, 0x01, check(0xa7, 1, 1)]],
      ['clearing, check written', [0x00, 0x00, 0x00, check(0xa7, 0, 0)]],
      // Corrupted cells.
      ['wrong check byte', [0xa7, 0x00, 0x00, check(0xa7, 0, 0) ^ 0x01]],
      ['latched byte neither 0 nor 1', [0xa7, 0x02, 0x00, check(0xa7, 2, 0)]],
      ['reason beyond the last one', [0xa7, 0x01, 0x0b, check(0xa7, 1, 0x0b)]],
      ['partly erased', [0xff, 0xff, 0xff, 0x00]],
      ['wrong magic', [0xa6, 0x00, 0x00, check(0xa6, 0, 0)]],
    ];

    it.each(unreadable)('%s: latched with the record-unreadable reason, and the valve stays closed', (_name, record) => {
      const uno = openedBoard(record);
      uno.run(300, keepAsking(uno));
      expect(uno.lastStatus).toMatchObject({ latched: true, reason: TRIP_RECORD_UNREADABLE });
      expect(uno.valveEdges.some((e) => e.high)).toBe(false);
    });

    it('a power cut after any EEPROM write of a latch, or of a clear not yet complete, boots latched', () => {
      const uno = openedBoard();
      const snapshots: number[][] = [];
      const write = uno.eeprom.writeMemory.bind(uno.eeprom);
      uno.eeprom.writeMemory = (addr: number, value: number) => {
        write(addr, value);
        if (addr >= 0x10 && addr < 0x14) snapshots.push(uno.latchRecord);
      };
      uno.setFloat('open'); // the wire-fault reason: its check byte differs from the unlatched one
      uno.run(DEBOUNCE_MS + 100, keepAsking(uno));
      expect(uno.lastStatus).toMatchObject({ latched: true, reason: TRIP_WIRE });
      const latching = snapshots.splice(0);
      uno.setFloat('dry');
      uno.run(30, keepAsking(uno));
      expect(clearLatchResult(uno)).toBe(RESULT.ok);
      const clearing = snapshots.splice(0);
      expect(latching.length).toBeGreaterThanOrEqual(3);
      expect(clearing.length).toBeGreaterThanOrEqual(3);
      expect(latching.at(-1)).toEqual(latchRecord(1, TRIP_WIRE));
      expect(clearing.at(-1)).toEqual(latchRecord(0, 0));
      const cutAfter = [...latching.map((r) => ['latching', r] as const), ...clearing.slice(0, -1).map((r) => ['clearing', r] as const)];
      for (const [what, record] of cutAfter) {
        const board = new EmulatedUno(program, { modelSleep: true });
        board.eeprom.memory.set(record, 0x10);
        board.start();
        expect(board.lastStatus.latched, `${what}: power cut at ${record.map((b) => b.toString(16)).join(' ')}`).toBe(true);
      }
    });

    it('reads an erased record as fresh and a valid unlatched one as unlatched (the cases above are not vacuous)', () => {
      for (const record of [[0xff, 0xff, 0xff, 0xff], latchRecord(0, 0)]) {
        const uno = openedBoard(record);
        expect(uno.lastStatus.latched, record.join(',')).toBe(false);
        expect(uno.valveOpen).toBe(true);
        expect(uno.latchRecord).toEqual(latchRecord(0, 0));
      }
    });
  });

  describe('only KEEPALIVE and ARM feed the link watchdog', () => {
    const LINK_MS = pins.safety.linkTimeoutMs;
    /** Everything a confused or half-dead host might still send, none of it a keepalive. */
    function chatter(uno: EmulatedUno, random: () => number): Array<() => void> {
      return [
        () => uno.send(0xf0, 0x04, 0xf7), // STATUS query
        () => uno.send(0xf0, 0x06, 0xf7), // SAFETY_VERSION
        () => uno.send(0xf9), // REPORT_VERSION
        () => uno.send(0xf0, 0x79, 0xf7), // REPORT_FIRMWARE
        () => uno.send(0xf0, 0x69, 0xf7), // ANALOG_MAPPING_QUERY
        () => uno.requestValve(true), // SET_DIGITAL_PIN_VALUE
        () => uno.send(0x90, 0x00, 0x01), // DIGITAL_MESSAGE port 0, valve bit
        () => uno.send(0xf0, 0x03, 0x00, 0x00, 0xf7), // CLEAR_LATCH, wrong key
        () => uno.send(0xf0, 0x01, 0xf9), // a KEEPALIVE cut short by another command
        () => uno.send(0xf0, 0x11, 0xf7, 0xf0, 0x41, 0xf7, 0xf0, 0x21, 0xf7), // ids that share KEEPALIVE's low bits
        () => uno.send(0x01, 0xf7, 0x01), // KEEPALIVE's bytes without its start
        () => uno.send(0xf0, 0x0f, 0x00, 0x00, 0xf7), // TEST_HANG with a wrong key
        () => uno.send(0xf0, 0x7a, 0x13, 0x00, 0xf7), // SAMPLING_INTERVAL
        () => uno.send(0xd0, 0x01, 0xc1, 0x01), // reporting on
        () => {
          for (let i = 0; i < 12; i++) {
            const b = Math.floor(random() * 256);
            uno.send(b === 0xf0 || b === 0x02 ? 0x55 : b); // garbage that cannot form a KEEPALIVE or an ARM
          }
        },
      ];
    }

    it('closes the valve on time while the host sends everything but KEEPALIVE', () => {
      const uno = openedBoard();
      expect(uno.valveOpen).toBe(true);
      uno.keepalive();
      uno.run(1);
      const silentFrom = uno.cycles;
      const frames = chatter(uno, mulberry32(7));
      let i = 0;
      uno.run(LINK_MS + 300, { ms: 40, action: () => frames[i++ % frames.length]!() });
      const closed = uno.valveEdges.find((e) => !e.high && e.cycle > silentFrom);
      expect(closed, 'the valve closed').toBeDefined();
      const afterMs = (closed!.cycle - silentFrom) / CYCLES_PER_MS;
      expect(afterMs).toBeGreaterThan(LINK_MS - 50);
      expect(afterMs).toBeLessThanOrEqual(LINK_MS + 50);
      uno.send(0xf0, 0x04, 0xf7);
      uno.expectFrame((f) => f[0] === 0x04);
      expect(uno.lastStatus).toMatchObject({ linkLost: true, armed: false });
    });

    it('after a link loss: no valve edge from any request or keepalive until the host arms again, and the old request is dropped', () => {
      const uno = openedBoard();
      uno.run(LINK_MS + 100);
      expect(uno.valveOpen).toBe(false);
      // The STATUS sent with the link loss shows the host's request dropped, not merely gated.
      expect(uno.lastStatus).toMatchObject({ linkLost: true, armed: false, valveRequested: false });
      const edgesBefore = uno.valveEdges.length;
      const frames = chatter(uno, mulberry32(8));
      let i = 0;
      // Keepalives resume, requests pile up: the board stays disarmed.
      uno.run(1000, { ms: 50, action: () => (uno.keepalive(), uno.send(0xf4, VALVE, 1), uno.requestValve(true), frames[i++ % frames.length]!()) });
      expect(uno.valveEdges.length).toBe(edgesBefore);
      expect(uno.lastStatus).toMatchObject({ armed: false, linkLost: true });
      uno.arm(); // arming drops the requests made while disarmed
      uno.run(50, { ms: 10, action: () => uno.keepalive() });
      expect(uno.valveEdges.length).toBe(edgesBefore);
      expect(uno.lastStatus).toMatchObject({ armed: true, linkLost: false });
      uno.requestValve(true);
      uno.run(20);
      expect(uno.valveOpen).toBe(true);
    });

    it('ARM feeds the link watchdog like KEEPALIVE does', () => {
      const uno = openedBoard();
      uno.run(LINK_MS * 2, { ms: 500, action: () => uno.arm() });
      expect(uno.valveOpen).toBe(true);
      expect(uno.lastStatus.linkLost).toBe(false);
    });
  });

  describe('CLEAR_LATCH', () => {
    function latchedBoard(): EmulatedUno {
      const uno = openedBoard();
      uno.setFloat('wet');
      uno.run(DEBOUNCE_MS + 100, keepAsking(uno));
      expect(uno.lastStatus).toMatchObject({ latched: true, reason: TRIP_WET });
      return uno;
    }

    it('is refused while the float wire is broken, shorted or in the forbidden band, or the float wet, and the latch stays in EEPROM', () => {
      const uno = latchedBoard();
      const edgesBefore = uno.valveEdges.length;
      const cases: Array<[string, () => void, number]> = [
        ['broken wire (5 V)', () => uno.setFloat('open'), RESULT.wire],
        ['shorted wire (0 V)', () => uno.setFloatVolts(0), RESULT.wire],
        ['forbidden band', () => uno.setFloatVolts((((pins.float.wetMax + pins.float.dryMin) / 2 + 0.5) * 5) / 1024), RESULT.wire],
        ['wet', () => uno.setFloat('wet'), RESULT.wet],
      ];
      for (const [name, apply, code] of cases) {
        apply();
        uno.run(30, keepAsking(uno));
        expect(clearLatchResult(uno), name).toBe(code);
        uno.run(30, keepAsking(uno));
        expect(uno.lastStatus.latched, name).toBe(true);
        expect(uno.latchRecord, name).toEqual(latchRecord(1, TRIP_WET));
        expect(uno.valveEdges.length, name).toBe(edgesBefore);
      }
      // Judged on a fresh sample: the float goes bad a moment before the command arrives.
      for (let phase = 0; phase < 10; phase++) {
        uno.setFloat('dry');
        uno.run(30 + phase);
        uno.setFloat('open');
        expect(clearLatchResult(uno), `fresh sample, phase ${phase}`).toBe(RESULT.wire);
        expect(uno.latchRecord).toEqual(latchRecord(1, TRIP_WET));
      }
      // And accepted once the float is dry and the wire whole.
      uno.setFloat('dry');
      uno.run(30, keepAsking(uno));
      expect(clearLatchResult(uno)).toBe(RESULT.ok);
      expect(uno.latchRecord).toEqual(latchRecord(0, 0));
    });
  });

  describe('the watchdog across a watchdog reset', () => {
    it('comes up once after a hang and does not loop: the early watchdog disable runs before anything slow', () => {
      const uno = openedBoard();
      expect(uno.resetsSinceStart).toBe(0);
      uno.send(0xf0, 0x0f, 0x48, 0x47, 0xf7); // TEST_HANG
      uno.run(pins.safety.watchdogMs + 100);
      expect(uno.resetsSinceStart).toBe(1);
      // The chip keeps WDE forced on (16 ms) until WDRF is cleared: a firmware that does not
      // clear both early resets again and again here.
      uno.run(1500, { ms: 300, action: () => uno.keepalive() });
      expect(uno.resetsSinceStart).toBe(1);
      expect(uno.lastStatus).toMatchObject({ resetCause: 0x08, armed: false, latched: false });
      expect(uno.valveOpen).toBe(false);
    });

    it('resets within watchdogMs of a hang', () => {
      const uno = openedBoard();
      uno.send(0xf0, 0x0f, 0x48, 0x47, 0xf7);
      uno.run(1); // on the wire and parsed: hung from here
      const hungAt = uno.cycles;
      uno.run(pins.safety.watchdogMs + 50);
      expect(uno.resetsSinceStart).toBe(1);
      const afterMs = (uno.resetCycles.at(-1)! - hungAt) / CYCLES_PER_MS;
      expect(afterMs).toBeLessThanOrEqual(pins.safety.watchdogMs);
      expect(afterMs).toBeGreaterThan(pins.safety.watchdogMs / 4);
    });
  });
});
