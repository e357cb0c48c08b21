/**
 * A cluster as operators run it: three `hubmesh serve` processes on one
 * nats-server and one PostgreSQL, started by the test, with the official
 * phoenix.js client spread over them. Nodes die by SIGKILL here.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { join, joinMember as member, nextOn, phxSocket, profile, RawClient } from '../support/clients.js';
import { createHub } from '../support/node.js';
import { startServe, type ServeProcess } from '../support/processes.js';
import { findBinary, needsBinary, startNatsServer, startPostgres, type RunningNats, type RunningPostgres } from '../support/services.js';
import { eventually, waitFor } from '../support/wait.js';

const natsServer = findBinary('nats-server');
const initdb = findBinary('initdb');
const pgCtl = findBinary('pg_ctl');
const NODE_DOWN_MS = 1000;

if (
  needsBinary(natsServer, 'nats-server', 'apt-get install nats-server') &&
  needsBinary(initdb, 'initdb', 'apt-get install postgresql') &&
  needsBinary(pgCtl, 'pg_ctl', 'apt-get install postgresql')
) {
  describe('a cluster of hubmesh processes', () => {
    let nats: RunningNats;
    let postgres: RunningPostgres;
    let databases = 0;

    beforeAll(async () => {
      [nats, postgres] = await Promise.all([startNatsServer(natsServer), startPostgres({ initdb, pgCtl })]);
    }, 60_000);
    afterAll(async () => {
      await nats?.stop();
      await postgres?.stop();
    });

    /** Starts `n` nodes sharing a fresh database; each is killed when the test ends. */
    async function cluster(n: number): Promise<ServeProcess[]> {
      const database = `cluster_${process.pid}_${databases++}`;
      const admin = new pg.Client({ connectionString: postgres.url });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${database}`);
      await admin.end();
      const start = async (i: number): Promise<ServeProcess> => {
        const dataDir = await mkdtemp(joinPath(tmpdir(), 'hubmesh-node-'));
        const node = await startServe({
          NATS_URL: nats.url,
          DATABASE_URL: postgres.urlFor(database),
          HUBMESH_DATA_DIR: dataDir,
          HUBMESH_LOG_LEVEL: 'warn',
          HUBMESH_NODE_DOWN_MS: String(NODE_DOWN_MS),
          HUBMESH_LEASE_TTL_MS: '1500',
          HUBMESH_CREATE_HUB_PER_SEC: '1000',
          // Only the first node migrates; the others find the schema in place.
          HUBMESH_AUTO_MIGRATE: i === 0 ? 'true' : 'false',
        });
        onTestFinished(async () => {
          if (node.child.exitCode === null && node.child.signalCode === null) node.child.kill('SIGKILL');
          await node.exited;
          await rm(dataDir, { recursive: true, force: true });
        });
        return node;
      };
      const first = await start(0);
      return [first, ...(await Promise.all(Array.from({ length: n - 1 }, (_, i) => start(i + 1))))];
    }

    it('shares presence and relays in each sender\'s order across processes', async () => {
      const nodes = await cluster(3);
      const sid = await createHub(nodes[0]!, 'Processes');
      const people = await Promise.all(nodes.map((node, i) => member(node, sid, `p${i}`)));
      await waitFor(() => people.every((p) => p.presence.list().length === 3), 10_000, 'everyone everywhere');
      const got: number[] = [];
      people[2]!.channel.on('nafr', (p: { naf: string }) => {
        got.push((JSON.parse(p.naf) as { data: { i: number } }).data.i);
      });
      for (let i = 0; i < 100; i++) people[0]!.channel.push('nafr', { naf: JSON.stringify({ dataType: 'drawing-x', data: { i } }) });
      await waitFor(() => got.length === 100, 10_000, 'all 100');
      expect(got).toEqual(Array.from({ length: 100 }, (_, i) => i));
    });

    it('admits exactly 24 of 30 simultaneous joins over three nodes', async () => {
      const nodes = await cluster(3);
      const sid = await createHub(nodes[0]!, 'Full', { room_size: 24 });
      const clients = await Promise.all(Array.from({ length: 30 }, (_, i) => RawClient.open(nodes[i % 3]!)));
      clients.forEach((c, i) => c.send(['1', '1', `hub:${sid}`, 'phx_join', profile(`p${i}`)]));
      const replies = await Promise.all(clients.map((c) => c.reply('1', 15_000)));
      const refused = replies.filter((r) => r[4]['status'] === 'error');
      expect(replies.length - refused.length).toBe(24);
      expect(refused).toHaveLength(6);
      for (const r of refused) expect(r[4]['response']).toMatchObject({ reason: 'room_full', message: expect.stringMatching(/full/) });
    });

    it('lets a SIGKILLed node\'s members go within HUBMESH_NODE_DOWN_MS, and moves the room when the home dies', async () => {
      const nodes = await cluster(3);
      const sid = await createHub(nodes[0]!, 'Killed', { room_size: 3 });
      // The first join makes node 0 the room's home.
      const home = await member(nodes[0]!, sid, 'home');
      const b = await member(nodes[1]!, sid, 'bob');
      const c = await member(nodes[2]!, sid, 'carol');
      await waitFor(() => [home, b, c].every((p) => p.presence.list().length === 3), 10_000, 'everyone everywhere');

      const killedAt = Date.now();
      nodes[2]!.child.kill('SIGKILL');
      await waitFor(() => b.presence.list().length === 2, NODE_DOWN_MS * 5, 'carol gone at bob');
      expect(Date.now() - killedAt).toBeLessThan(NODE_DOWN_MS * 4);

      nodes[0]!.child.kill('SIGKILL');
      await waitFor(() => b.presence.list().length === 1, NODE_DOWN_MS * 5, 'the home gone at bob');
      // Node 1 takes the room over once the lease runs out, and still holds room_size.
      const d = await member(nodes[1]!, sid, 'dave');
      const e = await member(nodes[1]!, sid, 'erin');
      await waitFor(() => e.presence.list().length === 3, 5000, 'three again');
      const refused = await join(phxSocket(nodes[1]!).channel(`hub:${sid}`, profile('frank'))).catch((x: { response: unknown }) => x.response);
      expect(refused).toMatchObject({ reason: 'room_full' });
      const chat = nextOn(d.channel, 'message');
      b.channel.push('message', { type: 'chat', body: 'still here' });
      expect(await chat).toMatchObject({ body: 'still here' });
    });

    it('has presence right again after a nats-server restart', async () => {
      const nodes = await cluster(2);
      const sid = await createHub(nodes[0]!, 'Restart');
      const a = await member(nodes[0]!, sid, 'alice');
      const b = await member(nodes[1]!, sid, 'bob');
      await waitFor(() => a.presence.list().length === 2 && b.presence.list().length === 2, 10_000, 'both');
      await nats.restart();
      // Both nodes back on the bus (what is published while it is away is lost, by design).
      for (const node of nodes) await eventually(async () => ((await (await fetch(`${node.url}/readyz`)).json()) as { status: string }).status, (s) => s === 'ready', 15_000, 'ready again');
      await waitFor(() => a.presence.list().length === 2 && b.presence.list().length === 2, 15_000, 'both after the restart');
      const chat = nextOn(b.channel, 'message', 10_000);
      a.channel.push('message', { type: 'chat', body: 'after restart' });
      expect(await chat).toMatchObject({ body: 'after restart' });
    });
  });
}
