import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeEnvelopes, encodeEnvelopes, type Envelope } from '../../src/core/mesh.js';

const text = new TextEncoder();

const envelopes: Envelope[] = [
  { t: 'b', n: 'n1', q: 1, e: 'naf', p: { dataType: 'um', data: { d: [{ networkId: 'a\nb', owner: 's1' }] } }, f: 's1', d: true, naf: true },
  { t: 'p', n: 'n1', q: 2, op: 'join', s: 's2', r: 'r2', m: { profile: { displayName: 'Line\nbreak' } } },
  { t: 'blk', n: 'n1', q: 3, s: 's1', o: 's2', on: true },
  { t: 'b', n: 'n1', q: 4, e: 'message', p: { type: 'chat', body: '{"not":"json"}\n' }, f: 's2' },
  { t: 'sync', n: 'n1', q: 5, e: [{ s: 's2', r: 'r2', m: {} }] },
  { t: 'ask', n: 'n1', q: 6 },
];

describe('envelope batches on the bus', () => {
  it('carry every kind of envelope, in order, through encode and decode', () => {
    const { envelopes: back, dropped } = decodeEnvelopes(encodeEnvelopes(envelopes.map((env) => ({ env }))));
    expect(dropped).toBe(0);
    expect(back.map(({ pj: _pj, ...env }) => env)).toEqual(envelopes);
  });

  it('send a broadcast payload as the JSON the sender made, and hand it on as text', () => {
    const payload = { dataType: 'u', data: { networkId: 'x' } };
    const json = JSON.stringify(payload);
    const { envelopes: back } = decodeEnvelopes(encodeEnvelopes([{ env: { t: 'b', n: 'n1', q: 1, e: 'naf', p: payload }, payloadJson: json }]));
    expect(back).toHaveLength(1);
    expect(back[0]!.pj).toBe(json);
    expect(back[0]!.t === 'b' && back[0]!.p).toEqual(payload);
  });

  it('leave out malformed envelopes, count them, and keep the rest', () => {
    const good = '{"t":"ask","n":"n1","q":1}\n\n';
    const cases: [string, number][] = [
      [`${good}not json\n\n${good}`, 1],
      [`${good}{"t":"b","n":"n1","q":2,"e":"naf"}\n[1,2]\n`, 1],
      [`${good}{"t":"b","n":"n1","q":2,"e":"naf"}\n{"broken"\n`, 1],
      [`${good}{"t":"p","n":"n1","q":2,"op":"dance","s":"s","r":"r"}\n\n`, 1],
      [`${good}{"t":"ask","n":"n1","q":2}\nunexpected\n`, 1],
      [`${good}{"t":"ask","n":"n1","q":2}`, 1],
      ['', 0],
    ];
    for (const [input, dropped] of cases) {
      const out = decodeEnvelopes(text.encode(input));
      expect(out.dropped, input).toBe(dropped);
      expect(out.envelopes[0] ?? null, input).toEqual(input === '' ? null : { t: 'ask', n: 'n1', q: 1 });
    }
  });

  it('never throw on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 200 }), fc.string({ maxLength: 200 }).map((s) => text.encode(s))), (bytes) => {
        const { envelopes: back, dropped } = decodeEnvelopes(bytes);
        expect(back.length + dropped).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: 2000, seed: 11 },
    );
  });
});
