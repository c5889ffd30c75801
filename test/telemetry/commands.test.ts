import { describe, expect, it } from 'vitest';
import { authoriseCommand, MAX_PAYLOAD_BYTES, parseCommand, parseInject } from '../../src/telemetry/commands.js';

const parse = (s: string) => parseCommand(Buffer.from(s));

describe('reading set payloads', () => {
  it('reads the four commands', () => {
    expect(parse('{"valve":"CLOSE"}')).toEqual({ ok: true, command: 'closeValve', key: 'valve' });
    expect(parse('{"reset":"trip"}')).toEqual({ ok: true, command: 'reset', key: 'reset' });
    expect(parse('{"exercise":true}')).toEqual({ ok: true, command: 'exercise', key: 'exercise' });
    expect(parse('{"resume":true}')).toEqual({ ok: true, command: 'resume', key: 'resume' });
  });

  it('never reads a command that opens the valve', () => {
    for (const p of ['{"valve":"OPEN"}', '{"valve":"open"}', '{"valve":true}', '{"valve":"CLOSE ","x":1}']) expect(parse(p).ok, p).toBe(false);
  });

  it('names what is wrong with a bad payload', () => {
    expect(parse('{"reset":"everything"}')).toEqual({ ok: false, key: 'reset', error: 'invalid reset command: expected {"reset":"trip"}' });
    expect(parse('{}')).toEqual({ ok: false, error: 'one command per message (got none)' });
    expect(parse('"CLOSE"')).toMatchObject({ ok: false, error: expect.stringMatching(/JSON object/) });
    expect(parseCommand(Buffer.alloc(MAX_PAYLOAD_BYTES + 1, ' '))).toMatchObject({
      ok: false,
      error: `payload too large: ${MAX_PAYLOAD_BYTES + 1} bytes (at most ${MAX_PAYLOAD_BYTES})`,
    });
    expect(parse(`{"${'k'.repeat(500)}":1}`)).toMatchObject({ ok: false, error: expect.stringMatching(/^unknown command "k{40}" \(expected/) });
  });

  it('carries an optional correlation id, and refuses a bad one', () => {
    expect(parse('{"valve":"CLOSE","id":"web-42"}')).toEqual({ ok: true, command: 'closeValve', key: 'valve', id: 'web-42' });
    expect(parse('{"id":"x1","reset":"now"}')).toMatchObject({ ok: false, key: 'reset', id: 'x1' });
    expect(parse('{"id":"x1"}')).toEqual({ ok: false, id: 'x1', error: 'one command per message (got none)' });
    expect(parse('{"valve":"CLOSE","id":"a/b"}')).toMatchObject({ ok: false, error: expect.stringMatching(/^invalid id: /) });
    expect(parse('{"valve":"CLOSE","id":7}')).toMatchObject({ ok: false, error: expect.stringMatching(/^invalid id: /) });
  });

  it('refuses remote reset, resume and exercise (each can let water in) unless enabled; close always passes to the controller', () => {
    expect(authoriseCommand('reset', false).ok).toBe(false);
    expect(authoriseCommand('resume', false).ok).toBe(false);
    expect(authoriseCommand('exercise', false).ok).toBe(false);
    expect(authoriseCommand('reset', true).ok).toBe(true);
    expect(authoriseCommand('resume', true).ok).toBe(true);
    expect(authoriseCommand('exercise', true).ok).toBe(true);
    expect(authoriseCommand('closeValve', false).ok).toBe(true);
  });

  it('never finds a command, or echoes a value, from Object.prototype', () => {
    for (const key of ['toString', 'constructor', 'hasOwnProperty', 'valueOf', '__proto__']) {
      const parsed = parseCommand(Buffer.from(`{"${key}":1}`));
      expect(parsed.ok, key).toBe(false);
      if (!parsed.ok) {
        expect(parsed.error, key).not.toMatch(/native code|function|\[object/);
        if (key !== '__proto__') expect(parsed.error, key).toMatch(/unknown command/);
      }
    }
  });

  it('reads injections and refuses unknown ones', () => {
    expect(parseInject(Buffer.from('{"inject":"leak"}'))).toEqual({ ok: true, fault: 'leak' });
    expect(parseInject(Buffer.from('{"inject":"fire"}'))).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^invalid injection: expected \{"inject": one of leak, burstHose/),
    });
  });
});
