/**
 * `hubmesh serve --role`: a relay without an SFU, and an SFU process alone
 * (role sfu) beside it on one bus, as a cluster runs them. The SFU verifies
 * the relay's perms tokens (same key), is announced to the relay's
 * directory, and hears the relay's kicks over the bus.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import { MemoryBusNetwork } from '../../src/adapters/memory-bus.js';
import { MemoryLeaseBoard } from '../../src/adapters/memory-leases.js';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import { SystemClock } from '../../src/adapters/system-clock.js';
import { loadConfig } from '../../src/config.js';
import { startSfuNode } from '../../src/main.js';
import { FakeMedia } from '../../sfu/fake-media.js';
import { accountMaker, api, createHubAs } from '../support/accounts.js';
import { joinHub, wsBase } from '../support/clients.js';
import { startTestNode } from '../support/node.js';
import { SfuClient, upgradeStatus } from '../support/sfu-client.js';
import { waitFor } from '../support/wait.js';

describe('roles', () => {
  it('runs the SFU alone (role sfu) beside a relay without one (role relay), on one bus', async () => {
    const network = new MemoryBusNetwork();
    const store = new MemoryStore();
    const announce = { HUBMESH_SFU_ANNOUNCE_MS: '100' };
    const leases = new MemoryLeaseBoard(new SystemClock(), 3000).leases();
    const relay = await startTestNode({ env: { HUBMESH_ROLE: 'relay', ...announce }, adapters: { store, bus: network.connect(), leases } });
    expect(relay.sfu).toBeUndefined();
    const creator = await (await accountMaker(relay, store))();
    const { sid } = await createHubAs(relay, creator.token);
    expect(await upgradeStatus(`${wsBase(relay)}/sfu?roomId=${sid}&peerId=p`)).toBe(404);

    // Same data dir: the same perms key as the relay, as a cluster shares it.
    const config = loadConfig({ HUBMESH_HOST: '127.0.0.1', HUBMESH_ROLE: 'sfu', HUBMESH_SFU_PORT: '0', HUBMESH_DATA_DIR: relay.dataDir, HUBMESH_LOG_LEVEL: 'silent', ...announce });
    const sfuNode = await startSfuNode(config, { bus: network.connect(), media: new FakeMedia() });
    onTestFinished(() => sfuNode.close());
    const port = Number(new URL(sfuNode.url).port);
    await waitFor(() => relay.sfus!.sfus.some((a) => a.host === '127.0.0.1' && a.port === port && a.accepting), 5000, 'the relay to hear the sfu');
    expect((await fetch(`${sfuNode.url.replace(/^ws/, 'http')}/healthz`)).status).toBe(200);

    // Any path will do; the token is the relay's.
    const { permsToken, sessionId } = await joinHub(relay, sid, 'alice');
    const client = await SfuClient.connect(sfuNode, sid, sessionId, '/any/path');
    expect((await client.join(permsToken)).ok).toBe(true);
    expect(sfuNode.sfu.load()).toMatchObject({ peers: 1, rooms: 1 });

    // A kick decided on the relay reaches the SFU over the bus.
    expect(await api(relay, 'POST', `/api/v1/hubs/${sid}/kick`, { token: creator.token, body: { session_id: sessionId } })).toMatchObject({ status: 200 });
    await client.waitClosed();

    // Closing, it tells the relay it takes no more rooms.
    await sfuNode.close();
    await waitFor(() => relay.sfus!.sfus.every((a) => a.port !== port || !a.accepting), 5000, 'the last announcement');
  });
});
