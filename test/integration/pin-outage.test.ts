/**
 * Pinning while PostgreSQL is away, under a live room of two signed-in
 * members: relaying goes on, a pin is refused with persist_failed and is not
 * broadcast, /readyz says degraded; once the server is back, pinning works
 * again by itself and the other member hears of it.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPgStore } from '../../src/adapters/pg-store.js';
import { joinRecording, uploadFile } from '../support/accounts-persist.js';
import { accountMaker } from '../support/accounts.js';
import { nextOn, pushReply, type PushOutcome } from '../support/clients.js';
import { createHub, startTestNode } from '../support/node.js';
import { findBinary, needsBinary, startPostgres, type RunningPostgres } from '../support/services.js';
import { eventually, waitFor } from '../support/wait.js';

const initdb = findBinary('initdb');
const pgCtl = findBinary('pg_ctl');

if (needsBinary(initdb, 'initdb', 'apt-get install postgresql') && needsBinary(pgCtl, 'pg_ctl', 'apt-get install postgresql')) {
  describe('pinning during a database outage', () => {
    let server: RunningPostgres;
    beforeAll(async () => {
      server = await startPostgres({ initdb, pgCtl });
      const admin = new pg.Client({ connectionString: server.url });
      await admin.connect();
      await admin.query('CREATE DATABASE pin_outage');
      await admin.end();
    }, 60_000);
    afterAll(() => server?.stop());

    it('relays on, refuses pins with persist_failed without broadcasting them, and pins again once the database is back', async () => {
      const store = await openPgStore({ url: server.urlFor('pin_outage'), poolSize: 2 });
      const node = await startTestNode({ adapters: { store } });
      const makeAccount = await accountMaker(node, store);
      const sid = await createHub(node, 'Outage');
      const alice = await makeAccount({ isAdmin: true, email: 'alice@example.org' });
      const bob = await makeAccount({ email: 'bob@example.org' });
      const a = await joinRecording(node, sid, 'alice', { account: alice, events: ['pin'] });
      const b = await joinRecording(node, sid, 'bob', { events: ['pin', 'naf'] });
      expect(await pushReply(b.channel, 'sign_in', { token: bob.token })).toMatchObject({ status: 'ok', response: { perms_token: expect.any(String) } });
      const up = await uploadFile(node, Buffer.from('a picture of a cat, in words'), { promotion_mode: 'with_token' });
      const gltfNode = { name: 'media-1', extensions: { HUBS_components: { media: { src: up.origin, version: 1, id: 'media-1' }, pinnable: { pinned: true } } } };
      const pin = { id: 'media-1', gltf_node: gltfNode, file_id: up.file_id, file_access_token: up.meta.access_token, promotion_token: up.meta.promotion_token };
      const { file_id: _f, file_access_token: _t, promotion_token: _p, ...pinWithoutFile } = pin;

      await server.pause();

      a.channel.push('naf', {
        dataType: 'u',
        data: { networkId: 'media-1', owner: a.sessionId, creator: a.sessionId, lastOwnerTime: 100, template: '#interactable-media', persistent: true, parent: null, components: { 1: up.origin }, isFirstSync: true },
      });
      await waitFor(() => b.got.some((g) => g.event === 'naf'), 5000, 'the naf at bob');
      expect(b.got[0]!.payload).toMatchObject({ dataType: 'u', from_session_id: a.sessionId, data: { networkId: 'media-1' } });
      const chat = nextOn(b.channel, 'message');
      a.channel.push('message', { type: 'chat', body: 'still here' });
      expect(await chat).toMatchObject({ body: 'still here' });

      expect(await pushReply(a.channel, 'pin', pinWithoutFile)).toMatchObject({ status: 'error', response: { reason: 'persist_failed' } });
      // Promoting the upload reads its record first: that failing is the pin failing too.
      expect(await pushReply(a.channel, 'pin', pin)).toMatchObject({ status: 'error', response: { reason: 'persist_failed' } });
      // A chat sent after the refusals reaches bob after any pin broadcast would have.
      const after = nextOn(b.channel, 'message');
      a.channel.push('message', { type: 'chat', body: 'did that pin?' });
      await after;
      expect(b.got.filter((g) => g.event === 'pin')).toEqual([]);
      expect(a.got).toEqual([]);
      expect((await node.app.inject({ url: '/readyz' })).json()).toEqual({ status: 'degraded', checks: { store: 'down' } });

      await server.resume();

      // The pool finds the server again by itself; each refused attempt is answered, none hangs.
      const answered = await eventually<PushOutcome>(() => pushReply(a.channel, 'pin', pin), (r) => r.status === 'ok', 20_000, 'a pin accepted after the database returned');
      expect(answered).toEqual({ status: 'ok', response: {} });
      await waitFor(() => b.got.some((g) => g.event === 'pin'), 5000, 'the pin at bob');
      expect(b.got.filter((g) => g.event === 'pin').map((g) => g.payload)).toEqual([{ object_id: 'media-1', gltf_node: gltfNode, pinned_by: a.sessionId }]);
      expect((await node.app.inject({ url: '/readyz' })).json()).toEqual({ status: 'ready', checks: { store: 'up' } });
      expect((await node.app.inject({ url: `/${sid}/objects.gltf` })).json()).toMatchObject({ nodes: [gltfNode] });
      expect(await store.getFile(up.file_id)).toMatchObject({ state: 'active' });
      expect(a.channel.state).toBe('joined');
      expect(b.channel.state).toBe('joined');
    });
  });
}
