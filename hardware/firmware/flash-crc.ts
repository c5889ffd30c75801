/**
 * The flash CRC the firmware checks at boot (src/selftest.cpp): CRC-16/CCITT as avr-libc's
 * `_crc_ccitt_update` computes it (reflected polynomial 0x8408, initial value 0xFFFF, no final
 * XOR) over the image from address 0 to its end, stored as two bytes (low first) right after the
 * image, which is where the linker's `__data_load_end` points.
 */
import { parseIntelHex } from './intel-hex.js';

/** avr-libc's documented C equivalent of `_crc_ccitt_update`, byte for byte. */
export function crcCcittUpdate(crc: number, byte: number): number {
  let data = (byte ^ crc) & 0xff;
  data = (data ^ (data << 4)) & 0xff;
  return (((data << 8) | (crc >> 8)) ^ (data >> 4) ^ (data << 3)) & 0xffff;
}

export function flashCrc(image: Uint8Array, end = image.length): number {
  let crc = 0xffff;
  for (let i = 0; i < end; i++) crc = crcCcittUpdate(crc, image[i]!);
  return crc;
}

function record(address: number, type: number, payload: readonly number[]): string {
  const bytes = [payload.length, (address >> 8) & 0xff, address & 0xff, type, ...payload];
  const check = (0x100 - (bytes.reduce((a, b) => a + b, 0) & 0xff)) & 0xff;
  return `:${[...bytes, check].map((b) => b.toString(16).padStart(2, '0').toUpperCase()).join('')}`;
}

/**
 * Returns the Intel HEX text with the CRC of its image appended as a data record just before the
 * end-of-file record, and where it went. The image must be contiguous from address 0 and below 64 KiB.
 */
export function appendFlashCrc(hex: string): { hex: string; crcAddress: number; crc: number } {
  const image = parseIntelHex(hex);
  if (image.bytesWritten !== image.data.length) throw new Error('flash image has gaps: cannot place its CRC');
  const end = image.data.length;
  if (end + 2 > 0x10000) throw new Error('flash image too big for a 16-bit CRC address');
  const crc = flashCrc(image.data);
  const lines = hex.split(/\r?\n/).filter((l) => l.trim() !== '');
  const eof = lines.pop();
  if (eof?.trim() !== ':00000001FF') throw new Error('intel hex: expected the end-of-file record last');
  return { hex: [...lines, record(end, 0, [crc & 0xff, crc >> 8]), eof, ''].join('\n'), crcAddress: end, crc };
}
