import { describe, it, expect } from 'vitest';
import { decideChat } from '../../src/core/chat.js';
import type { Payload } from '../../src/protocol/frames.js';
import { permsFor } from '../support/builders.js';

const SPAWN_CAMERA = 1 << 1;
const noCamera = { sessionId: 'sender-sid', permissions: permsFor(255 & ~SPAWN_CAMERA) };
const withCamera = { sessionId: 'sender-sid', permissions: permsFor(SPAWN_CAMERA) };
const nothing = { sessionId: 'sender-sid', permissions: permsFor(0) };

describe('decideChat (parity 2.8 message)', () => {
  it('sets session_id to the sender and keeps the rest', () => {
    expect(decideChat({ type: 'chat', body: 'hello' }, noCamera)).toEqual({
      ok: true,
      payload: { type: 'chat', body: 'hello', session_id: 'sender-sid' },
    });
  });

  it('replaces a session_id sent by the client', () => {
    const decision = decideChat({ type: 'chat', body: 'hi', session_id: 'someone-else' }, noCamera);
    expect(decision).toMatchObject({ ok: true, payload: { session_id: 'sender-sid' } });
  });

  it('strips from_session_id', () => {
    const decision = decideChat({ type: 'chat', body: 'hi', from_session_id: 'forged' }, noCamera);
    expect(decision.ok).toBe(true);
    if (decision.ok) expect('from_session_id' in decision.payload).toBe(false);
  });

  it('keeps bridge and permission fields', () => {
    const payload: Payload = { type: 'permission', body: { permission: 'voice_chat', status: false }, from: 'Bridge Bot' };
    expect(decideChat(payload, nothing)).toEqual({ ok: true, payload: { ...payload, session_id: 'sender-sid' } });
  });

  it('enforces text_chat on the server (Reticulum leaves it to the client)', () => {
    expect(decideChat({ type: 'chat', body: 'hi' }, nothing)).toMatchObject({ ok: false, code: 'UNAUTHORIZED' });
    expect(decideChat({ type: 'chat', body: 'hi' }, { sessionId: 's', permissions: permsFor(0x80) }).ok).toBe(true);
  });

  it('does not mutate the input', () => {
    const payload: Payload = { type: 'chat', body: 'hi', from_session_id: 'x', session_id: 'y' };
    decideChat(payload, noCamera);
    expect(payload).toEqual({ type: 'chat', body: 'hi', from_session_id: 'x', session_id: 'y' });
  });

  it.each([
    ['missing', { body: 'hi' }],
    ['empty', { type: '', body: 'hi' }],
    ['a number', { type: 1, body: 'hi' }],
    ['null', { type: null, body: 'hi' }],
    ['an object', { type: {}, body: 'hi' }],
  ])('refuses a type that is %s with BAD_REQUEST', (_name, payload) => {
    expect(decideChat(payload, withCamera)).toMatchObject({ ok: false, code: 'BAD_REQUEST' });
  });

  it.each(['photo', 'video'])('refuses %s without spawn_camera with UNAUTHORIZED', (type) => {
    const decision = decideChat({ type, body: { src: 'https://example.org/x.png' } }, noCamera);
    expect(decision).toMatchObject({ ok: false, code: 'UNAUTHORIZED' });
    if (!decision.ok) expect(decision.message).toMatch(/spawn_camera/);
  });

  it.each(['photo', 'video'])('relays %s with spawn_camera', (type) => {
    expect(decideChat({ type, body: { src: 'https://example.org/x.png' } }, withCamera)).toMatchObject({ ok: true, payload: { type, session_id: 'sender-sid' } });
  });
});
