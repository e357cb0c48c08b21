/**
 * The database goes away under a live room: the room keeps relaying, writes
 * fail with persist_failed, joins of rooms not yet loaded say so, /readyz
 * says degraded; when the database returns, everything works again by itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { openPgStore } from '../../src/adapters/pg-store.js';
import { join, joinHub, nextOn, phxSocket, profile } from '../support/clients.js';
import { createHub, startTestNode } from '../support/node.js';
import { findBinary, needsBinary, startPostgres, type RunningPostgres } from '../support/services.js';
import { waitFor } from '../support/wait.js';

const initdb = findBinary('initdb');
const pgCtl = findBinary('pg_ctl');

if (needsBinary(initdb, 'initdb', 'apt-get install postgresql') && needsBinary(pgCtl, 'pg_ctl', 'apt-get install postgresql')) {
  describe('database outage', () => {
    let server: RunningPostgres;
    beforeAll(async () => {
      server = await startPostgres({ initdb, pgCtl });
      const admin = new pg.Client({ connectionString: server.url });
      await admin.connect();
      await admin.query('CREATE DATABASE outage');
      await admin.end();
    }, 60_000);
    afterAll(() => server?.stop());

    it('keeps rooms relaying, refuses writes clearly, and recovers by itself', async () => {
      const store = await openPgStore({ url: server.urlFor('outage'), poolSize: 2 });
      const node = await startTestNode({ adapters: { store } });
      const live = await createHub(node, 'Live');
      const cold = await createHub(node, 'Not yet loaded');
      const a = await joinHub(node, live, 'alice');
      const b = await joinHub(node, live, 'bob');
      expect((await node.app.inject({ url: '/readyz' })).json()).toEqual({ status: 'ready', checks: { store: 'up' } });

      await server.pause();

      const relayed = nextOn(b.channel, 'message');
      a.channel.push('message', { type: 'chat', body: 'still here' });
      expect(await relayed).toMatchObject({ body: 'still here' });

      const create = await node.app.inject({ method: 'POST', url: '/api/v1/hubs', payload: { hub: { name: 'During' } } });
      expect(create.statusCode).toBe(503);
      expect(create.json()).toMatchObject({ code: 'persist_failed' });
      expect((await node.app.inject({ url: '/readyz' })).json()).toEqual({ status: 'degraded', checks: { store: 'down' } });
      const refused = await join(phxSocket(node).channel(`hub:${cold}`, profile('carol'))).catch((e: { response: unknown }) => e.response);
      expect(refused).toMatchObject({ reason: 'store_unavailable' });

      await server.resume();

      // No restart, no reconnect by hand: the pool finds the server again.
      let status = 0;
      const createAfter = async () => {
        status = (await node.app.inject({ method: 'POST', url: '/api/v1/hubs', payload: { hub: { name: 'After' } } })).statusCode;
      };
      await createAfter();
      let inFlight: Promise<void> | undefined;
      await waitFor(() => {
        if (status !== 200 && !inFlight) inFlight = createAfter().finally(() => (inFlight = undefined));
        return status === 200;
      }, 10_000, 'a room created after the database returned');
      expect((await node.app.inject({ url: '/readyz' })).json()).toEqual({ status: 'ready', checks: { store: 'up' } });
      const back = await join(phxSocket(node).channel(`hub:${cold}`, profile('carol')));
      expect(back['session_id']).toBeDefined();
      expect(a.channel.state).toBe('joined');
    });
  });
}
