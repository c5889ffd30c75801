/**
 * EEPROM kept in a file, so a latch the firmware stores survives an emulated power cycle or a
 * new process. Same semantics as avr8js's in-memory backend (erased = 0xFF, a write can only
 * clear bits); every change is written through at once, because a real EEPROM write is durable
 * the moment it completes.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { EEPROMBackend } from 'avr8js';

export const ATMEGA328P_EEPROM_BYTES = 1024;

export class FileEEPROMBackend implements EEPROMBackend {
  readonly memory: Uint8Array;

  constructor(
    readonly path: string,
    size = ATMEGA328P_EEPROM_BYTES,
  ) {
    this.memory = new Uint8Array(size).fill(0xff);
    if (existsSync(path)) {
      const stored = readFileSync(path);
      // A short or oversized file is read as far as it fits; the rest stays erased.
      this.memory.set(stored.subarray(0, size));
    }
  }

  readMemory(addr: number): number {
    return this.memory[addr] ?? 0xff;
  }

  writeMemory(addr: number, value: number): void {
    if (addr >= this.memory.length) return;
    this.memory[addr] = this.memory[addr]! & value;
    this.flush();
  }

  eraseMemory(addr: number): void {
    if (addr >= this.memory.length) return;
    this.memory[addr] = 0xff;
    this.flush();
  }

  private flush(): void {
    mkdirSync(dirname(this.path), { recursive: true });
    writeFileSync(this.path, this.memory);
  }
}
