import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { slugify } from '../../src/core/slug.js';

describe('slugify (parity 4.9)', () => {
  it.each([
    ['Test Room', 'test-room'],
    ['  Lots   of   space  ', 'lots-of-space'],
    ['Hello, World! (v2.0)', 'hello-world-v2-0'],
    ["Bob's Room -- #1", 'bob-s-room-1'],
    ['Café Déjà Vu', 'cafe-deja-vu'],
    ['Ñandú Piñata', 'nandu-pinata'],
    ['UPPER lower 123', 'upper-lower-123'],
    ['already-a-slug', 'already-a-slug'],
  ])('%j -> %j', (name, slug) => {
    expect(slugify(name)).toBe(slug);
  });

  it.each(['', '   ', '!!!', '---', '日本語'])('falls back to "room" for %j', (name) => {
    expect(slugify(name)).toBe('room');
  });

  it('caps long names at 64 characters', () => {
    expect(slugify('a'.repeat(200))).toBe('a'.repeat(64));
    expect(slugify('word '.repeat(40)).length).toBeLessThanOrEqual(64);
  });

  it('never ends or starts with a dash after capping', () => {
    // 63 letters then a space: the cut lands right after the dash.
    const slug = slugify(`${'a'.repeat(63)} bcd`);
    expect(slug).toBe('a'.repeat(63));
  });

  it('always yields a non-empty, capped, URL-safe slug', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (name) => {
        const slug = slugify(name);
        expect(slug).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
        expect(slug.length).toBeGreaterThan(0);
        expect(slug.length).toBeLessThanOrEqual(64);
      }),
    );
  });

  it('is idempotent', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 100 }), (name) => {
        const slug = slugify(name);
        expect(slugify(slug)).toBe(slug);
      }),
    );
  });
});
