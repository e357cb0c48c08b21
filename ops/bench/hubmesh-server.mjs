// The hubmesh side of `npm run bench`: one node, or two nodes in this one
// process on a real nats-server (so the server CPU read from the OS is both
// nodes'), rooms in memory. Prints `LISTEN <url>[,<url>]` when ready and shuts
// down in order on SIGTERM.
//
//   node ops/bench/hubmesh-server.mjs [--nats nats://127.0.0.1:PORT --nodes 2] [--flush-max MS]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { MemoryStore } from '../../dist/src/adapters/memory-store.js';
import { NatsBus } from '../../dist/src/adapters/nats-bus.js';
import { loadConfig } from '../../dist/src/config.js';
import { startNode } from '../../dist/src/main.js';

const { values } = parseArgs({ options: { nodes: { type: 'string', default: '1' }, nats: { type: 'string' }, 'flush-max': { type: 'string' } } });
const count = Number(values.nodes);
if (count > 1 && !values.nats) throw new Error('--nodes 2 needs --nats');
const store = new MemoryStore();
const dirs = [];
const nodes = [];
for (let i = 0; i < count; i++) {
  const dir = await mkdtemp(join(tmpdir(), 'hubmesh-bench-'));
  dirs.push(dir);
  const config = loadConfig({ HUBMESH_PORT: '0', HUBMESH_DATA_DIR: dir, HUBMESH_DRAIN_GRACE_MS: '0', HUBMESH_LOG_LEVEL: 'warn',
    // The load generator creates every room from one address at once.
    HUBMESH_CREATE_HUB_PER_SEC: '1000',
    HUBMESH_HTTP_RATE_PER_MIN: '100000',
    // Every bench socket comes from 127.0.0.1 (idle-join opens 20,000).
    HUBMESH_MAX_CONNECTIONS_PER_IP: '1000000',
    // The big-room scenario (--rooms 1 --clients 200) needs rooms past the default cap of 50.
    HUBMESH_MAX_ROOM_SIZE: '1000',
    // The operator's trade of latency for CPU (default 20 ms).
    ...(values['flush-max'] ? { HUBMESH_FLUSH_MAX_MS: values['flush-max'] } : {}),
  });
  const bus = values.nats ? await NatsBus.connect({ servers: values.nats }) : undefined;
  nodes.push(await startNode(config, { store, bus, logger: pino({ level: 'warn' }) }));
}
process.stdout.write(`LISTEN ${nodes.map((n) => n.url).join(',')}\n`);
process.once('SIGTERM', async () => {
  for (const node of nodes) await node.close();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  process.exit(0);
});
