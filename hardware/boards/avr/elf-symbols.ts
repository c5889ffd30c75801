/**
 * Reads the symbol table of the firmware's ELF (32-bit, little-endian, as avr-gcc writes it), so
 * the emulated board can find an address the .hex does not carry (the stack canary at
 * `__heap_start`) without avr-nm. Returns null for anything that is not such an ELF.
 * AVR data addresses carry avr-gcc's 0x800000 offset; `dataAddress` strips it.
 */
import { readFileSync } from 'node:fs';

const SHT_SYMTAB = 2;

export function readElfSymbols(path: string): Map<string, number> | null {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch {
    return null;
  }
  // "\x7fELF", class 1 (32-bit), data 1 (little-endian).
  if (buf.length < 52 || buf.readUInt32BE(0) !== 0x7f454c46 || buf[4] !== 1 || buf[5] !== 1) return null;
  const shoff = buf.readUInt32LE(0x20);
  const shentsize = buf.readUInt16LE(0x2e);
  const shnum = buf.readUInt16LE(0x30);
  if (shentsize < 40 || shoff + shnum * shentsize > buf.length) return null;
  const section = (i: number) => {
    const at = shoff + i * shentsize;
    return { type: buf.readUInt32LE(at + 4), offset: buf.readUInt32LE(at + 16), size: buf.readUInt32LE(at + 20), link: buf.readUInt32LE(at + 24) };
  };
  const symbols = new Map<string, number>();
  for (let i = 0; i < shnum; i++) {
    const symtab = section(i);
    if (symtab.type !== SHT_SYMTAB || symtab.link >= shnum) continue;
    const strtab = section(symtab.link);
    if (symtab.offset + symtab.size > buf.length || strtab.offset + strtab.size > buf.length) return null;
    for (let at = symtab.offset; at + 16 <= symtab.offset + symtab.size; at += 16) {
      const nameAt = strtab.offset + buf.readUInt32LE(at);
      const end = buf.indexOf(0, nameAt);
      if (nameAt >= strtab.offset + strtab.size || end < 0) continue;
      const name = buf.toString('latin1', nameAt, end);
      if (name) symbols.set(name, buf.readUInt32LE(at + 4));
    }
  }
  return symbols;
}

/** An AVR data-space symbol value (0x800000 + address) as an SRAM address. */
export function dataAddress(value: number): number {
  return value & 0xffff;
}
