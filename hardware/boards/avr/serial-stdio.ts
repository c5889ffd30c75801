/**
 * The emulated Uno as a process on a byte stream: stdin is what the host sends to the USART,
 * stdout what the firmware transmits. Runs at wall-clock pace against a still plant (float
 * dry, tub at 2 L, no flow). Put it behind a pty and every serial tool, `aquastop run` included,
 * sees an Arduino:
 *
 *   socat PTY,link=/tmp/uno,raw,echo=0,wait-slave EXEC:"node --import tsx hardware/boards/avr/serial-stdio.ts"
 *
 * Options (environment): AQUASTOP_HEX (image, default the built firmware), AQUASTOP_EEPROM
 * (EEPROM file), AQUASTOP_FLOAT (dry|wet|open). Exits when stdin closes.
 */
import { wallClock } from '../../../src/clock/clock.js';
import type { Plant, PlantSignals } from '../../../src/board/plant.js';
import type { FloatReading } from '../../../src/machine/events.js';
import { buildFirmware } from '../../firmware/build.js';
import { FileEEPROMBackend } from './eeprom-file.js';
import { PlantLink } from './plant-link.js';
import { EmulatedUno, loadHexProgram } from './uno.js';

class StillPlant implements Plant {
  readonly pulsesPerLitre = 450;
  constructor(private readonly float: FloatReading) {}
  setValve(): void {}
  setDrainPump(): void {}
  step(): void {}
  signals(): PlantSignals {
    return { float: this.float, flowPulses: 0, tubLevelL: 2, hoseFuseBlown: false };
  }
}

async function main(): Promise<void> {
  const floatEnv = process.env.AQUASTOP_FLOAT ?? 'dry';
  if (floatEnv !== 'dry' && floatEnv !== 'wet' && floatEnv !== 'open') {
    process.stderr.write(`AQUASTOP_FLOAT must be dry, wet or open, not ${floatEnv}\n`);
    process.exit(2);
  }
  const hexPath = process.env.AQUASTOP_HEX ?? (await buildFirmware()).hexPath;
  const eeprom = process.env.AQUASTOP_EEPROM ? new FileEEPROMBackend(process.env.AQUASTOP_EEPROM) : undefined;
  const uno = new EmulatedUno({ program: loadHexProgram(hexPath), eeprom });
  const link = new PlantLink({ uno, plant: new StillPlant(floatEnv) });
  let out: number[] = [];
  uno.onSerialByte = (b) => out.push(b);
  process.stdin.on('data', (chunk: Buffer) => uno.sendSerial(chunk));
  process.stdin.on('end', () => process.exit(0));
  link.followClock(wallClock, 5);
  setInterval(() => {
    if (out.length === 0) return;
    process.stdout.write(Buffer.from(out));
    out = [];
  }, 2);
}

await main();
