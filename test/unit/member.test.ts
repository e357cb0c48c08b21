import { describe, it, expect } from 'vitest';
import { applyMemberEvent, MEMBER_EVENTS, type Member, presenceMeta, PRESENCE_FLAGS } from '../../src/core/member.js';
import type { Payload } from '../../src/protocol/frames.js';
import { makeMember } from '../support/builders.js';

function apply(member: Member, event: string, payload: Payload = {}): Member {
  const result = applyMemberEvent(member, event, payload);
  if (!result.ok) throw new Error(`expected ok, got ${result.message}`);
  return result.member;
}

// Parity 2.8: the presence flag events.
const FLAG_EVENTS = {
  'events:begin_recording': ['recording', true],
  'events:end_recording': ['recording', false],
  'events:raise_hand': ['hand_raised', true],
  'events:lower_hand': ['hand_raised', false],
  'events:begin_streaming': ['streaming', true],
  'events:end_streaming': ['streaming', false],
  'events:begin_typing': ['typing', true],
  'events:end_typing': ['typing', false],
} as const;

describe('MEMBER_EVENTS', () => {
  it('is exactly the events:* that change presence (parity 2.8)', () => {
    expect([...MEMBER_EVENTS].sort()).toEqual(
      ['events:entering', 'events:entering_cancelled', 'events:entered', 'events:profile_updated', ...Object.keys(FLAG_EVENTS)].sort(),
    );
  });

  it('leaves the input member untouched for every event', () => {
    const payloads: Record<string, Payload> = { 'events:profile_updated': { profile: { displayName: 'New' } }, 'events:entered': { entryDisplayType: 'VR' } };
    for (const event of MEMBER_EVENTS) {
      const member = makeMember({ context: { entering: true } });
      const snapshot = structuredClone(member);
      applyMemberEvent(member, event, payloads[event] ?? {});
      expect(member).toEqual(snapshot);
    }
  });
});

describe('applyMemberEvent (parity 2.8)', () => {
  it('events:entering sets context.entering', () => {
    const member = apply(makeMember(), 'events:entering');
    expect(member.context).toEqual({ mobile: false, embed: false, entering: true });
    expect(member.presence).toBe('lobby');
  });

  it('events:entering_cancelled removes context.entering', () => {
    const entering = apply(makeMember(), 'events:entering');
    const cancelled = apply(entering, 'events:entering_cancelled');
    expect(cancelled.context).toEqual({ mobile: false, embed: false });
    expect('entering' in cancelled.context).toBe(false);
    expect(cancelled.presence).toBe('lobby');
  });

  it('events:entering_cancelled without entering is harmless', () => {
    expect(apply(makeMember(), 'events:entering_cancelled').context).toEqual({ mobile: false, embed: false });
  });

  it('events:entered moves to the room and removes entering', () => {
    const member = apply(apply(makeMember(), 'events:entering'), 'events:entered', { entryDisplayType: 'Screen', userAgent: 'x', initialOccupantCount: 0 });
    expect(member.presence).toBe('room');
    expect(member.context).toEqual({ mobile: false, embed: false });
  });

  it.each(['VR', 'Daydream', 'GearVR', 'Cardboard', 'screen', ''])('events:entered with entryDisplayType %j sets context.hmd', (entryDisplayType) => {
    expect(apply(makeMember(), 'events:entered', { entryDisplayType }).context['hmd']).toBe(true);
  });

  it.each([
    ['"Screen"', { entryDisplayType: 'Screen' }],
    ['missing', {}],
    ['null', { entryDisplayType: null }],
    ['a number', { entryDisplayType: 3 }],
    ['true', { entryDisplayType: true }],
  ])('events:entered with entryDisplayType %s does not set context.hmd', (_name, payload) => {
    const member = apply(makeMember(), 'events:entered', payload);
    expect(member.presence).toBe('room');
    expect('hmd' in member.context).toBe(false);
  });

  it('events:profile_updated replaces the profile', () => {
    const member = apply(makeMember(), 'events:profile_updated', { profile: { displayName: 'Renamed', avatarId: 'robot' } });
    expect(member.profile).toEqual({ displayName: 'Renamed', avatarId: 'robot' });
  });

  it.each([
    ['missing', {}],
    ['null', { profile: null }],
    ['an array', { profile: [] }],
    ['a string', { profile: 'Renamed' }],
  ])('events:profile_updated with a profile that is %s is refused', (_name, payload) => {
    const result = applyMemberEvent(makeMember(), 'events:profile_updated', payload);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message).toMatch(/profile/);
  });

  it.each(Object.entries(FLAG_EVENTS))('%s sets %j', (event, [flag, value]) => {
    const member = apply(makeMember(), event);
    expect(member.flags).toEqual({ [flag]: value });
    expect(member.context).toEqual(makeMember().context);
    expect(member.presence).toBe('lobby');
  });

  it('flag events accumulate and toggle', () => {
    let member = apply(makeMember(), 'events:raise_hand');
    member = apply(member, 'events:begin_typing');
    member = apply(member, 'events:lower_hand');
    expect(member.flags).toEqual({ hand_raised: false, typing: true });
  });

  it('throws a TypeError for an event it does not handle', () => {
    expect(() => applyMemberEvent(makeMember(), 'events:object_spawned', {})).toThrow(TypeError);
    expect(() => applyMemberEvent(makeMember(), 'naf', {})).toThrow(TypeError);
  });
});

describe('presenceMeta (parity 2.7)', () => {
  it('has presence, profile, context, roles and permissions, and no flags before any is set', () => {
    const member = makeMember();
    const meta = presenceMeta(member);
    expect(meta).toEqual({
      presence: 'lobby',
      profile: member.profile,
      context: member.context,
      roles: { owner: false, creator: false, signed_in: false },
      permissions: member.permissions,
    });
    for (const flag of PRESENCE_FLAGS) expect(flag in meta).toBe(false);
  });

  it('includes a flag once it has been set, even back to false', () => {
    const raised = apply(makeMember(), 'events:raise_hand');
    expect(presenceMeta(raised)['hand_raised']).toBe(true);
    const lowered = apply(raised, 'events:lower_hand');
    expect(presenceMeta(lowered)['hand_raised']).toBe(false);
    expect('typing' in presenceMeta(lowered)).toBe(false);
  });

  it('reflects entering and entered', () => {
    const entered = apply(apply(makeMember(), 'events:entering'), 'events:entered', { entryDisplayType: 'VR' });
    expect(presenceMeta(entered)).toMatchObject({ presence: 'room', context: { mobile: false, embed: false, hmd: true } });
  });
});
