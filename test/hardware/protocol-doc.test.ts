/**
 * hardware/firmware/PROTOCOL.md against the code on both ends of the wire: every safety
 * extension the document lists has the same id in the firmware (config.h) and in the host
 * (safety-sysex.ts), and the STATUS layout it describes has the length both sides use.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeStatus, SYSEX } from '../../hardware/boards/safety-sysex.js';

const read = (path: string) => readFileSync(new URL(`../../hardware/firmware/${path}`, import.meta.url), 'utf8');
const protocol = read('PROTOCOL.md');
const config = read('src/config.h');

const section2 = protocol.split('## 2.')[1]?.split('## 3.')[0] ?? '';
const extensions = [...section2.matchAll(/^\| ([0-9A-F]{2}) \| ([A-Z_]+) \|/gm)].map((m) => ({ id: parseInt(m[1]!, 16), name: m[2]! }));
const camel = (name: string) => name.toLowerCase().replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

describe('PROTOCOL.md', () => {
  it('lists the safety extensions the issue asks for: keepalive, status (trip, latch, flow count), result, safety version', () => {
    expect(extensions.map((e) => e.name)).toEqual(expect.arrayContaining(['KEEPALIVE', 'ARM', 'CLEAR_LATCH', 'STATUS', 'RESULT', 'SAFETY_VERSION']));
    expect(section2).toMatch(/flow-meter pulse count/);
    expect(section2).toMatch(/bit2 latched/);
    expect(section2).toMatch(/trip reason/);
  });

  it('gives every extension the id the firmware and the host driver use', () => {
    expect(extensions.length).toBeGreaterThanOrEqual(6);
    for (const { id, name } of extensions) {
      const define = new RegExp(`^#define AQ_${name} 0x([0-9A-F]{2})`, 'mi').exec(config);
      expect(define, `config.h defines AQ_${name}`).not.toBeNull();
      expect(parseInt(define![1]!, 16), `firmware id of ${name}`).toBe(id);
      expect((SYSEX as Record<string, number>)[camel(name)], `host id of ${name}`).toBe(id);
    }
  });

  it('describes a STATUS report as long as the firmware sends and the host decodes', () => {
    const rows = [...section2.matchAll(/^\| (\d+)(?:-(\d+))? \| /gm)].map((m) => Number(m[2] ?? m[1]));
    const bytes = Math.max(...rows) + 1;
    expect(Number(/^#define AQ_STATUS_BYTES (\d+)/m.exec(config)?.[1])).toBe(bytes);
    expect(decodeStatus(new Array<number>(bytes).fill(0))).not.toBeNull();
    expect(decodeStatus(new Array<number>(bytes - 1).fill(0))).toBeNull();
  });
});
