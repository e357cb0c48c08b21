import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  guestPermissions,
  HUB_PERMISSION_NAMES,
  MEMBER_PERMISSION_BITS,
  memberPermissionsToBits,
  memberPermissionsToObject,
  PERMISSIVE_MEMBER_PERMISSIONS,
  RESTRICTIVE_MEMBER_PERMISSIONS,
} from '../../src/core/permissions.js';

// Parity 4.3, RET hub.ex @member_permissions.
const BIT_LAYOUT = ['spawn_and_move_media', 'spawn_camera', 'spawn_drawing', 'pin_objects', 'spawn_emoji', 'fly', 'voice_chat', 'text_chat'];

// Parity 4.2: the 17 hub permissions.
const HUB_PERMISSIONS = [
  'join_hub',
  'update_hub',
  'update_hub_promotion',
  'update_roles',
  'close_hub',
  'embed_hub',
  'kick_users',
  'mute_users',
  'amplify_audio',
  ...BIT_LAYOUT,
];

describe('member-permission bitfield (parity 4.3)', () => {
  it('has Reticulum bit order', () => {
    expect([...MEMBER_PERMISSION_BITS]).toEqual(BIT_LAYOUT);
  });

  it.each(BIT_LAYOUT.map((name, bit) => [bit, name] as const))('bit %i alone is %s', (bit, name) => {
    const perms = memberPermissionsToObject(1 << bit);
    expect(Object.entries(perms).filter(([, v]) => v).map(([k]) => k)).toEqual([name]);
    expect(memberPermissionsToBits({ [name]: true })).toBe(1 << bit);
  });

  it('192 is the restrictive default: only voice_chat and text_chat', () => {
    expect(RESTRICTIVE_MEMBER_PERMISSIONS).toBe(192);
    expect(memberPermissionsToObject(192)).toEqual({
      spawn_and_move_media: false,
      spawn_camera: false,
      spawn_drawing: false,
      pin_objects: false,
      spawn_emoji: false,
      fly: false,
      voice_chat: true,
      text_chat: true,
    });
  });

  it('255 is the permissive default: everything', () => {
    expect(PERMISSIVE_MEMBER_PERMISSIONS).toBe(255);
    const perms = memberPermissionsToObject(255);
    expect(Object.keys(perms).sort()).toEqual([...BIT_LAYOUT].sort());
    expect(Object.values(perms).every((v) => v)).toBe(true);
  });

  it('0 is nothing', () => {
    expect(Object.values(memberPermissionsToObject(0)).some((v) => v)).toBe(false);
  });

  it('ignores bits above bit 7', () => {
    expect(memberPermissionsToObject(256)).toEqual(memberPermissionsToObject(0));
    expect(memberPermissionsToObject(256 | 192)).toEqual(memberPermissionsToObject(192));
  });

  it('round-trips bits -> object -> bits', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), (bits) => {
        expect(memberPermissionsToBits(memberPermissionsToObject(bits))).toBe(bits);
      }),
    );
  });

  it('round-trips object -> bits -> object', () => {
    const perms = fc.record(Object.fromEntries(BIT_LAYOUT.map((k) => [k, fc.boolean()])) as Record<string, fc.Arbitrary<boolean>>);
    fc.assert(
      fc.property(perms, (obj) => {
        expect(memberPermissionsToObject(memberPermissionsToBits(obj))).toEqual(obj);
      }),
    );
  });

  it('treats missing keys as false and ignores unknown keys (update_hub replaces the whole map)', () => {
    expect(memberPermissionsToBits({})).toBe(0);
    expect(memberPermissionsToBits({ fly: true, not_a_permission: true })).toBe(1 << 5);
    expect(memberPermissionsToBits({ fly: false, text_chat: true })).toBe(1 << 7);
  });
});

describe('guestPermissions (parity 4.2)', () => {
  it('has exactly the 17 Reticulum names', () => {
    expect([...HUB_PERMISSION_NAMES].sort()).toEqual([...HUB_PERMISSIONS].sort());
    const perms = guestPermissions({ memberPermissions: 192, entryMode: 'allow' });
    expect(Object.keys(perms)).toHaveLength(17);
    expect(Object.keys(perms).sort()).toEqual([...HUB_PERMISSIONS].sort());
  });

  it.each([
    ['allow', true],
    ['invite', true],
    ['deny', false],
  ] as const)('join_hub in a room with entry mode %s is %s', (entryMode, joinHub) => {
    expect(guestPermissions({ memberPermissions: 192, entryMode }).join_hub).toBe(joinHub);
  });

  it('gives a guest no moderation powers, even in a permissive room', () => {
    const perms = guestPermissions({ memberPermissions: 255, entryMode: 'allow' });
    for (const name of ['update_hub', 'update_hub_promotion', 'update_roles', 'close_hub', 'embed_hub', 'kick_users', 'mute_users', 'amplify_audio'] as const) {
      expect(perms[name]).toBe(false);
    }
  });

  it('mirrors the room member bits', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), (bits) => {
        const perms = guestPermissions({ memberPermissions: bits, entryMode: 'allow' });
        expect(memberPermissionsToBits(perms)).toBe(bits);
        expect(perms).toMatchObject(memberPermissionsToObject(bits));
      }),
    );
  });
});
