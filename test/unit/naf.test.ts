import { describe, it, expect } from 'vitest';
import { decideNaf, decideNafr, mayInstantiate, type NafDecision } from '../../src/core/naf.js';
import type { Payload } from '../../src/protocol/frames.js';
import naf from '../fixtures/naf-messages.json' with { type: 'json' };
import { permsFor } from '../support/builders.js';

const SPAWN_AND_MOVE_MEDIA = 1 << 0;
const SPAWN_CAMERA = 1 << 1;
const SPAWN_DRAWING = 1 << 2;
const SPAWN_EMOJI = 1 << 4;

const guest = { sessionId: 'sender-sid', permissions: permsFor(192) };
const everything = { sessionId: 'sender-sid', permissions: permsFor(255) };

function firstSync(template: string): Payload {
  return { ...naf.firstSyncMedia, data: { ...naf.firstSyncMedia.data, template } };
}

function expectNaf(decision: NafDecision): { payload: Payload; isDroppable: boolean } {
  if (decision.action !== 'naf') throw new Error(`expected naf, got ${JSON.stringify(decision)}`);
  return decision;
}

describe('mayInstantiate (parity 2.9 clause 1)', () => {
  it.each([
    ['#remote-avatar', 0, true],
    ['#remote-bot-avatar', 0, true],
    ['#interactable-media', 0, false],
    ['#interactable-media', SPAWN_AND_MOVE_MEDIA, true],
    ['#static-controlled-media', SPAWN_AND_MOVE_MEDIA, true],
    ['#interactable-camera', 0, false],
    ['#interactable-camera', SPAWN_CAMERA, true],
    ['#interactable-camera', 255 & ~SPAWN_CAMERA, false],
    ['#interactable-drawing', 0, false],
    ['#interactable-drawing', SPAWN_DRAWING, true],
    ['#interactable-pen', 0, false],
    ['#interactable-pen', SPAWN_DRAWING, true],
    ['#interactable-emoji', 0, false],
    ['#interactable-emoji', SPAWN_EMOJI, true],
    ['#interactable-emoji', 255 & ~SPAWN_EMOJI, false],
    ['#interactable-unknown', 255, false],
    ['#remote-avatar-extra', 255, false],
  ])('%s with member bits %i -> %s', (template, bits, allowed) => {
    expect(mayInstantiate(template, permsFor(bits))).toBe(allowed);
  });
});

describe('decideNaf first syncs (parity 2.9 clause 1)', () => {
  it.each([
    ['#remote-avatar', 0],
    ['#interactable-media', SPAWN_AND_MOVE_MEDIA],
    ['#interactable-camera', SPAWN_CAMERA],
    ['#interactable-drawing', SPAWN_DRAWING],
    ['#interactable-pen', SPAWN_DRAWING],
    ['#interactable-emoji', SPAWN_EMOJI],
  ])('relays %s when the sender has the permission', (template, bits) => {
    const decision = expectNaf(decideNaf(firstSync(template), { sessionId: 's', permissions: permsFor(bits) }));
    expect(decision.isDroppable).toBe(false);
    expect((decision.payload['data'] as Payload)['template']).toBe(template);
  });

  it.each([
    ['#interactable-media', 255 & ~SPAWN_AND_MOVE_MEDIA],
    ['#interactable-camera', 255 & ~SPAWN_CAMERA],
    ['#interactable-drawing', 255 & ~SPAWN_DRAWING],
    ['#interactable-pen', 255 & ~SPAWN_DRAWING],
    ['#interactable-emoji', 255 & ~SPAWN_EMOJI],
    ['#interactable-unknown', 255],
    ['#interactable-media-frame', 255],
  ])('drops %s without the permission', (template, bits) => {
    expect(decideNaf(firstSync(template), { sessionId: 's', permissions: permsFor(bits) })).toEqual({ action: 'drop', reason: 'template_not_permitted' });
  });

  it.each([[''], [42], [null], [{ template: '#x-avatar' }]])('drops an instantiation whose template is %j, as Reticulum would not relay it', (template) => {
    const msg = { dataType: 'u', data: { networkId: 'n', isFirstSync: true, persistent: false, template, owner: 'x', creator: 'x' } };
    expect(decideNaf(msg, { sessionId: 's', permissions: permsFor(255) })).toEqual({ action: 'drop', reason: 'template_not_permitted' });
  });

  it('rewrites owner and creator to the sender and adds from_session_id', () => {
    const decision = expectNaf(decideNaf(naf.firstSyncMedia, everything));
    expect(decision.payload).toEqual({
      dataType: 'u',
      data: { ...naf.firstSyncMedia.data, owner: 'sender-sid', creator: 'sender-sid' },
      from_session_id: 'sender-sid',
    });
  });

  it('keeps other payload fields and does not mutate the input', () => {
    const payload: Payload = { ...structuredClone(naf.firstSyncMedia), clientId: 'target' };
    const snapshot = structuredClone(payload);
    const decision = expectNaf(decideNaf(payload, everything));
    expect(decision.payload['clientId']).toBe('target');
    expect(payload).toEqual(snapshot);
  });

  it('relays a persistent first sync unchanged, whatever the template', () => {
    for (const sender of [guest, everything]) {
      const decision = expectNaf(decideNaf(naf.persistentFirstSync, sender));
      expect(decision).toEqual({ action: 'naf', payload: { ...naf.persistentFirstSync, from_session_id: 'sender-sid' }, isDroppable: false });
    }
  });

  it('treats a first sync without persistent:false as no instantiation, as Reticulum pattern-matches', () => {
    const { persistent: _persistent, ...data } = naf.firstSyncMedia.data;
    const payload = { dataType: 'u', data };
    expect(expectNaf(decideNaf(payload, guest)).payload).toEqual({ ...payload, from_session_id: 'sender-sid' });
  });

  it('treats isFirstSync other than true as an ordinary update', () => {
    const payload = { dataType: 'u', data: { ...naf.firstSyncMedia.data, isFirstSync: 'true' } };
    expect(expectNaf(decideNaf(payload, guest)).payload['data']).toEqual(payload.data);
  });
});

describe('decideNaf um (parity 2.9 clause 2)', () => {
  it('relays a um without first syncs as droppable', () => {
    expect(decideNaf(naf.updateMulti, guest)).toEqual({
      action: 'naf',
      payload: { ...naf.updateMulti, from_session_id: 'sender-sid' },
      isDroppable: true,
    });
  });

  // Elixir truthiness: everything but nil and false, so 0 and "" count too.
  it.each([true, 1, 'yes', {}, [], 0, ''])('drops a um with an entry whose isFirstSync is %j', (isFirstSync) => {
    const d = [naf.updateMulti.data.d[0], { ...naf.updateMulti.data.d[1], isFirstSync }];
    expect(decideNaf({ dataType: 'um', data: { d } }, everything)).toEqual({ action: 'drop', reason: 'um_first_sync' });
  });

  it.each([false, null])('relays a um whose entries have isFirstSync %j', (isFirstSync) => {
    const d = naf.updateMulti.data.d.map((e) => ({ ...e, isFirstSync }));
    const decision = expectNaf(decideNaf({ dataType: 'um', data: { d } }, guest));
    expect(decision.isDroppable).toBe(true);
  });

  it.each([
    ['no data', { dataType: 'um' }],
    ['no d', { dataType: 'um', data: {} }],
    ['d not an array', { dataType: 'um', data: { d: { isFirstSync: true } } }],
    ['non-object entries', { dataType: 'um', data: { d: [null, 1, 'isFirstSync'] } }],
  ])('relays a um with %s as droppable', (_name, payload) => {
    expect(expectNaf(decideNaf(payload, guest)).isDroppable).toBe(true);
  });
});

describe('decideNaf other messages (parity 2.9 clause 3)', () => {
  it.each([
    ['u update', naf.update],
    ['r remove', naf.remove],
    ['a drawing message', { dataType: 'drawing-abc123', data: { points: [1, 2, 3] } }],
    ['a bitECS nn message', { dataType: 'nn', data: { creates: [], updates: [], deletes: [] } }],
    ['a message without data', { dataType: 'u' }],
  ])('relays %s unchanged and not droppable', (_name, payload) => {
    expect(decideNaf(payload, guest)).toEqual({ action: 'naf', payload: { ...payload, from_session_id: 'sender-sid' }, isDroppable: false });
  });

  it('overwrites a from_session_id sent by the client', () => {
    expect(expectNaf(decideNaf({ ...naf.update, from_session_id: 'forged' }, guest)).payload['from_session_id']).toBe('sender-sid');
  });

  it.each([
    ['missing', {}],
    ['a number', { dataType: 1, data: {} }],
    ['null', { dataType: null, data: {} }],
    ['an object', { dataType: {}, data: {} }],
  ])('is invalid when dataType is %s', (_name, payload) => {
    const decision = decideNaf(payload, everything);
    expect(decision.action).toBe('invalid');
  });
});

describe('decideNafr (parity 2.9 nafr)', () => {
  const raw = JSON.stringify(naf.update);

  it('relays a string without isFirstSync unparsed, as {naf, from_session_id}', () => {
    expect(decideNafr({ naf: raw }, guest)).toEqual({ action: 'nafr', payload: { naf: raw, from_session_id: 'sender-sid' } });
  });

  it('does not parse it at all: even invalid JSON is relayed verbatim', () => {
    expect(decideNafr({ naf: '{not json' }, guest)).toEqual({ action: 'nafr', payload: { naf: '{not json', from_session_id: 'sender-sid' } });
  });

  it('drops other payload keys, including a forged from_session_id', () => {
    const payload = { naf: JSON.stringify(naf.remove), extra: 1, from_session_id: 'forged' };
    expect(decideNafr(payload, guest)).toEqual({ action: 'nafr', payload: { naf: payload.naf, from_session_id: 'sender-sid' } });
  });

  it('parses a string with isFirstSync and applies the first-sync rules', () => {
    const text = JSON.stringify(naf.firstSyncMedia);
    expect(decideNafr({ naf: text }, guest)).toEqual({ action: 'drop', reason: 'template_not_permitted' });
    expect(decideNafr({ naf: text }, everything)).toEqual(decideNaf(naf.firstSyncMedia, everything));
    expect(expectNaf(decideNafr({ naf: text }, everything)).payload).toMatchObject({ data: { owner: 'sender-sid', creator: 'sender-sid' } });
  });

  it('drops a um with a first sync sent as nafr', () => {
    const text = JSON.stringify({ dataType: 'um', data: { d: [{ networkId: 'a', isFirstSync: true }] } });
    expect(decideNafr({ naf: text }, everything)).toEqual({ action: 'drop', reason: 'um_first_sync' });
  });

  it('relays a persistent first sync sent as nafr as a naf', () => {
    const decision = expectNaf(decideNafr({ naf: JSON.stringify(naf.persistentFirstSync) }, guest));
    expect(decision.payload).toEqual({ ...naf.persistentFirstSync, from_session_id: 'sender-sid' });
  });

  it('handles the substring anywhere, even in a value', () => {
    const text = JSON.stringify({ dataType: 'u', data: { networkId: 'isFirstSync' } });
    expect(expectNaf(decideNafr({ naf: text }, guest)).payload).toEqual({ dataType: 'u', data: { networkId: 'isFirstSync' }, from_session_id: 'sender-sid' });
  });

  it.each([
    ['invalid JSON', '{"isFirstSync": tru'],
    ['a JSON array', '["isFirstSync"]'],
    ['a JSON string', '"isFirstSync"'],
  ])('is invalid when a string with isFirstSync is %s', (_name, text) => {
    expect(decideNafr({ naf: text }, everything).action).toBe('invalid');
  });

  it('is invalid when the parsed message has no string dataType', () => {
    expect(decideNafr({ naf: '{"data":{"isFirstSync":true}}' }, everything).action).toBe('invalid');
  });

  it.each([
    ['missing', {}],
    ['a number', { naf: 1 }],
    ['an object', { naf: naf.update }],
    ['null', { naf: null }],
  ])('is invalid when naf is %s', (_name, payload) => {
    expect(decideNafr(payload, everything).action).toBe('invalid');
  });
});
