import { createHash } from 'node:crypto';
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { hubPath, hubView, janusRoomId } from '../../src/core/hub.js';
import { memberPermissionsToObject } from '../../src/core/permissions.js';
import { makeHub } from '../support/builders.js';

/** The first 53 bits of sha256(sid), read as one 256-bit big-endian integer (RET hub.ex janus_room_id_for_hub). */
function first53Bits(sid: string): number {
  const hex = createHash('sha256').update(sid, 'utf8').digest('hex');
  return Number(BigInt(`0x${hex}`) >> BigInt(256 - 53));
}

describe('janusRoomId (parity 2.5)', () => {
  it('is the first 53 bits of sha256(hub_sid)', () => {
    for (const sid of ['AbCdEfG', 'zzzzzzz', '2345678', 'hPq9xWz']) {
      expect(janusRoomId(sid)).toBe(first53Bits(sid));
    }
  });

  it('matches for any string and is a safe integer', () => {
    fc.assert(
      fc.property(fc.string(), (sid) => {
        const id = janusRoomId(sid);
        expect(id).toBe(first53Bits(sid));
        expect(Number.isSafeInteger(id)).toBe(true);
        expect(id).toBeGreaterThanOrEqual(0);
        expect(id).toBeLessThan(2 ** 53);
      }),
    );
  });
});

describe('hubPath', () => {
  it('is /<sid>/<slug>', () => {
    expect(hubPath({ hubSid: 'AbCdEfG', slug: 'test-room' })).toBe('/AbCdEfG/test-room');
  });
});

// Parity 2.5, RET hub_view.ex (plus `url`).
const VIEW_KEYS = [
  'hub_id',
  'name',
  'description',
  'user_data',
  'slug',
  'url',
  'allow_promotion',
  'entry_code',
  'entry_mode',
  'host',
  'port',
  'turn',
  'scene',
  'topics',
  'embed_token',
  'member_permissions',
  'room_size',
  'member_count',
  'lobby_count',
];

describe('hubView (parity 2.5)', () => {
  const hub = makeHub({ description: 'A room', userData: { hubs_use_bitecs_based_client: false }, roomSize: 30, memberPermissions: 0b1100_0101, allowPromotion: true });
  const counts = { memberCount: 3, lobbyCount: 2 };

  it('has exactly the Reticulum keys', () => {
    expect(Object.keys(hubView(hub, counts, { baseUrl: 'https://example.org' })).sort()).toEqual([...VIEW_KEYS].sort());
  });

  it('fills every field', () => {
    expect(hubView(hub, counts, { baseUrl: 'https://example.org' })).toEqual({
      hub_id: 'AbCdEfG',
      name: 'Test Room',
      description: 'A room',
      user_data: { hubs_use_bitecs_based_client: false },
      slug: 'test-room',
      url: 'https://example.org/AbCdEfG/test-room',
      allow_promotion: true,
      entry_code: 0,
      entry_mode: 'allow',
      host: null,
      port: null,
      turn: { enabled: false },
      scene: null,
      topics: [{ topic_id: 'AbCdEfG/test-room', janus_room_id: first53Bits('AbCdEfG'), assets: [] }],
      embed_token: null,
      member_permissions: memberPermissionsToObject(0b1100_0101),
      room_size: 30,
      member_count: 3,
      lobby_count: 2,
    });
  });

  it('has entry_code 0 whatever the room', () => {
    expect(hubView(makeHub({ entryMode: 'deny' }), counts, { baseUrl: '' })['entry_code']).toBe(0);
  });

  it('shows the embed token only to callers that can embed', () => {
    expect(hubView(hub, counts, { baseUrl: '' })['embed_token']).toBeNull();
    expect(hubView(hub, counts, { baseUrl: '', canEmbed: false })['embed_token']).toBeNull();
    expect(hubView(hub, counts, { baseUrl: '', canEmbed: true })['embed_token']).toBe(hub.embedToken);
  });

  it('shows member_permissions as an object of 8 booleans', () => {
    const perms = hubView(makeHub({ memberPermissions: 192 }), counts, { baseUrl: '' })['member_permissions'];
    expect(perms).toEqual(memberPermissionsToObject(192));
    expect(Object.values(perms as Record<string, unknown>).every((v) => typeof v === 'boolean')).toBe(true);
  });

  it('is plain JSON', () => {
    const view = hubView(hub, counts, { baseUrl: 'https://example.org' });
    expect(JSON.parse(JSON.stringify(view))).toEqual(view);
  });
});
