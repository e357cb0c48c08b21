// `npm run bench:idle-join`: the `idle` and `join` scenarios of the
// benchmark, against one hubmesh node in its own process (ops/bench/hubmesh-server.mjs).
//
// - idle: opens --sockets Phoenix V2 sockets, each joined to a room of
//   --room-size, and reports the server's resident memory per joined socket
//   (VmRSS from /proc, before and after, once the joins settle), with the
//   sockets the server holds (its ws_sockets gauge) and its open files. The
//   sockets are opened by ceil(--sockets / 10,000) client processes
//   (ops/bench/idle-clients.mjs), so the load generator is not bound by one
//   process's limit on open files. The server needs one file per socket, so
//   --sockets past what it may still open (the soft "Max open files" of
//   /proc/<pid>/limits, less the files it holds at the start and a margin of
//   64) is clamped to that, and the output says so.
// - join: --joins fresh sockets join rooms of --room-size (presence on: each
//   join is a presence_diff to the room), --concurrency at a time, and
//   reports joins per second and join latency (phx_join sent to its reply)
//   p50/p99/max, with the server's CPU over the run. Before them, --warmup
//   joins (in rooms of their own, closed again) are made and not measured,
//   so the figures are those of a server that has been up a while, not of its
//   first seconds of compiling code. This process is its load generator.
//
//   npm run bench:idle-join -- [--scenario idle|join|both] [--sockets 5000]
//                              [--joins 2000] [--warmup 1000] [--concurrency 50] [--room-size 24] [--json]
//                              [--profile DIR] (the server writes a V8 CPU profile there when it stops)
// Every process it starts is stopped by pid, and the run is bounded in time.
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { cpuSeconds as cpuS, createRooms as createBenchRooms, here, isRunning, launch, maxOpenFiles, openFds, quantile, rssBytes, runBounded, startHubmeshServer, stop as stopProc } from './lib.mjs';

const { values: o } = parseArgs({
  options: {
    scenario: { type: 'string', default: 'both' },
    sockets: { type: 'string', default: '5000' },
    joins: { type: 'string', default: '2000' },
    // Joins made, and closed, before the measured ones: the server's code is compiled and its pools warm, as in a server that has been up a while.
    warmup: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '50' },
    'room-size': { type: 'string', default: '24' },
    json: { type: 'boolean', default: false },
    profile: { type: 'string' },
  },
});
const [SOCKETS, JOINS, CONCURRENCY, ROOM_SIZE, WARMUP] = [o.sockets, o.joins, o.concurrency, o['room-size'], o.warmup].map(Number);
if (![SOCKETS, JOINS, CONCURRENCY, ROOM_SIZE].every((n) => Number.isInteger(n) && n > 0) || !(Number.isInteger(WARMUP) && WARMUP >= 0) || !['idle', 'join', 'both'].includes(o.scenario)) {
  throw new Error('--scenario is idle, join or both; --sockets, --joins, --concurrency and --room-size take positive integers, --warmup a count (0 for none)');
}
// Joining is bounded by the server; a loaded two-core machine joins a few hundred sockets a second.
const RUN_LIMIT_MS = 300_000 + (o.scenario === 'join' ? 0 : SOCKETS * 15);
/** Sockets one client process of the idle scenario opens at most (well under a process's usual limit on open files). */
const SOCKETS_PER_CLIENT_PROCESS = 10_000;
/** Files the server keeps free for itself (listening sockets, log and data files, the bench's own HTTP requests) when --sockets is clamped. */
const FD_MARGIN = 64;
const PROGRESS_MS = 5000;
const note = (text) => process.stderr.write(text);

async function startServer() {
  const { proc, urls } = await startHubmeshServer([], { stderr: 'inherit', nodeArgs: o.profile ? ['--cpu-prof', `--cpu-prof-dir=${o.profile}`] : [] });
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

/**
 * Follows the lines of an idle-clients.mjs process: `onProgress(joined)` on
 * each PROGRESS and JOINED; resolves with the JOINED line's figures, rejects
 * on FAILED or if the process exits first.
 */
function clientsJoined(client, onProgress) {
  return new Promise((resolve, reject) => {
    createInterface({ input: client.child.stdout }).on('line', (line) => {
      const space = line.indexOf(' ');
      const word = line.slice(0, space);
      if (word !== 'PROGRESS' && word !== 'JOINED' && word !== 'FAILED') return;
      const body = JSON.parse(line.slice(space + 1));
      onProgress(body.joined);
      if (word === 'JOINED') resolve(body);
      if (word === 'FAILED') reject(new Error(`client process ${client.child.pid} failed after ${body.joined} joins: ${body.error}`));
    });
    client.exited.then((code) => reject(new Error(`client process ${client.child.pid} exited with ${code} before its sockets joined:\n${client.errors().slice(-2000)}`)));
  });
}

/** The server's ws_sockets gauge (open client websockets) from its GET /metrics. */
async function serverSockets(url) {
  const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) });
  if (res.status !== 200) throw new Error(`GET /metrics answered ${res.status}`);
  const m = /^ws_sockets (\S+)$/m.exec(await res.text());
  return m ? Number(m[1]) : null;
}

const clampReason = (c) => `the server process may open ${c.maxOpenFiles} files (its soft "Max open files") and holds ${c.openAtStart} already; ${c.margin} are kept spare`;

async function idle() {
  const { child, proc, url } = await startServer();
  const clients = [];
  try {
    const before = rssBytes(child.pid);
    const limit = maxOpenFiles(child.pid);
    const openAtStart = openFds(child.pid);
    const sockets = Math.min(SOCKETS, limit - openAtStart - FD_MARGIN);
    const clamped = sockets < SOCKETS ? { maxOpenFiles: limit, openAtStart, margin: FD_MARGIN } : null;
    if (sockets <= 0) throw new Error(`no room for sockets: ${clampReason(clamped)}`);
    if (clamped) note(`idle: --sockets ${SOCKETS} clamped to ${sockets}: ${clampReason(clamped)}\n`);
    const rooms = await createRooms(url, Math.ceil(sockets / ROOM_SIZE));
    const processes = Math.ceil(sockets / SOCKETS_PER_CLIENT_PROCESS);
    // --concurrency is over all client processes together.
    const concurrency = String(Math.max(1, Math.round(CONCURRENCY / processes)));
    const joined = new Array(processes).fill(0);
    const done = [];
    const t0 = performance.now();
    for (let k = 0; k < processes; k++) {
      const first = Math.floor((k * sockets) / processes);
      const end = Math.floor(((k + 1) * sockets) / processes);
      const ids = rooms.slice(Math.floor(first / ROOM_SIZE), Math.floor((end - 1) / ROOM_SIZE) + 1);
      const args = ['--url', url, '--rooms', ids.join(','), '--first', String(first), '--count', String(end - first), '--concurrency', concurrency, '--room-size', String(ROOM_SIZE)];
      const client = launch(process.execPath, [here('./idle-clients.mjs'), ...args]);
      clients.push(client);
      note(`idle: started pid ${client.child.pid} (client process ${k + 1} of ${processes}, sockets ${first}..${end - 1})\n`);
      done.push(clientsJoined(client, (n) => (joined[k] = n)));
    }
    const ticker = o.json ? undefined : setInterval(() => note(`idle: ${joined.reduce((a, b) => a + b, 0)} of ${sockets} sockets joined\n`), PROGRESS_MS);
    try {
      await Promise.all(done);
    } finally {
      clearInterval(ticker);
    }
    const joinSeconds = (performance.now() - t0) / 1000;
    // Let the node settle (presence diffs flushed, garbage collected) before reading its memory.
    await sleep(3000);
    const gone = clients.filter((c) => !isRunning(c));
    if (gone.length) throw new Error(`client process ${gone[0].child.pid} exited while holding its sockets:\n${gone[0].errors().slice(-2000)}`);
    const after = rssBytes(child.pid);
    const serverOpenFiles = openFds(child.pid);
    const held = await serverSockets(url);
    return {
      sockets,
      requestedSockets: SOCKETS,
      clamped: clamped && { ...clamped, reason: clampReason(clamped) },
      clientProcesses: processes,
      joinSeconds: Math.round(joinSeconds * 10) / 10,
      serverSocketsHeld: held,
      serverOpenFiles,
      serverMaxOpenFiles: limit,
      rssBeforeMiB: before / 2 ** 20,
      rssAfterMiB: after / 2 ** 20,
      rssPerSocketKiB: (after - before) / sockets / 1024,
    };
  } finally {
    await Promise.all(clients.map((c) => stopProc(c)));
    await stopProc(proc, 10_000);
  }
}

async function join() {
  const { child, proc, url } = await startServer();
  try {
    if (WARMUP > 0) {
      const warm = await joinMany(url, WARMUP, CONCURRENCY);
      await Promise.all(warm.sockets.map((ws) => new Promise((resolve) => {
        ws.once('close', resolve);
        ws.close();
      })));
    }
    const cpu0 = cpuS(child.pid);
    const t0 = performance.now();
    const { sockets, latencies } = await joinMany(url, JOINS, CONCURRENCY);
    const seconds = (performance.now() - t0) / 1000;
    const cpu = cpuS(child.pid) - cpu0;
    for (const ws of sockets) ws.terminate();
    latencies.sort((a, b) => a - b);
    const ms = (v) => (v === null ? null : Math.round(v * 10) / 10);
    return { joins: JOINS, warmupJoins: WARMUP, concurrency: CONCURRENCY, joinsPerS: Math.round(JOINS / seconds), serverCpuS: cpu, p50Ms: ms(quantile(latencies, 0.5)), p99Ms: ms(quantile(latencies, 0.99)), maxMs: ms(latencies.at(-1) ?? null) };
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
    if (r.clamped) process.stdout.write(`idle: --sockets ${r.requestedSockets} clamped to ${r.sockets}: ${r.clamped.reason}\n`);
    process.stdout.write(`idle: ${r.sockets} joined sockets in rooms of ${ROOM_SIZE}: RSS ${r.rssBeforeMiB.toFixed(1)} -> ${r.rssAfterMiB.toFixed(1)} MiB, ${r.rssPerSocketKiB.toFixed(1)} KiB per socket\n`);
    process.stdout.write(`idle: joined in ${r.joinSeconds} s by ${r.clientProcesses} client process(es); the server held ${r.serverSocketsHeld} sockets with ${r.serverOpenFiles} of its ${r.serverMaxOpenFiles} files open\n`);
  }
  if (result.join) {
    const r = result.join;
    process.stdout.write(`join: ${r.joins} joins after ${r.warmupJoins} to warm up, ${r.concurrency} at a time, rooms of ${ROOM_SIZE} with presence: ${r.joinsPerS} joins/s, latency p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, max ${r.maxMs} ms, server CPU ${r.serverCpuS.toFixed(2)} s\n`);
  }
}

runBounded(main, { limitMs: RUN_LIMIT_MS, name: 'bench' });
