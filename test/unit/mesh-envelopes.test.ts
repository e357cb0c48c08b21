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
    const { node, envelopes: back, dropped } = decodeEnvelopes(encodeEnvelopes('n1', envelopes.map(({ n: _n, ...env }) => ({ env }))));
    expect(node).toBe('n1');
    expect(dropped).toBe(0);
    // A broadcast's flags come back as booleans, false where the sender left them out.
    expect(back.map(({ pj: _pj, ...env }) => env)).toEqual(envelopes.map((env) => (env.t === 'b' ? { d: false, naf: false, sys: false, ...env } : env)));
  });

  it('give every broadcast the same shape, whatever it carries', () => {
    const { envelopes: back } = decodeEnvelopes(encodeEnvelopes('n1', [envelopes[0]!, envelopes[3]!].map(({ n: _n, ...env }) => ({ env }))));
    expect(back.map((env) => Object.keys(env))).toEqual([
      ['t', 'n', 'q', 'e', 'p', 'f', 'to', 'd', 'naf', 'sys', 'pj'],
      ['t', 'n', 'q', 'e', 'p', 'f', 'to', 'd', 'naf', 'sys', 'pj'],
    ]);
    expect(back[1]).toMatchObject({ f: 's2', to: undefined, d: false, naf: false, sys: false });
  });

  it('send a broadcast payload as the JSON the sender made, and hand it on as text', () => {
    const payload = { dataType: 'u', data: { networkId: 'x' } };
    const json = JSON.stringify(payload);
    const { envelopes: back } = decodeEnvelopes(encodeEnvelopes('n1', [{ env: { t: 'b', q: 1, e: 'naf', p: payload }, payloadJson: json }]));
    expect(back).toHaveLength(1);
    expect(back[0]!.pj).toBe(json);
    expect(back[0]!.t === 'b' && back[0]!.p).toEqual(payload);
  });

  it('leave out malformed envelopes, count them, and keep the rest', () => {
    const good = '{"t":"ask","q":1}\n\n';
    const cases: [string, number][] = [
      [`"n1"\n${good}not json\n\n${good}`, 1],
      [`"n1"\n${good}[2,"naf",null,null,2]\n[1,2]\n`, 1],
      [`"n1"\n${good}[2,"naf",null,null,2]\n{"broken"\n`, 1],
      [`"n1"\n${good}[2,"naf",7,null,2]\n{}\n`, 1],
      [`"n1"\n${good}[2,"naf",null]\n{}\n`, 1],
      [`"n1"\n${good}{"t":"b","q":2,"e":"naf","p":{}}\n\n`, 1],
      [`"n1"\n${good}{"t":"p","q":2,"op":"dance","s":"s","r":"r"}\n\n`, 1],
      [`"n1"\n${good}{"t":"ask","q":2}\nunexpected\n`, 1],
      [`"n1"\n${good}{"t":"ask","q":2}`, 1],
      ['', 0],
    ];
    for (const [input, dropped] of cases) {
      const out = decodeEnvelopes(text.encode(input));
      expect(out.dropped, input).toBe(dropped);
      expect(out.envelopes[0] ?? null, input).toEqual(input === '' ? null : { t: 'ask', n: 'n1', q: 1 });
    }
  });

  it('trust nothing in a message whose first line names no node', () => {
    for (const input of ['{"t":"ask","q":1}\n\n{"t":"ask","q":2}\n\n', '7\n{"t":"ask","q":1}\n\n', '""\n{"t":"ask","q":1}\n\n']) {
      const out = decodeEnvelopes(text.encode(input));
      expect(out.node, input).toBeNull();
      expect(out.envelopes, input).toEqual([]);
      expect(out.dropped, input).toBeGreaterThan(0);
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
