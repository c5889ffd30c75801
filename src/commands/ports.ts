/**
 * `aquastop ports`: lists serial ports and marks the ones that look like an Arduino (by USB
 * vendor id: Arduino, clones' CH340, FTDI, Silicon Labs CP210x). When the system cannot list
 * ports (serialport needs udevadm on Linux), it says what is missing in one line.
 */
import type { Command } from 'commander';
import { UsageError } from './errors.js';

export interface ListedPort {
  readonly path: string;
  readonly manufacturer?: string | undefined;
  readonly vendorId?: string | undefined;
  readonly productId?: string | undefined;
  readonly serialNumber?: string | undefined;
}

/** USB vendor ids of boards and USB-serial chips found on Unos and their clones. */
export const ARDUINO_VENDORS: Readonly<Record<string, string>> = {
  '2341': 'Arduino',
  '2a03': 'Arduino (arduino.org)',
  '1a86': 'CH340 (Uno clone)',
  '0403': 'FTDI',
  '10c4': 'Silicon Labs CP210x',
  '1b4f': 'SparkFun',
  '239a': 'Adafruit',
};

export function arduinoGuess(port: ListedPort): string | null {
  const vid = port.vendorId?.toLowerCase().replace(/^0x/, '');
  if (vid && ARDUINO_VENDORS[vid]) return ARDUINO_VENDORS[vid];
  if (/arduino/i.test(port.manufacturer ?? '')) return 'Arduino';
  return null;
}

export function formatPorts(ports: readonly ListedPort[]): string {
  if (ports.length === 0) return 'no serial ports found (is the board plugged in?)\n';
  const rows = ports.map((p) => {
    const guess = arduinoGuess(p);
    const ids = p.vendorId ? `${p.vendorId}:${p.productId ?? '????'}` : '-';
    return `${guess ? '*' : ' '} ${p.path.padEnd(22)} ${ids.padEnd(10)} ${(p.manufacturer ?? '').padEnd(24)} ${guess ? `likely Arduino (${guess})` : ''}`.trimEnd();
  });
  return `${rows.join('\n')}\n${ports.some(arduinoGuess) ? '* = likely Arduino; use it with "aquastop run --port PATH"\n' : ''}`;
}

/** Turns a listing failure into one line that names what is missing. */
export function listingProblem(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  if (/udevadm/.test(message) && /ENOENT/.test(message)) {
    return 'cannot list serial ports: udevadm is missing (install udev: sudo apt-get install udev)';
  }
  return `cannot list serial ports: ${message.split('\n')[0]}`;
}

export async function listPorts(list?: () => Promise<ListedPort[]>): Promise<ListedPort[]> {
  const lister = list ?? (async () => (await import('serialport')).SerialPort.list());
  try {
    return await lister();
  } catch (err) {
    throw new UsageError(listingProblem(err), 1);
  }
}

export function register(program: Command): void {
  program
    .command('ports')
    .description('list serial ports and mark likely Arduinos')
    .option('--json', 'print the ports as JSON', false)
    .action(async (opts: { json: boolean }) => {
      const ports = await listPorts();
      if (opts.json) process.stdout.write(`${JSON.stringify(ports.map((p) => ({ ...p, likelyArduino: arduinoGuess(p) })))}\n`);
      else process.stdout.write(formatPorts(ports));
    });
}
