// `npm run bench:idle-join`: the `idle` and `join` scenarios of the
// benchmark, against one hubmesh node in its own process (ops/bench/hubmesh-server.mjs)
// with this process as the load generator.
//
// - idle: opens --sockets Phoenix V2 sockets, each joined to a room of
//   --room-size, and reports the server's resident memory per joined socket
//   (VmRSS from /proc, before and after, once the joins settle).
// - join: --joins fresh sockets join rooms of --room-size (presence on: each
//   join is a presence_diff to the room), --concurrency at a time, and
//   reports joins per second and join latency (phx_join sent to its reply)
//   p50/p99/max, with the server's CPU over the run.
//
//   npm run bench:idle-join -- [--scenario idle|join|both] [--sockets 5000]
//                              [--joins 2000] [--concurrency 50] [--room-size 24] [--json]
// Every process it starts is stopped by pid, and the run is bounded in time.
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { cpuSeconds as cpuS, createRooms as createBenchRooms, quantile, rssBytes, runBounded, startHubmeshServer, stop as stopProc } from './lib.mjs';

const { values: o } = parseArgs({
  options: {
    scenario: { type: 'string', default: 'both' },
    sockets: { type: 'string', default: '5000' },
    joins: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '50' },
    'room-size': { type: 'string', default: '24' },
    json: { type: 'boolean', default: false },
  },
});
const [SOCKETS, JOINS, CONCURRENCY, ROOM_SIZE] = [o.sockets, o.joins, o.concurrency, o['room-size']].map(Number);
if (![SOCKETS, JOINS, CONCURRENCY, ROOM_SIZE].every((n) => Number.isInteger(n) && n > 0) || !['idle', 'join', 'both'].includes(o.scenario)) {
  throw new Error('--scenario is idle, join or both; --sockets, --joins, --concurrency and --room-size take positive integers');
}
const RUN_LIMIT_MS = 300_000;

async function startServer() {
  const { proc, urls } = await startHubmeshServer([], { stderr: 'inherit' });
  return { child: proc.child, proc, url: urls[0] };
}

const createRooms = (url, count) => createBenchRooms(url, count, ROOM_SIZE);

/** Opens a socket and joins `hub:<sid>`; resolves with the socket and the join's latency in ms. */
function joinOne(url, sid, name) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/socket/websocket?vsn=2.0.0`);
    const timer = setTimeout(() => reject(new Error(`join of ${name} timed out`)), 30_000);
    let sentAt = 0;
    ws.once('error', reject);
    ws.once('open', () => {
      sentAt = performance.now();
      ws.send(JSON.stringify(['1', '1', `hub:${sid}`, 'phx_join', { profile: { displayName: name }, context: {} }]));
    });
    ws.on('message', (data) => {
      const text = data.toString();
      if (!text.startsWith('["1","1"') || !text.includes('"phx_reply"')) return;
      clearTimeout(timer);
      if (!text.includes('"status":"ok"')) return reject(new Error(`join of ${name} refused: ${text.slice(0, 200)}`));
      resolve({ ws, ms: performance.now() - sentAt });
    });
  });
}

/** Joins `count` sockets to rooms of ROOM_SIZE, `concurrency` at a time. */
async function joinMany(url, count, concurrency) {
  const rooms = await createRooms(url, Math.ceil(count / ROOM_SIZE));
  const sockets = [];
  const latencies = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const { ws, ms } = await joinOne(url, rooms[Math.floor(i / ROOM_SIZE)], `c${i}`);
      // Joined sockets only listen; their heartbeats are not needed within the run.
      ws.on('message', () => undefined);
      sockets.push(ws);
      latencies.push(ms);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return { sockets, latencies };
}

async function idle() {
  const { child, proc, url } = await startServer();
  try {
    const before = rssBytes(child.pid);
    const { sockets } = await joinMany(url, SOCKETS, CONCURRENCY);
    // Let the node settle (presence diffs flushed, garbage collected) before reading its memory.
    await new Promise((r) => setTimeout(r, 3000));
    const after = rssBytes(child.pid);
    for (const ws of sockets) ws.terminate();
    return { sockets: SOCKETS, rssBeforeMiB: before / 2 ** 20, rssAfterMiB: after / 2 ** 20, rssPerSocketKiB: (after - before) / SOCKETS / 1024 };
  } finally {
    await stopProc(proc, 10_000);
  }
}

async function join() {
  const { child, proc, url } = await startServer();
  try {
    const cpu0 = cpuS(child.pid);
    const t0 = performance.now();
    const { sockets, latencies } = await joinMany(url, JOINS, CONCURRENCY);
    const seconds = (performance.now() - t0) / 1000;
    const cpu = cpuS(child.pid) - cpu0;
    for (const ws of sockets) ws.terminate();
    latencies.sort((a, b) => a - b);
    const ms = (v) => (v === null ? null : Math.round(v * 10) / 10);
    return { joins: JOINS, concurrency: CONCURRENCY, joinsPerS: Math.round(JOINS / seconds), serverCpuS: cpu, p50Ms: ms(quantile(latencies, 0.5)), p99Ms: ms(quantile(latencies, 0.99)), maxMs: ms(latencies.at(-1) ?? null) };
  } finally {
    await stopProc(proc, 10_000);
  }
}

async function main() {
  const result = { roomSize: ROOM_SIZE };
  if (o.scenario !== 'join') result.idle = await idle();
  if (o.scenario !== 'idle') result.join = await join();
  if (o.json) return process.stdout.write(`${JSON.stringify(result)}\n`);
  if (result.idle) {
    const r = result.idle;
    process.stdout.write(`idle: ${r.sockets} joined sockets in rooms of ${ROOM_SIZE}: RSS ${r.rssBeforeMiB.toFixed(1)} -> ${r.rssAfterMiB.toFixed(1)} MiB, ${r.rssPerSocketKiB.toFixed(1)} KiB per socket\n`);
  }
  if (result.join) {
    const r = result.join;
    process.stdout.write(`join: ${r.joins} joins, ${r.concurrency} at a time, rooms of ${ROOM_SIZE} with presence: ${r.joinsPerS} joins/s, latency p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, max ${r.maxMs} ms, server CPU ${r.serverCpuS.toFixed(2)} s\n`);
  }
}

runBounded(main, { limitMs: RUN_LIMIT_MS, name: 'bench' });
