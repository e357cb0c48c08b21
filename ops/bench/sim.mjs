// `npm run bench:sim`: the server CPU of the built-in `physics` simulation,
// per simulated body-second, for each N of --bodies. For each N it starts a
// node in its own process (ops/bench/sim-server.mjs); this process is the
// one client: an official `phoenix` client over `ws` that creates a room with
// physics on, joins, makes N cubes (`#hubmesh-cube-media` first syncs on a
// grid over the floor) and then, --rounds times, grabs them all (a full `u`
// naming itself), hands them all to the server (a full `u` naming
// `reticulum` with a random upward and sideways velocity from a seeded PRNG)
// and, once every cube is moving, measures --window seconds while they fly
// (after --warmup throws that are not measured):
//
// - the server's CPU (user+sys from /proc/<pid>/stat) over the window;
// - the body-seconds simulated: the `um` entries from `reticulum` the client
//   received in the window, divided by the 30 Hz tick rate (close to
//   N x window when every body stays awake); since a timer firing that
//   catches up runs several ticks and sends one `um`, the figure used is
//   the bodies per `um` times the ticks the node ran, and the plain count
//   is shown beside it;
// - from the node's counters (`REPORT` before and after the window): how
//   late ticks ran (`sim_tick_lateness_ms`), ticks run and skipped.
//
// After the last round, when every cube rests (asleep, nothing sent), it
// measures the same room for --rounds x --window seconds: the CPU of a room
// of N resting bodies, shown apart and subtracted for the net figure.
// Prints a table, or with --json one JSON object. The child is stopped by
// pid, and every run is bounded in time.
//
//   npm run bench:sim -- [--bodies 10,100,500] [--window 2] [--rounds 3] [--warmup 1] [--seed 1] [--json]
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { seededRandom } from '../../dist/src/core/random.js';
import { cpuSeconds, machineBusySeconds } from './lib.mjs';
import { Socket } from 'phoenix';
import WebSocket from 'ws';

const here = (f) => fileURLToPath(new URL(f, import.meta.url));
const { values: o } = parseArgs({
  options: {
    bodies: { type: 'string', default: '10,100,500' },
    window: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '1' },
    seed: { type: 'string', default: '1' },
    json: { type: 'boolean', default: false },
  },
});
const SIZES = o.bodies.split(',').map(Number);
const WINDOW_MS = Number(o.window) * 1000;
const ROUNDS = Number(o.rounds);
const WARMUP = Number(o.warmup);
const SEED = Number(o.seed);
if (SIZES.some((n) => !Number.isInteger(n) || n < 1) || !(WINDOW_MS > 0) || !Number.isInteger(ROUNDS) || ROUNDS < 1 || !Number.isInteger(WARMUP) || WARMUP < 0 || !Number.isInteger(SEED)) {
  throw new Error('--bodies takes positive integers, --window a positive number of seconds, --rounds a positive integer, --warmup an integer >= 0, --seed an integer');
}

const SERVER_OWNER = 'reticulum';
const TEMPLATE = '#hubmesh-cube-media';
/** The physics simulation's default tick rate: one `um` entry per awake body per tick. */
const TICK_HZ = 30;
const HALF = 0.25;
const LATENESS_BUCKETS = ['1', '2', '5', '10', '20', '50', '100', '250', '1000', '+Inf'];
/** Bounds of each wait, generous for a busy 2-core machine. */
const AWAKE_WITHIN_MS = 10_000;
const QUIET_MS = 1000;
const QUIET_WITHIN_MS = 30_000;
const setupMs = (n) => 30_000 + n * 20;
const RUN_LIMIT_MS = SIZES.reduce((t, n) => t + setupMs(n) + (ROUNDS + WARMUP) * (2 * WINDOW_MS + AWAKE_WITHIN_MS + QUIET_WITHIN_MS) + 20_000, 0);

const started = new Set();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(predicate, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

const ownCpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/** The server child: `LISTEN <url>` once, then one `REPORT <json>` per `report()`. */
function startServer(maxBodies) {
  const child = spawn(process.execPath, [here('./sim-server.mjs'), '--max-bodies', String(maxBodies)], { stdio: ['pipe', 'pipe', 'pipe'] });
  started.add(child);
  let out = '';
  let err = '';
  let pending = '';
  const reports = [];
  let onListen;
  let listeningTimer;
  const listening = new Promise((resolve, reject) => {
    onListen = resolve;
    listeningTimer = setTimeout(() => reject(new Error(`sim-server did not listen within 30 s:\n${out}\n${err}`)), 30_000);
    child.once('exit', (code) => reject(new Error(`sim-server exited with ${code}:\n${out}\n${err}`)));
  });
  const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  exited.then(() => started.delete(child));
  child.stderr.on('data', (d) => (err = (err + d.toString()).slice(-20_000)));
  child.stdout.on('data', (d) => {
    const text = d.toString();
    out = (out + text).slice(-20_000);
    pending += text;
    let nl;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (line.startsWith('LISTEN ')) {
        clearTimeout(listeningTimer);
        onListen(line.slice('LISTEN '.length).trim());
      } else if (line.startsWith('REPORT ')) reports.shift()?.resolve(JSON.parse(line.slice('REPORT '.length)));
    }
  });
  const report = () =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('sim-server did not answer REPORT within 10 s')), 10_000);
      reports.push({ resolve: (r) => (clearTimeout(timer), resolve(r)) });
      child.stdin.write('REPORT\n');
    });
  return { child, exited, listening, report, log: () => `${out}\n${err}` };
}

async function stopServer(server) {
  const { child } = server;
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await server.exited;
  clearTimeout(timer);
}

/** The counters of `after` minus `before`. */
function diff(before, after) {
  return {
    lateness: Object.fromEntries(LATENESS_BUCKETS.map((le) => [le, after.lateness[le] - before.lateness[le]])),
    ticks: after.ticks - before.ticks,
    skipped: after.skipped - before.skipped,
    overBudget: after.overBudget - before.overBudget,
    crashes: after.crashes - before.crashes,
  };
}

function addInto(total, d) {
  for (const le of LATENESS_BUCKETS) total.lateness[le] = (total.lateness[le] ?? 0) + d.lateness[le];
  for (const k of ['ticks', 'skipped', 'overBudget', 'crashes']) total[k] = (total[k] ?? 0) + d[k];
  return total;
}

/** The bucket (upper bound, ms) holding quantile `q` of a non-cumulative histogram; null when empty. */
function bucketAt(lateness, q) {
  const total = LATENESS_BUCKETS.reduce((s, le) => s + lateness[le], 0);
  if (total === 0) return null;
  let seen = 0;
  for (const le of LATENESS_BUCKETS) {
    seen += lateness[le];
    if (seen >= q * total) return le;
  }
  return '+Inf';
}
const maxBucket = (lateness) => [...LATENESS_BUCKETS].reverse().find((le) => lateness[le] > 0) ?? null;

function connect(url) {
  const socket = new Socket(`${url.replace(/^http/, 'ws')}/socket`, {
    transport: WebSocket,
    // A dropped socket is a failed run, not something to retry during a measurement.
    reconnectAfterMs: () => 600_000,
  });
  const state = { error: null };
  socket.onError((e) => (state.error ??= new Error(`socket error: ${e?.message ?? e}`)));
  socket.onClose((e) => (state.error ??= new Error(`socket closed: ${e?.code ?? ''} ${e?.reason ?? ''}`)));
  socket.connect();
  return { socket, state };
}

function join(channel) {
  return new Promise((resolve, reject) => {
    channel
      .join(10_000)
      .receive('ok', resolve)
      .receive('error', (resp) => reject(new Error(`join refused: ${JSON.stringify(resp)}`)))
      .receive('timeout', () => reject(new Error('join timed out')));
  });
}

async function createRoom(url, n) {
  const res = await fetch(`${url}/api/v1/hubs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ hub: { name: `sim bench ${n}`, user_data: { hubmesh_simulations: ['physics'] } } }),
  });
  const body = await res.json();
  if (res.status !== 200) throw new Error(`creating the room failed: ${res.status} ${JSON.stringify(body)}`);
  return body.hub_id;
}

async function measure(n) {
  const server = startServer(Math.max(2000, n));
  const random = seededRandom(SEED * 100_003 + n);
  let client;
  try {
    const url = await server.listening;
    const pid = server.child.pid;
    const sid = await createRoom(url, n);
    client = connect(url);
    const channel = client.socket.channel(`hub:${sid}`, { profile: { displayName: 'bench', avatarId: 'avatar-1' }, context: { mobile: false, embed: false, hmd: false } });

    // Every cube as the client knows it: the last pose the server sent, the last ownership time seen or sent.
    const cubes = new Map();
    const rec = { counting: false, entries: 0, messages: 0, lastUmAt: 0, errors: [] };
    channel.on('naf', (m) => {
      if (m.from_session_id !== SERVER_OWNER || m.dataType !== 'um') return;
      const at = performance.now();
      rec.lastUmAt = at;
      if (rec.counting) rec.messages++;
      for (const e of m.data?.d ?? []) {
        const cube = cubes.get(e.networkId);
        if (!cube) continue;
        if (rec.counting) rec.entries++;
        cube.seenAt = at;
        cube.lastOwnerTime = Math.max(cube.lastOwnerTime, e.lastOwnerTime);
        if (e.components?.['0']) cube.position = e.components['0'];
        if (e.components?.['1']) cube.rotation = e.components['1'];
      }
    });
    const reply = await join(channel);
    const me = reply.session_id;
    const push = (data) =>
      channel.push('naf', { dataType: 'u', data }).receive('error', (resp) => {
        if (rec.errors.length < 5) rec.errors.push(resp);
      });
    const cubeData = (cube, owner, lastOwnerTime, components, isFirstSync = false) => ({
      networkId: cube.networkId, owner, creator: me, lastOwnerTime, template: TEMPLATE, persistent: false, parent: null, components, isFirstSync,
    });
    /** Sends one frame per cube and waits until the node has read them all, so none of a burst lands in a measured window. */
    const burst = async (send) => {
      const before = (await server.report()).framesIn;
      for (const cube of cubes.values()) send(cube);
      const deadline = Date.now() + 30_000;
      while ((await server.report()).framesIn < before + n) {
        if (client.state.error) throw client.state.error;
        if (Date.now() > deadline) throw new Error(`timed out waiting for the node to read ${n} frames`);
        await sleep(50);
      }
    };

    // N cubes resting on a grid over the floor, first syncs as the room page sends them.
    const side = Math.ceil(Math.sqrt(n));
    const spacing = Math.min(1.5, 20 / side);
    for (let i = 0; i < n; i++) {
      const position = { x: ((i % side) - (side - 1) / 2) * spacing, y: HALF, z: (Math.floor(i / side) - (side - 1) / 2) * spacing };
      cubes.set(`cube${i}`, { networkId: `cube${i}`, position, rotation: { x: 0, y: 0, z: 0 }, lastOwnerTime: 0, seenAt: 0, handedAt: 0 });
    }
    await burst((cube) => {
      cube.lastOwnerTime = Date.now();
      push(cubeData(cube, me, cube.lastOwnerTime, { 0: cube.position, 1: cube.rotation }, true));
    });

    const rounds = [];
    // The first --warmup throws are not measured: they compile the engine's hot paths.
    for (let r = -WARMUP; r < ROUNDS; r++) {
      // Grab every cube: a full update naming the client, later than anything the server sent.
      await burst((cube) => {
        cube.lastOwnerTime = Math.max(Date.now(), cube.lastOwnerTime + 1);
        push(cubeData(cube, me, cube.lastOwnerTime, { 0: cube.position, 1: cube.rotation }));
      });
      // Throw every cube to the server: a full update naming it, with a velocity up and sideways.
      const handedAt = performance.now();
      await burst((cube) => {
        cube.lastOwnerTime = Math.max(Date.now(), cube.lastOwnerTime + 1);
        cube.handedAt = handedAt;
        // Up at 8-11 m/s: 1.6-2.2 s in the air, so every cube is still awake when a 2 s window ends.
        const velocity = { x: (random() * 2 - 1) * 3, y: 8 + random() * 3, z: (random() * 2 - 1) * 3 };
        push(cubeData(cube, SERVER_OWNER, cube.lastOwnerTime, { 0: cube.position, 1: cube.rotation, 3: velocity }));
      });
      const awake = () => [...cubes.values()].filter((c) => c.seenAt > c.handedAt).length;
      try {
        await until(() => awake() === n, AWAKE_WITHIN_MS, `all ${n} cubes to move`);
      } catch {
        // Measured anyway: the coverage column shows it.
      }
      const awakeAtStart = awake();
      const awakeAfterMs = performance.now() - handedAt;

      const before = await server.report();
      const [cpu0, box0, own0] = [cpuSeconds(pid), machineBusySeconds(), ownCpuSeconds()];
      rec.entries = 0;
      rec.messages = 0;
      const t0 = performance.now();
      rec.counting = true;
      await sleep(WINDOW_MS);
      rec.counting = false;
      const t1 = performance.now();
      const [cpu1, box1, own1] = [cpuSeconds(pid), machineBusySeconds(), ownCpuSeconds()];
      const after = await server.report();
      const awakeAtEnd = [...cubes.values()].filter((c) => c.seenAt > t1 - 100).length;
      if (client.state.error) throw client.state.error;
      const round = {
        windowS: (t1 - t0) / 1000, cpuS: cpu1 - cpu0, machineS: box1 - box0, ownS: own1 - own0, entries: rec.entries, messages: rec.messages,
        awakeAtStart, awakeAfterMs: Math.round(awakeAfterMs), awakeAtEnd, counters: diff(before, after),
      };
      if (r >= 0) rounds.push(round);
      // Let them land and sleep before the next throw (and before the resting baseline).
      try {
        await until(() => performance.now() - rec.lastUmAt > QUIET_MS, QUIET_WITHIN_MS, 'every cube to rest');
      } catch {
        round.isStillAwake = true;
      }
      // How long after the throw each cube's last update came: when it fell asleep, as the client saw it.
      const slept = [...cubes.values()].map((c) => (c.seenAt - handedAt) / 1000).sort((a, b) => a - b);
      round.asleepAfterS = { min: fix(slept[0], 2), p50: fix(slept[Math.floor(slept.length / 2)], 2), max: fix(slept.at(-1), 2) };
    }

    // The same room with every cube asleep: nothing is sent, the world is still stepped.
    const restBefore = await server.report();
    const [rc0, rb0, ro0] = [cpuSeconds(pid), machineBusySeconds(), ownCpuSeconds()];
    rec.entries = 0;
    rec.counting = true;
    const r0 = performance.now();
    await sleep(WINDOW_MS * ROUNDS);
    rec.counting = false;
    const restS = (performance.now() - r0) / 1000;
    const [rc1, rb1, ro1] = [cpuSeconds(pid), machineBusySeconds(), ownCpuSeconds()];
    const restAfter = await server.report();
    const rest = { windowS: restS, cpuS: rc1 - rc0, otherCpuS: rb1 - rb0 - (ro1 - ro0) - (rc1 - rc0), entries: rec.entries, counters: diff(restBefore, restAfter) };
    if (client.state.error) throw client.state.error;

    return summarize(n, rounds, rest, restAfter, rec.errors);
  } finally {
    if (client) {
      client.state.error = client.state.error ?? new Error('closing');
      await new Promise((resolve) => {
        const t = setTimeout(resolve, 2000);
        client.socket.disconnect(() => (clearTimeout(t), resolve()));
      });
    }
    await stopServer(server);
  }
}

const fix = (v, d) => (v === null || !Number.isFinite(v) ? null : Number(v.toFixed(d)));

function summarize(n, rounds, rest, finalCounters, errors) {
  const sum = (k) => rounds.reduce((s, r) => s + r[k], 0);
  const windowS = sum('windowS');
  const cpuS = sum('cpuS');
  const entries = sum('entries');
  // Entries / 30 Hz undercounts when a timer firing catches up: it runs several ticks and sends one um. Bodies per um x ticks run does not.
  const bodySecondsSent = entries / TICK_HZ;
  const counters = rounds.reduce((t, r) => addInto(t, r.counters), { lateness: {} });
  const restCpuPerS = rest.cpuS / rest.windowS;
  const netCpuS = cpuS - restCpuPerS * windowS;
  const bodySeconds = sum('messages') > 0 ? ((entries / sum('messages')) * counters.ticks) / TICK_HZ : 0;
  const otherS = sum('machineS') - sum('ownS') - cpuS;
  return {
    bodies: n,
    rounds: rounds.length,
    windowS: fix(windowS, 3),
    bodySeconds: fix(bodySeconds, 2),
    coverage: fix(bodySeconds / (n * windowS), 3),
    bodySecondsSent: fix(bodySecondsSent, 2),
    coverageSent: fix(bodySecondsSent / (n * windowS), 3),
    serverCpuS: fix(cpuS, 2),
    serverCpuPct: fix((cpuS / windowS) * 100, 1),
    cpuUsPerBodyS: bodySeconds > 0 ? fix((cpuS * 1e6) / bodySeconds, 0) : null,
    corePctPerBody: bodySeconds > 0 ? fix((cpuS / bodySeconds) * 100, 3) : null,
    netCpuUsPerBodyS: bodySeconds > 0 ? fix((netCpuS * 1e6) / bodySeconds, 0) : null,
    entriesPerS: fix(entries / windowS, 0),
    messagesPerS: fix(sum('messages') / windowS, 1),
    latenessMs: { p50: bucketAt(counters.lateness, 0.5), p99: bucketAt(counters.lateness, 0.99), max: maxBucket(counters.lateness), histogram: counters.lateness },
    ticks: counters.ticks,
    ticksExpected: Math.round(windowS * TICK_HZ),
    ticksSkipped: counters.skipped,
    overBudget: counters.overBudget,
    crashes: counters.crashes,
    benchCpuPct: fix((sum('ownS') / windowS) * 100, 1),
    otherCpuPct: fix((otherS / windowS) * 100, 1),
    resting: {
      windowS: fix(rest.windowS, 3),
      serverCpuPct: fix(restCpuPerS * 100, 1),
      cpuMsPerS: fix(restCpuPerS * 1000, 1),
      entries: rest.entries,
      ticks: rest.counters.ticks,
      ticksSkipped: rest.counters.skipped,
      latenessMs: { p50: bucketAt(rest.counters.lateness, 0.5), p99: bucketAt(rest.counters.lateness, 0.99), max: maxBucket(rest.counters.lateness) },
      otherCpuPct: fix((rest.otherCpuS / rest.windowS) * 100, 1),
    },
    perRound: rounds.map((r) => ({
      windowS: fix(r.windowS, 3), cpuS: fix(r.cpuS, 2), entries: r.entries, messages: r.messages,
      coverage: r.messages > 0 ? fix(((r.entries / r.messages) * r.counters.ticks) / TICK_HZ / (n * r.windowS), 3) : 0, coverageSent: fix(r.entries / TICK_HZ / (n * r.windowS), 3),
      awakeAtStart: r.awakeAtStart, awakeAfterMs: r.awakeAfterMs, awakeAtEnd: r.awakeAtEnd, asleepAfterS: r.asleepAfterS, isStillAwake: r.isStillAwake === true,
      ticks: r.counters.ticks, skipped: r.counters.skipped, latenessMax: maxBucket(r.counters.lateness),
    })),
    drops: { sim: finalCounters.simDropped, hub: finalCounters.hubDropped, slowConsumer: finalCounters.slowConsumerDrops },
    pushErrors: errors,
  };
}

function printTable(results) {
  const cols = [
    ['bodies', 6, (r) => r.bodies],
    ['awake', 6, (r) => r.coverage],
    ['sent', 6, (r) => r.coverageSent],
    ['cpu %', 6, (r) => r.serverCpuPct],
    ['µs/body-s', 9, (r) => r.cpuUsPerBodyS],
    ['%core/body', 10, (r) => r.corePctPerBody],
    ['net µs/body-s', 13, (r) => r.netCpuUsPerBodyS],
    ['rest cpu %', 10, (r) => r.resting.serverCpuPct],
    ['upd/s', 7, (r) => r.entriesPerS],
    ['msg/s', 6, (r) => r.messagesPerS],
    ['late p50/p99/max ms', 19, (r) => `${r.latenessMs.p50}/${r.latenessMs.p99}/${r.latenessMs.max}`],
    ['ticks', 9, (r) => `${r.ticks}/${r.ticksExpected}`],
    ['skipped', 7, (r) => r.ticksSkipped],
    ['other cpu %', 11, (r) => r.otherCpuPct],
  ];
  const w = (s, n) => String(s ?? '-').padStart(n);
  process.stdout.write(`physics simulation: ${ROUNDS} measured round(s) of ${WINDOW_MS / 1000} s per size after ${WARMUP} warm-up throw(s), seed ${SEED}; resting baseline over ${(ROUNDS * WINDOW_MS) / 1000} s\n`);
  process.stdout.write(`${cols.map(([h, n]) => w(h, n)).join(' ')}\n`);
  for (const r of results) process.stdout.write(`${cols.map(([, n, f]) => w(f(r), n)).join(' ')}\n`);
  process.stdout.write(
    [
      'awake: body-seconds simulated (ticks run / 30 Hz x bodies per um the client received) over bodies x window; 1 = every body moving the whole window',
      'sent: the same counted as um entries received / 30 Hz; lower than awake when timer firings catch up (several ticks, one um)',
      'cpu %: server CPU over the windows, % of one core; µs/body-s and %core/body: that CPU per simulated body-second',
      'net µs/body-s: the same less the CPU of the room at rest (rest cpu %: the same room, every cube asleep, nothing sent)',
      'upd/s, msg/s: um entries and um messages from reticulum the client received per second',
      'late: buckets (upper bound, ms) of how late ticks ran (sim_tick_lateness_ms); ticks: run / 30 Hz x window; skipped: ticks dropped by the catch-up bound',
      'other cpu %: the rest of the machine (all cores, less server and bench) over the windows, % of one core',
    ].join('\n') + '\n',
  );
}

async function main() {
  const results = [];
  for (const n of SIZES) results.push(await measure(n));
  if (o.json) process.stdout.write(`${JSON.stringify({ workload: { bodies: SIZES, windowS: WINDOW_MS / 1000, rounds: ROUNDS, warmup: WARMUP, seed: SEED, tickHz: TICK_HZ }, results })}\n`);
  else printTable(results);
}

function killAll() {
  for (const c of started) if (c.exitCode === null && c.signalCode === null) process.kill(c.pid, 'SIGKILL');
}

const limit = setTimeout(() => {
  process.stderr.write(`bench:sim: gave up after ${RUN_LIMIT_MS} ms\n`);
  killAll();
  process.exit(1);
}, RUN_LIMIT_MS);
limit.unref();
process.once('SIGINT', () => {
  killAll();
  process.exit(130);
});
main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`bench:sim: ${err.stack ?? err}\n`);
    killAll();
    process.exit(1);
  },
);
