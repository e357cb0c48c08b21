import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { decodeText, isPayload, payloadText, wireVersionFromVsn } from '../../src/protocol/codec.js';
import { expectOk, frames } from './wire-fixtures.js';

function v2(...fields: unknown[]): string {
  return JSON.stringify(fields);
}

describe('wireVersionFromVsn (parity 1.1)', () => {
  it.each([
    ['2.0.0', 2],
    ['1.0.0', 1],
    [undefined, 1],
    [null, 1],
    ['', 1],
    ['3.0.0', null],
    ['abc', null],
    ['2', null],
    ['2.0', null],
    [' 2.0.0', null],
    ['2.0.7', 2],
    ['1.0.3', 1],
    // Phoenix matches ~> 2.0.0 and ~> 1.0.0: other minor versions are not served.
    ['2.1.0', null],
    ['1.1.0', null],
  ] as const)('%j -> %j', (vsn, expected) => {
    expect(wireVersionFromVsn(vsn)).toBe(expected);
  });
});

describe('isPayload', () => {
  it('accepts plain objects only', () => {
    expect(isPayload({})).toBe(true);
    expect(isPayload({ a: 1 })).toBe(true);
    expect(isPayload([])).toBe(false);
    expect(isPayload(null)).toBe(false);
    expect(isPayload('x')).toBe(false);
    expect(isPayload(1)).toBe(false);
    expect(isPayload(undefined)).toBe(false);
  });
});

describe('decodeText V2 (arrays)', () => {
  it('decodes the Hubs join frame', () => {
    const frame = expectOk(decodeText(JSON.stringify(frames.v2.hubJoin), 2));
    expect(frame).toEqual({
      joinRef: '1',
      ref: '1',
      topic: 'hub:AbCdEfG',
      event: 'phx_join',
      payload: frames.v2.hubJoin[4],
      text: JSON.stringify(frames.v2.hubJoin),
    });
  });

  it('decodes a heartbeat with a null join_ref', () => {
    expect(expectOk(decodeText(JSON.stringify(frames.v2.heartbeat), 2))).toEqual({
      joinRef: null,
      ref: '3',
      topic: 'phoenix',
      event: 'heartbeat',
      payload: {},
      text: JSON.stringify(frames.v2.heartbeat),
    });
  });

  it('decodes every V2 fixture frame', () => {
    for (const fixture of Object.values(frames.v2)) {
      const frame = expectOk(decodeText(JSON.stringify(fixture), 2));
      expect([frame.joinRef, frame.ref, frame.topic, frame.event, frame.payload]).toEqual(fixture);
    }
  });

  it('accepts refs sent as numbers and turns them into strings', () => {
    const frame = expectOk(decodeText(v2(1, 2, 'hub:AbCdEfG', 'naf', {}), 2));
    expect(frame.joinRef).toBe('1');
    expect(frame.ref).toBe('2');
  });

  it('accepts a ref of exactly 64 characters', () => {
    const ref = 'r'.repeat(64);
    expect(expectOk(decodeText(v2(null, ref, 't', 'e', {}), 2)).ref).toBe(ref);
  });

  it('refuses invalid JSON with nothing recovered', () => {
    expect(decodeText('[null, "1", "t", "e", {', 2)).toEqual({
      ok: false,
      reason: 'frame is not valid JSON',
      ref: null,
      joinRef: null,
      topic: null,
    });
  });

  it.each([
    ['four elements', v2('1', '1', 't', 'e')],
    ['six elements', v2('1', '1', 't', 'e', {}, 'extra')],
    ['an empty array', '[]'],
    ['an object', JSON.stringify(frames.v1.heartbeat)],
    ['a string', '"hello"'],
    ['null', 'null'],
  ])('refuses %s', (_name, text) => {
    const result = decodeText(text, 2);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.reason).toMatch(/V2 frame/);
    expect(result).toMatchObject({ ref: null, joinRef: null, topic: null });
  });

  it.each([
    ['an array', []],
    ['null', null],
    ['a string', 'payload'],
    ['a number', 42],
    ['a boolean', true],
  ])('refuses a payload that is %s and keeps the addressing', (_name, payload) => {
    expect(decodeText(v2('1', '4', 'hub:AbCdEfG', 'naf', payload), 2)).toEqual({
      ok: false,
      reason: 'payload must be a JSON object',
      ref: '4',
      joinRef: '1',
      topic: 'hub:AbCdEfG',
    });
  });

  it.each([
    ['null', null],
    ['empty', ''],
    ['a number', 7],
    ['257 characters', 't'.repeat(257)],
  ])('refuses a topic that is %s, keeping the refs', (_name, topic) => {
    const result = decodeText(v2('1', '4', topic, 'phx_join', {}), 2);
    expect(result).toMatchObject({ ok: false, ref: '4', joinRef: '1', topic: null });
    if (!result.ok) expect(result.reason).toMatch(/topic/);
  });

  it('accepts a topic of exactly 256 characters', () => {
    const topic = 't'.repeat(256);
    expect(expectOk(decodeText(v2(null, '1', topic, 'e', {}), 2)).topic).toBe(topic);
  });

  it.each([
    ['null', null],
    ['empty', ''],
    ['an object', {}],
    ['129 characters', 'e'.repeat(129)],
  ])('refuses an event that is %s, keeping refs and topic', (_name, event) => {
    const result = decodeText(v2('1', '4', 'hub:AbCdEfG', event, {}), 2);
    expect(result).toMatchObject({ ok: false, ref: '4', joinRef: '1', topic: 'hub:AbCdEfG' });
    if (!result.ok) expect(result.reason).toMatch(/event/);
  });

  it('accepts an event of exactly 128 characters', () => {
    const event = 'e'.repeat(128);
    expect(expectOk(decodeText(v2(null, '1', 't', event, {}), 2)).event).toBe(event);
  });

  it.each([
    ['a boolean', true],
    ['an object', {}],
    ['an array', ['1']],
    ['a fraction', 1.5],
    ['an unsafe integer', 2 ** 60],
    ['a 65-character string', 'j'.repeat(65)],
  ])('refuses a join_ref that is %s, keeping ref and topic', (_name, joinRef) => {
    const result = decodeText(v2(joinRef, '4', 'hub:AbCdEfG', 'naf', {}), 2);
    expect(result).toEqual({
      ok: false,
      reason: 'join_ref and ref must be strings or null',
      ref: '4',
      joinRef: null,
      topic: 'hub:AbCdEfG',
    });
  });

  it('refuses a ref of the wrong type, keeping join_ref and topic', () => {
    expect(decodeText(v2('1', { n: 4 }, 'hub:AbCdEfG', 'naf', {}), 2)).toMatchObject({
      ok: false,
      ref: null,
      joinRef: '1',
      topic: 'hub:AbCdEfG',
    });
  });

  it('never throws on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        decodeText(text, 2);
        decodeText(text, 1);
      }),
    );
  });

  it('never throws on arbitrary JSON, and anything it accepts is well formed', () => {
    fc.assert(
      fc.property(fc.oneof(fc.json(), fc.tuple(fc.jsonValue(), fc.jsonValue(), fc.jsonValue(), fc.jsonValue(), fc.jsonValue()).map((t) => JSON.stringify(t))), (text) => {
        for (const vsn of [1, 2] as const) {
          const result = decodeText(text, vsn);
          if (!result.ok) continue;
          const { frame } = result;
          expect(frame.joinRef === null || typeof frame.joinRef === 'string').toBe(true);
          expect(frame.ref === null || typeof frame.ref === 'string').toBe(true);
          expect(typeof frame.topic).toBe('string');
          expect(typeof frame.event).toBe('string');
          expect(isPayload(frame.payload)).toBe(true);
        }
      }),
    );
  });
});

describe('decodeText V1 (objects)', () => {
  it('decodes a V1 frame with join_ref', () => {
    expect(expectOk(decodeText(JSON.stringify(frames.v1.hubJoin), 1))).toEqual({
      joinRef: '1',
      ref: '1',
      topic: 'hub:AbCdEfG',
      event: 'phx_join',
      payload: frames.v1.hubJoin.payload,
    });
  });

  it('decodes a V1 frame without join_ref', () => {
    expect(expectOk(decodeText(JSON.stringify(frames.v1.heartbeat), 1))).toEqual({
      joinRef: null,
      ref: '3',
      topic: 'phoenix',
      event: 'heartbeat',
      payload: {},
    });
  });

  it('accepts numeric refs', () => {
    const frame = expectOk(decodeText(JSON.stringify({ topic: 't', event: 'e', payload: {}, ref: 12, join_ref: 11 }), 1));
    expect(frame.ref).toBe('12');
    expect(frame.joinRef).toBe('11');
  });

  it.each([
    ['an array', JSON.stringify(frames.v2.heartbeat)],
    ['null', 'null'],
    ['a number', '3'],
  ])('refuses a frame that is %s', (_name, text) => {
    const result = decodeText(text, 1);
    expect(result).toMatchObject({ ok: false, ref: null, joinRef: null, topic: null });
    if (!result.ok) expect(result.reason).toMatch(/V1 frame/);
  });

  it('refuses invalid JSON', () => {
    expect(decodeText('{"topic":', 1)).toMatchObject({ ok: false, reason: 'frame is not valid JSON' });
  });

  it('refuses a missing topic, keeping the ref', () => {
    expect(decodeText(JSON.stringify({ event: 'e', payload: {}, ref: '5' }), 1)).toMatchObject({ ok: false, ref: '5', topic: null });
  });

  it('refuses a missing payload, keeping the addressing', () => {
    expect(decodeText(JSON.stringify({ topic: 't', event: 'e', ref: '5' }), 1)).toEqual({
      ok: false,
      reason: 'payload must be a JSON object',
      ref: '5',
      joinRef: null,
      topic: 't',
    });
  });

  it('refuses a join_ref of the wrong type', () => {
    expect(decodeText(JSON.stringify({ topic: 't', event: 'e', payload: {}, ref: '5', join_ref: false }), 1)).toMatchObject({
      ok: false,
      reason: 'join_ref and ref must be strings or null',
      ref: '5',
    });
  });
});

describe('payloadText', () => {
  const decode = (text: string) => expectOk(decodeText(text, 2));

  it('gives the payload of a frame written without white space, as sent', () => {
    expect(payloadText(decode('["1",2,"hub:AbCdEfG","nafr",{"naf":"x"}]'))).toBe('{"naf":"x"}');
    expect(payloadText(decode('[null,-2.5e3,"hub:\\u0041b\\"C,","nafr",{"naf":"x"}]'))).toBe('{"naf":"x"}');
    const naf = JSON.stringify({ dataType: 'um', data: { d: [{ networkId: 'é"\\/', owner: 'x' }] } });
    const text = JSON.stringify(['1', '2', 'hub:AbCdEfG', 'nafr', { naf }]);
    expect(payloadText(decode(text))).toBe(JSON.stringify({ naf }));
  });

  it('gives nothing for frames written otherwise, or decoded from V1', () => {
    expect(payloadText(decode('[ "1","2","hub:AbCdEfG","nafr",{"naf":"x"}]'))).toBeUndefined();
    expect(payloadText(decode('[ "a,","{\\"naf\\":1}","hub:x","nafr",{"naf":"q"}]'))).toBeUndefined();
    expect(payloadText(decode('["1", "2","hub:AbCdEfG","nafr",{"naf":"x"}]'))).toBeUndefined();
    expect(payloadText(decode('["1","2","hub:AbCdEfG","nafr", {"naf":"x"}]'))).toBeUndefined();
    expect(payloadText(decode('["1","2","hub:AbCdEfG","nafr",{"naf":"x"} ]'))).toBeUndefined();
    expect(payloadText(expectOk(decodeText('{"topic":"t","event":"e","payload":{},"ref":null}', 1)))).toBeUndefined();
  });

  it('never gives anything but the payload, whatever the frame holds and however it is spaced', () => {
    const scalar = fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.double({ noNaN: true, noDefaultInfinity: true }));
    fc.assert(
      fc.property(scalar, scalar, fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), fc.dictionary(fc.string(), fc.jsonValue()), fc.nat(3), (a, b, topic, event, payload, indent) => {
        const text = JSON.stringify([a, b, topic, event, payload], null, indent);
        const decoded = decodeText(text, 2);
        if (!decoded.ok) return;
        const raw = payloadText(decoded.frame);
        if (indent === 0) expect(raw).toBe(JSON.stringify(payload));
        if (raw !== undefined) expect(JSON.parse(raw)).toEqual(decoded.frame.payload);
      }),
      { numRuns: 3000, seed: 5 },
    );
  });
});
