import { randomBytes } from 'node:crypto';
import { describe, it, expect } from 'vitest';
import { isSid, SID_LENGTH, sidFromBytes } from '../../src/core/sids.js';

const LOOKALIKES = ['1', 'I', 'l', 'O', '0', '_', '-'];

describe('sidFromBytes (parity 4.9)', () => {
  it('gives 7 characters with no look-alikes, and isSid accepts each, over 2000 random inputs', () => {
    expect(SID_LENGTH).toBe(7);
    for (let i = 0; i < 2000; i++) {
      const sid = sidFromBytes(randomBytes(32));
      expect(sid).not.toBeNull();
      expect(sid).toHaveLength(7);
      for (const c of LOOKALIKES) expect(sid).not.toContain(c);
      expect(isSid(sid!)).toBe(true);
    }
  });

  it('is deterministic for the same bytes', () => {
    const bytes = randomBytes(32);
    expect(sidFromBytes(bytes)).toBe(sidFromBytes(Buffer.from(bytes)));
    expect(sidFromBytes(new Uint8Array(bytes))).toBe(sidFromBytes(bytes));
  });

  it('is the base64url text with look-alikes removed, cut to 7', () => {
    // base64url of these bytes is "AAECAwQFBgcICQoL": dropping nothing but 0/1/I/l/O/_/-.
    const bytes = Uint8Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    const expected = Buffer.from(bytes).toString('base64url').replace(/[1IlO0_-]/g, '').slice(0, 7);
    expect(sidFromBytes(bytes)).toBe(expected);
    expect(sidFromBytes(bytes)).toBe('AAECAwQ');
  });

  it('returns null when fewer than 7 characters survive', () => {
    // 0xff bytes encode to "_" runs, which are all stripped.
    expect(sidFromBytes(new Uint8Array(32).fill(0xff))).toBeNull();
    expect(sidFromBytes(new Uint8Array(0))).toBeNull();
  });
});

describe('isSid', () => {
  it('accepts a well-formed sid', () => {
    expect(isSid('AbCdEfG')).toBe(true);
    expect(isSid('zzzzzzz')).toBe(true);
    expect(isSid('2345678')).toBe(true);
  });

  it.each(['', 'AbCdEf', 'AbCdEfGh', 'AbCdEfG '])('rejects the wrong length %j', (value) => {
    expect(isSid(value)).toBe(false);
  });

  it.each(LOOKALIKES)('rejects a sid containing %j', (c) => {
    expect(isSid(`AbCdEf${c}`)).toBe(false);
    expect(isSid(`${c}bCdEfG`)).toBe(false);
  });

  it.each(['AbCd/fG', 'AbCd+fG', 'AbCdéfG', 'AbCd fG', 'AbCd=fG'])('rejects other characters: %j', (value) => {
    expect(isSid(value)).toBe(false);
  });
});
