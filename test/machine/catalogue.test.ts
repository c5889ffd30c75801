/**
 * The fault catalogue is a contract people read in three places: the appliance's display and
 * text (published with every fault event, shown by the dashboard), its severity and class
 * (alert routing, Home Assistant device triggers) and the README's fault table. This file holds
 * the README's table to the catalogue, cell by cell, and every detection rule to the
 * configuration keys it names, so neither can drift from what the controller does.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FAULT_CLASSES, FAULT_CODES, FAULTS, faultDefinition, isFaultCode, type FaultCode } from '../../src/machine/catalogue.js';
import { DEFAULT_CONFIG } from '../../src/machine/config.js';

interface Row {
  code: string;
  display: string;
  text: string;
  severity: string;
  class: string;
  reset: string;
}

/** The README's fault table ("| code | display | what the appliance says | ..."), row by row. */
function readmeTable(): Row[] {
  const lines = readFileSync('README.md', 'utf8').split('\n');
  const head = lines.findIndex((l) => l.startsWith('| code | display | what the appliance says |'));
  expect(head, 'the README has the fault table').toBeGreaterThanOrEqual(0);
  const columns = lines[head]!.split('|')
    .slice(1, -1)
    .map((c) => c.trim());
  const rows: Row[] = [];
  for (const line of lines.slice(head + 2)) {
    if (!line.startsWith('|')) break;
    const cells = line
      .split('|')
      .slice(1, -1)
      .map((c) => c.trim());
    const at = (name: string) => cells[columns.indexOf(name)] ?? '';
    rows.push({ code: at('code'), display: at('display'), text: at('what the appliance says'), severity: at('severity'), class: at('class'), reset: at('reset') });
  }
  return rows;
}

/** Every `group.key` a rule names, in the order it names them. */
const namedKeys = (rule: string) => [...rule.matchAll(/\b([a-z]+[A-Za-z]*)\.([a-z][A-Za-z]*)\b/g)].map((m) => `${m[1]}.${m[2]}`);
const configHas = (key: string) => {
  const [group, name] = key.split('.') as [string, string];
  const section = (DEFAULT_CONFIG as unknown as Record<string, Record<string, unknown> | undefined>)[group];
  return section !== undefined && typeof section[name] === 'number';
};

/** The key that times each code (its first-named key), as the fault table's "default rule" column gives it. */
const TIMED_BY: Partial<Record<FaultCode, string>> = {
  i10: 'fill.staticTimeoutMs',
  i11: 'fill.dynamicTimeoutMs',
  i13: 'valve.maxOpens',
  iF0: 'fill.maxFailedTopUps',
  i20: 'drain.timeoutMs',
  i30: 'leak.wetDebounceMs',
  i41: 'sensors.levelLostMs',
  i42: 'sensors.levelImplausibleMs',
  iB0: 'valveLeak.flowMs',
  iC0: 'link.watchdogMs',
  iE0: 'unaccounted.minLossL',
};

describe('the fault catalogue', () => {
  it('has one entry per code, under its own code, frozen', () => {
    expect(Object.keys(FAULTS).sort()).toEqual([...FAULT_CODES].sort());
    for (const code of FAULT_CODES) {
      expect(FAULTS[code].code).toBe(code);
      expect(faultDefinition(code)).toBe(FAULTS[code]);
      expect(Object.isFrozen(FAULTS[code])).toBe(true);
    }
    expect(Object.isFrozen(FAULTS)).toBe(true);
  });

  it('displays each code as the appliance does: ",30" for i30', () => {
    for (const code of FAULT_CODES) expect(FAULTS[code].display).toBe(`,${code.slice(1)}`);
  });

  it('knows its codes and nothing else', () => {
    for (const code of FAULT_CODES) expect(isFaultCode(code)).toBe(true);
    for (const other of ['i00', 'I30', '30', ',30', '', null, undefined, 30, 'toString', 'i30 ']) expect(isFaultCode(other), String(other)).toBe(false);
  });

  it('matches the README fault table cell by cell: display, text, severity, class and reset policy', () => {
    const rows = readmeTable();
    expect(rows.map((r) => r.code).sort()).toEqual([...FAULT_CODES].sort());
    for (const row of rows) {
      const f = FAULTS[row.code as FaultCode];
      expect({ code: row.code, display: row.display, text: row.text, severity: row.severity, class: row.class }).toEqual({
        code: f.code,
        display: f.display,
        text: f.text,
        severity: f.severity,
        class: f.class,
      });
      expect(row.reset.split(/[ ,]/)[0], `${row.code} reset`).toBe(f.reset);
    }
  });

  it('gives every fault a severity and a class from their closed sets, and a text of its own', () => {
    const texts = new Set<string>();
    for (const code of FAULT_CODES) {
      const f = FAULTS[code];
      expect(['warning', 'error', 'critical']).toContain(f.severity);
      expect(FAULT_CLASSES).toContain(f.class);
      expect(['auto', 'manual', 'service']).toContain(f.reset);
      expect(f.text.length, `${code} text`).toBeGreaterThan(10);
      texts.add(f.text);
    }
    expect(texts.size).toBe(FAULT_CODES.length);
  });

  it('names, in each detection rule, only configuration keys that exist, and the key that times the code', () => {
    for (const code of FAULT_CODES) {
      const rule = FAULTS[code].rule;
      expect(rule.length, `${code} rule`).toBeGreaterThan(10);
      for (const key of namedKeys(rule)) expect(configHas(key), `${code} rule names ${key}`).toBe(true);
      const timedBy = TIMED_BY[code];
      if (timedBy) expect(namedKeys(rule), `${code} rule`).toContain(timedBy);
    }
  });
});
