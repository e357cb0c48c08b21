// `npm run bench`: RB-24@20 (shared/reference/performance.md) against hubmesh
// and against a bare `ws` relay, in the same run, each server in its own
// process and the load generator in another. Prints deliveries per
// server-CPU-second, latency, delivery ratio and the ratio hubmesh/baseline;
// `--json` prints the same as one JSON object. Every process it starts is
// stopped by pid, and every run is bounded in time.
//
//   npm run bench -- [--rooms 8] [--clients 24] [--rate 20] [--payload 200]
//                    [--duration 10] [--nodes 1|2] [--json] [--profile DIR] [--floor MS] [--flush-max MS]
//
// With --nodes 2 the same run also measures hubmesh on one node, and prints
// the cross-node figure as a ratio to it.
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { parseArgs } from 'node:util';
import { here, launch, runBounded, startHubmeshServer, startListening, stop } from './lib.mjs';

const { values: o } = parseArgs({
  options: {
    rooms: { type: 'string', default: '8' },
    clients: { type: 'string', default: '24' },
    rate: { type: 'string', default: '20' },
    payload: { type: 'string', default: '200' },
    duration: { type: 'string', default: '10' },
    nodes: { type: 'string', default: '1' },
    json: { type: 'boolean', default: false },
    // Also measure the floor of batched relaying (baseline-relay.mjs --batch-ms N): frames once, one write per socket every N ms, nothing else.
    floor: { type: 'string' },
    // A directory: the hubmesh server writes a V8 CPU profile there (node --cpu-prof) when it stops.
    profile: { type: 'string' },
    // hubmesh's HUBMESH_FLUSH_MAX_MS (default 20): the longest a frame waits for its socket's write.
    'flush-max': { type: 'string' },
  },
});
// Each server measured (bare ws, the floor, hubmesh on one node, hubmesh) gets its duration and half a minute to start and stop.
const MEASURES = 2 + (o.floor ? 1 : 0) + (Number(o.nodes) > 1 ? 1 : 0);
const RUN_LIMIT_MS = ((Number(o.duration) + 30) * MEASURES + 60) * 1000;

function findNatsServer() {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/usr/local/bin'];
  for (const d of dirs) {
    try {
      accessSync(join(d, 'nats-server'), constants.X_OK);
      return join(d, 'nats-server');
    } catch {
      // not here
    }
  }
  throw new Error('--nodes 2 needs nats-server (apt-get install nats-server)');
}

async function measure(target) {
  const { proc: server, urls } =
    target === 'baseline' || target === 'floor'
      ? await startListening(here('./baseline-relay.mjs'), target === 'floor' ? ['--batch-ms', o.floor] : [])
      : await startHubmeshServer(['--nodes', String(target.nodes), ...(target.nats ? ['--nats', target.nats] : []), ...(o['flush-max'] ? ['--flush-max', o['flush-max']] : [])], {
          nodeArgs: o.profile ? ['--cpu-prof', `--cpu-prof-dir=${o.profile}`] : [],
        });
  try {
    const gen = launch(process.execPath, [
      here('./loadgen.mjs'),
      '--urls', urls.join(','),
      '--pid', String(server.child.pid),
      '--rooms', o.rooms,
      '--clients', o.clients,
      '--rate', o.rate,
      '--payload', o.payload,
      '--duration', o.duration,
      ...(target === 'baseline' || target === 'floor' ? [] : ['--create-rooms']),
    ]);
    const code = await gen.exited;
    if (code !== 0) throw new Error(`load generator failed:\n${gen.output()}`);
    return JSON.parse(gen.output().trim().split('\n').at(-1));
  } finally {
    await stop(server);
  }
}

async function main() {
  let nats;
  let natsDir;
  try {
    let natsUrl;
    if (Number(o.nodes) > 1) {
      natsDir = await mkdtemp(join(tmpdir(), 'hubmesh-bench-nats-'));
      nats = launch(findNatsServer(), ['-a', '127.0.0.1', '-p', '-1', '-js', '-sd', natsDir]);
      // nats-server logs to stderr; wait for its port there.
      natsUrl = await new Promise((resolve, reject) => {
        let log = '';
        const timer = setTimeout(() => reject(new Error('nats-server did not start')), 10_000);
        nats.child.stderr.on('data', (d) => {
          log += d.toString();
          const m = /client connections on (127\.0\.0\.1:\d+)/.exec(log);
          if (m) {
            clearTimeout(timer);
            resolve(`nats://${m[1]}`);
          }
        });
      });
    }
    const baseline = await measure('baseline');
    const floor = o.floor ? await measure('floor') : undefined;
    const oneNode = Number(o.nodes) > 1 ? await measure({ nodes: 1 }) : undefined;
    const hubmesh = await measure({ nodes: Number(o.nodes), nats: natsUrl });
    const ratioTo = (r) => (hubmesh.deliveriesPerCpuS && r?.deliveriesPerCpuS ? Number((hubmesh.deliveriesPerCpuS / r.deliveriesPerCpuS).toFixed(3)) : null);
    const result = {
      workload: { rooms: Number(o.rooms), clients: Number(o.clients), rateHz: Number(o.rate), payloadBytes: Number(o.payload), durationS: Number(o.duration), nodes: Number(o.nodes), flushMaxMs: Number(o['flush-max'] ?? 20) },
      baseline,
      ...(floor ? { floor, floorBatchMs: Number(o.floor), ratioToFloor: ratioTo(floor) } : {}),
      ...(oneNode ? { oneNode, ratioToOneNode: ratioTo(oneNode) } : {}),
      hubmesh,
      ratio: ratioTo(baseline),
    };
    if (o.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else {
      const row = (name, r) => `${name.padEnd(10)} ${String(r.deliveriesPerCpuS).padStart(10)} ${r.serverCpuS.toFixed(2).padStart(8)} ${String(r.p50).padStart(5)} ${String(r.p99).padStart(5)} ${String(r.max).padStart(6)} ${r.deliveryRatio.toFixed(4).padStart(8)}`;
      process.stdout.write(`RB-${o.clients}@${o.rate}: ${o.rooms} rooms x ${o.clients} clients, ${o.payload} B, ${o.duration} s, ${o.nodes} node(s)\n`);
      process.stdout.write(`${'server'.padEnd(10)} ${'deliv/cpu-s'.padStart(10)} ${'cpu s'.padStart(8)} ${'p50'.padStart(5)} ${'p99'.padStart(5)} ${'max'.padStart(6)} ${'ratio'.padStart(8)}\n`);
      process.stdout.write(`${row('bare ws', baseline)}\n${floor ? `${row(`floor ${o.floor}ms`, floor)}\n` : ''}${oneNode ? `${row('hubmesh 1n', oneNode)}\n` : ''}${row(oneNode ? `hubmesh ${o.nodes}n` : 'hubmesh', hubmesh)}\n`);
      process.stdout.write(`hubmesh / baseline: ${result.ratio}${floor ? `; hubmesh / floor: ${result.ratioToFloor}` : ''}${oneNode ? `; ${o.nodes} nodes / 1 node: ${result.ratioToOneNode}` : ''}\n`);
    }
  } finally {
    if (nats) await stop(nats);
    if (natsDir) await rm(natsDir, { recursive: true, force: true });
  }
}

runBounded(main, { limitMs: RUN_LIMIT_MS, name: 'bench' });
