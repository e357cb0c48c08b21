import { describe, it, expect } from 'vitest';
import { decideJoin } from '../../src/core/join.js';
import { guestPermissions } from '../../src/core/permissions.js';
import { ErrorCode } from '../../src/errors.js';
import type { Payload } from '../../src/protocol/frames.js';
import fixtures from '../fixtures/phoenix-frames.json' with { type: 'json' };
import { makeHub } from '../support/builders.js';

/** The payload of the Hubs client's phx_join (parity 2.3). */
const hubsJoinParams = fixtures.v2.hubJoin[4] as Payload;
const goodParams: Payload = { profile: { displayName: 'Fox' }, context: { mobile: false } };

describe('decideJoin (parity 2.4)', () => {
  it('refuses a missing hub with not_found / "No such Hub"', () => {
    const decision = decideJoin({ hub: undefined, sessionId: 'session-1', params: goodParams });
    expect(decision).toEqual({ ok: false, code: 'HUB_NOT_FOUND', message: 'No such Hub' });
    if (!decision.ok) expect(ErrorCode[decision.code].reason).toBe('not_found');
  });

  it('refuses a closed hub (entry_mode deny) with closed / "Hub no longer accessible"', () => {
    const decision = decideJoin({ hub: makeHub({ entryMode: 'deny' }), sessionId: 'session-1', params: goodParams });
    expect(decision).toEqual({ ok: false, code: 'HUB_CLOSED', message: 'Hub no longer accessible' });
    if (!decision.ok) expect(ErrorCode[decision.code].reason).toBe('closed');
  });

  it('refuses an invite-only hub with join_denied to a guest without the active invite', () => {
    const decision = decideJoin({ hub: makeHub({ entryMode: 'invite' }), sessionId: 's', params: goodParams });
    expect(decision).toEqual({ ok: false, code: 'JOIN_DENIED', message: 'Join denied' });
    expect(ErrorCode.JOIN_DENIED.reason).toBe('join_denied');
  });

  it('refuses a join when room_size other sessions are in, with a reason that says full', () => {
    const hub = makeHub({ roomSize: 3 });
    expect(decideJoin({ hub, sessionId: 's', params: goodParams, occupants: 2 }).ok).toBe(true);
    expect(decideJoin({ hub, sessionId: 's', params: goodParams, occupants: 3 })).toEqual({ ok: false, code: 'ROOM_FULL', message: 'Room is full (3 people)' });
    expect(ErrorCode.ROOM_FULL.reason).toMatch(/full/);
  });

  it('checks the hub before the params', () => {
    expect(decideJoin({ hub: undefined, sessionId: 's', params: {} })).toMatchObject({ ok: false, code: 'HUB_NOT_FOUND' });
    expect(decideJoin({ hub: makeHub({ entryMode: 'deny' }), sessionId: 's', params: {} })).toMatchObject({ ok: false, code: 'HUB_CLOSED' });
  });

  it.each([
    ['no params', {}],
    ['no profile', { context: {} }],
    ['no context', { profile: {} }],
    ['a null profile', { profile: null, context: {} }],
    ['an array profile', { profile: [], context: {} }],
    ['a string profile', { profile: 'Fox', context: {} }],
    ['a null context', { profile: {}, context: null }],
    ['an array context', { profile: {}, context: [] }],
    ['a numeric context', { profile: {}, context: 1 }],
  ])('refuses %s with BAD_REQUEST', (_name, params) => {
    const decision = decideJoin({ hub: makeHub(), sessionId: 'session-1', params });
    expect(decision).toMatchObject({ ok: false, code: 'BAD_REQUEST' });
    if (!decision.ok) expect(decision.message).toMatch(/profile.*context/);
  });

  it('admits the Hubs client join as a guest in the lobby', () => {
    const hub = makeHub();
    const decision = decideJoin({ hub, sessionId: 'session-1', params: hubsJoinParams });
    expect(decision).toEqual({
      ok: true,
      member: {
        sessionId: 'session-1',
        presence: 'lobby',
        profile: hubsJoinParams['profile'],
        context: hubsJoinParams['context'],
        principal: null,
        roles: { owner: false, creator: false, signed_in: false },
        permissions: guestPermissions(hub),
        flags: {},
      },
    });
  });

  it('gives the guest the room member bits', () => {
    const decision = decideJoin({ hub: makeHub({ memberPermissions: 255 }), sessionId: 'session-2', params: goodParams });
    expect(decision.ok).toBe(true);
    if (!decision.ok) return;
    expect(decision.member.permissions).toMatchObject({ join_hub: true, spawn_camera: true, fly: true, kick_users: false });
  });
});
