/** src/protocol/README.md's topic table says what `TOPICS` says: every topic, its template, retained flag and QoS. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TOPICS } from '../../src/protocol/topics.js';

describe('the protocol README', () => {
  it('lists every topic with its template, retained flag and QoS, as TOPICS has them', () => {
    const text = readFileSync(new URL('../../src/protocol/README.md', import.meta.url), 'utf8');
    const rows = [...text.matchAll(/^\| (\w+) \| `([^`]+)` \| (yes|no) \| ([01]) \|$/gm)].map(([, name, template, retained, qos]) => ({
      name,
      template,
      retain: retained === 'yes',
      qos: Number(qos),
    }));
    const contract = Object.entries(TOPICS).map(([name, spec]) => ({ name, template: spec.template, retain: spec.retain, qos: spec.qos }));
    expect(rows).toEqual(contract);
  });
});
