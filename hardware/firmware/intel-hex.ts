/**
 * Intel HEX reading, for checking a build and loading an image into an emulator.
 * Validates every record (start code, hex digits, length, checksum, record types 00/01/02/03/04/05)
 * and throws one clear line on the first bad one.
 */
export interface HexImage {
  /** Flash bytes from address 0 up to the highest byte written (gaps are 0xFF, like erased flash). */
  readonly data: Uint8Array;
  /** Number of bytes the file writes (the image's size in flash). */
  readonly bytesWritten: number;
}

export function parseIntelHex(text: string, maxBytes = 32 * 1024): HexImage {
  const buffer = new Uint8Array(maxBytes).fill(0xff);
  let base = 0;
  let top = 0;
  let written = 0;
  let sawEnd = false;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    const where = `line ${i + 1}`;
    if (sawEnd) throw new Error(`intel hex: data after the end-of-file record at ${where}`);
    if (!/^:([0-9A-Fa-f]{2})+$/.test(line)) throw new Error(`intel hex: malformed record at ${where}`);
    const bytes = Buffer.from(line.slice(1), 'hex');
    const len = bytes[0]!;
    if (bytes.length !== len + 5) throw new Error(`intel hex: length mismatch at ${where}`);
    const sum = bytes.reduce((a, b) => (a + b) & 0xff, 0);
    if (sum !== 0) throw new Error(`intel hex: bad checksum at ${where}`);
    const addr = (bytes[1]! << 8) | bytes[2]!;
    const type = bytes[3]!;
    const payload = bytes.subarray(4, 4 + len);
    switch (type) {
      case 0x00: {
        const start = base + addr;
        if (start + len > maxBytes) throw new Error(`intel hex: data beyond ${maxBytes} bytes at ${where}`);
        buffer.set(payload, start);
        top = Math.max(top, start + len);
        written += len;
        break;
      }
      case 0x01:
        sawEnd = true;
        break;
      case 0x02:
        base = ((payload[0]! << 8) | payload[1]!) << 4;
        break;
      case 0x04:
        base = ((payload[0]! << 8) | payload[1]!) << 16;
        break;
      case 0x03:
      case 0x05:
        break;
      default:
        throw new Error(`intel hex: unknown record type ${type} at ${where}`);
    }
  }
  if (!sawEnd) throw new Error('intel hex: no end-of-file record');
  return { data: buffer.slice(0, top), bytesWritten: written };
}
