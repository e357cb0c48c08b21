import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { decodeText, encodeText, OutFrame, payloadText, peekBinaryPush } from '../../src/protocol/codec.js';
import { expectOk, frames } from './wire-fixtures.js';

/** A V2 binary push: opcode, four sizes, then join_ref, ref, topic, event, then the payload bytes. */
function binaryPush(opcode: number, joinRef: string, ref: string, topic: string, event: string, payload: Uint8Array = new Uint8Array([1, 2, 3])): Buffer {
  const strings = [joinRef, ref, topic, event].map((s) => Buffer.from(s, 'utf8'));
  return Buffer.concat([Buffer.from([opcode, ...strings.map((s) => s.length)]), ...strings, payload]);
}

describe('peekBinaryPush (parity 1.2 binary frames)', () => {
  it('reads the addressing of a hand-built push', () => {
    expect(peekBinaryPush(binaryPush(0, '1', '2', 'hub:AbCdEfG', 'naf'))).toEqual({
      joinRef: '1',
      ref: '2',
      topic: 'hub:AbCdEfG',
      event: 'naf',
    });
  });

  it('reads a push with no payload bytes', () => {
    expect(peekBinaryPush(binaryPush(0, '1', '2', 't', 'e', new Uint8Array(0)))).toEqual({ joinRef: '1', ref: '2', topic: 't', event: 'e' });
  });

  it('turns empty refs into null', () => {
    expect(peekBinaryPush(binaryPush(0, '', '', 'phoenix', 'heartbeat'))).toEqual({
      joinRef: null,
      ref: null,
      topic: 'phoenix',
      event: 'heartbeat',
    });
  });

  it('decodes multi-byte UTF-8 using byte sizes', () => {
    expect(peekBinaryPush(binaryPush(0, '7', '8', 'hub:é☃', 'évent'))).toMatchObject({ topic: 'hub:é☃', event: 'évent' });
  });

  it('reads a Uint8Array view that does not start at offset 0', () => {
    const push = binaryPush(0, '10', '20', 'hub:AbCdEfG', 'nafr');
    const backing = new Uint8Array(push.length + 16);
    backing.set(push, 9);
    const view = backing.subarray(9, 9 + push.length);
    expect(peekBinaryPush(view)).toEqual({ joinRef: '10', ref: '20', topic: 'hub:AbCdEfG', event: 'nafr' });
  });

  it('returns null for every truncation of the header and strings', () => {
    const push = binaryPush(0, '1', '2', 'hub:AbCdEfG', 'naf', new Uint8Array(0));
    for (let n = 0; n < push.length; n++) {
      expect(peekBinaryPush(push.subarray(0, n))).toBeNull();
    }
    expect(peekBinaryPush(push)).not.toBeNull();
  });

  it.each([1, 2, 3, 255])('returns null for opcode %i', (opcode) => {
    expect(peekBinaryPush(binaryPush(opcode, '1', '2', 't', 'e'))).toBeNull();
  });

  it('returns null when topic or event is empty', () => {
    expect(peekBinaryPush(binaryPush(0, '1', '2', '', 'e'))).toBeNull();
    expect(peekBinaryPush(binaryPush(0, '1', '2', 't', ''))).toBeNull();
  });

  it('never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        peekBinaryPush(bytes);
      }),
    );
  });
});

describe('encodeText', () => {
  it('encodes V2 as [join_ref, ref, topic, event, payload]', () => {
    const text = encodeText(2, '1', '2', 'hub:AbCdEfG', 'naf', '{"a":[1,"x"]}');
    expect(JSON.parse(text)).toEqual(['1', '2', 'hub:AbCdEfG', 'naf', { a: [1, 'x'] }]);
  });

  it('encodes a V2 broadcast with null refs', () => {
    const [dataType, data, from] = ['u', {}, 's2'];
    const text = encodeText(2, null, null, 'hub:AbCdEfG', 'naf', JSON.stringify({ dataType, data, from_session_id: from }));
    expect(JSON.parse(text)).toEqual(frames.v2.broadcast);
  });

  it('encodes V1 as {topic, event, payload, ref, join_ref}', () => {
    const text = encodeText(1, '1', '2', 'hub:AbCdEfG', 'naf', '{"a":1}');
    expect(JSON.parse(text)).toEqual({ topic: 'hub:AbCdEfG', event: 'naf', payload: { a: 1 }, ref: '2', join_ref: '1' });
  });

  it('escapes strings that need it', () => {
    const topic = 'hub:"quoted"\\\n\u2028é';
    for (const vsn of [1, 2] as const) {
      const frame = expectOk(decodeText(encodeText(vsn, null, '1', topic, 'e"v', '{}'), vsn));
      expect(frame.topic).toBe(topic);
      expect(frame.event).toBe('e"v');
    }
  });

  it('round-trips every V2 fixture frame', () => {
    for (const fixture of Object.values(frames.v2)) {
      const [joinRef, ref, topic, event, payload] = fixture;
      const text = encodeText(2, joinRef, ref, topic, event, JSON.stringify(payload));
      expect(JSON.parse(text)).toEqual(fixture);
    }
  });

  it('round-trips through decodeText for any valid frame, in both versions', () => {
    const ref = fc.option(fc.string({ maxLength: 64 }), { nil: null });
    const key = fc.string({ maxLength: 8 }).filter((k) => k !== '__proto__');
    fc.assert(
      fc.property(
        ref,
        ref,
        fc.string({ minLength: 1, maxLength: 256 }),
        fc.string({ minLength: 1, maxLength: 128 }),
        fc.dictionary(key, fc.jsonValue({ maxDepth: 3 })),
        fc.constantFrom(1 as const, 2 as const),
        (joinRef, r, topic, event, payload, vsn) => {
          const payloadJson = JSON.stringify(payload);
          const text = encodeText(vsn, joinRef, r, topic, event, payloadJson);
          const frame = expectOk(decodeText(text, vsn));
          expect(frame).toEqual({ joinRef, ref: r, topic, event, payload: JSON.parse(payloadJson), text: vsn === 2 ? text : undefined });
          // A V2 frame written as JSON.stringify writes it gives its payload's text back as sent.
          if (vsn === 2 && payloadJson.endsWith('}')) expect(payloadText(frame)).toBe(payloadJson);
        },
      ),
    );
  });
});

describe('OutFrame', () => {
  it('encodes each version once, as one websocket text frame, and returns the same Buffer afterwards', () => {
    const frame = new OutFrame(null, null, 'hub:AbCdEfG', 'naf', { dataType: 'u', data: {} });
    const v2a = frame.wire(2);
    const v1a = frame.wire(1);
    expect(frame.wire(2)).toBe(v2a);
    expect(frame.wire(1)).toBe(v1a);
    expect(v1a).not.toBe(v2a);
    expect(frame.bytes(2).buffer).toBe(v2a.buffer);
    expect(frame.bytes(2).toString('utf8')).toBe(encodeText(2, null, null, 'hub:AbCdEfG', 'naf', '{"dataType":"u","data":{}}'));
    expect(frame.bytes(1).toString('utf8')).toBe(encodeText(1, null, null, 'hub:AbCdEfG', 'naf', '{"dataType":"u","data":{}}'));
    // FIN + text opcode, unmasked, with the 7-bit length.
    expect([v2a[0], v2a[1]]).toEqual([0x81, frame.bytes(2).length]);
  });

  it('frames long messages with the 16-bit and 64-bit lengths of RFC 6455', () => {
    for (const size of [125, 126, 65535, 65536]) {
      const frame = new OutFrame(null, null, 't', 'e', { s: 'x'.repeat(size) });
      const message = frame.bytes(2);
      const wire = frame.wire(2);
      expect(wire.length - message.length).toBe(message.length < 126 ? 2 : message.length < 65536 ? 4 : 10);
      if (message.length >= 126 && message.length < 65536) expect([wire[1], wire.readUInt16BE(2)]).toEqual([126, message.length]);
      if (message.length >= 65536) expect([wire[1], Number(wire.readBigUInt64BE(2))]).toEqual([127, message.length]);
      expect(JSON.parse(message.toString('utf8'))[4].s).toHaveLength(size);
    }
  });

  it('is not droppable unless asked', () => {
    expect(new OutFrame(null, null, 't', 'e', {}).isDroppable).toBe(false);
    expect(new OutFrame(null, null, 't', 'e', {}, true).isDroppable).toBe(true);
  });

  it('builds a phx_reply {status, response} to the ref', () => {
    const reply = OutFrame.reply('1', '1', 'hub:zzzzzzz', 'error', { message: 'No such Hub', reason: 'not_found' });
    expect(reply).toMatchObject({
      joinRef: '1',
      ref: '1',
      topic: 'hub:zzzzzzz',
      event: 'phx_reply',
      payload: { status: 'error', response: { message: 'No such Hub', reason: 'not_found' } },
      isDroppable: false,
    });
    expect(JSON.parse(reply.bytes(2).toString('utf8'))).toEqual(frames.v2.joinError);
  });

  it('answers a heartbeat with the Phoenix heartbeat reply', () => {
    const [, ref, topic] = frames.v2.heartbeat;
    const reply = OutFrame.reply(null, ref, topic, 'ok', {});
    expect(JSON.parse(reply.bytes(2).toString('utf8'))).toEqual(frames.v2.heartbeatReply);
    expect(JSON.parse(reply.bytes(1).toString('utf8'))).toEqual({
      topic: 'phoenix',
      event: 'phx_reply',
      payload: { status: 'ok', response: {} },
      ref: '3',
      join_ref: null,
    });
  });
});
