// The load generator of `npm run soak`: R rooms of N Phoenix V2 clients, each
// sending `rate` nafr updates a second of about `payload` bytes, with churn:
// every second `churn` clients leave (half close their socket after a
// phx_leave, half drop it) and as many new ones join the same rooms, so the
// rooms stay at N. Driven over stdin by ops/bench/soak.mjs:
//
//   prints `READY {...}` once the first R x N clients have joined;
//   `sample` -> prints `SAMPLE {...}`: what happened since the last sample;
//   `stop`   -> stops sending and churning, lets what was sent arrive, prints
//              `FINAL {...}` (totals over the run) and exits.
//
// Delivery is counted exactly under churn: every update carries a sequence
// number from one counter in this process; a receiver counts updates numbered
// after its join was acknowledged and, once it starts leaving, only those
// numbered before that; a sender expects as many deliveries as its room has
// other joined clients not leaving. A leaving client stops sending and keeps
// listening for `linger-ms` before it goes, so updates already on their way
// still count.
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { createRooms } from './lib.mjs';

const { values: o } = parseArgs({
  options: {
    url: { type: 'string' },
    rooms: { type: 'string', default: '8' },
    clients: { type: 'string', default: '24' },
    rate: { type: 'string', default: '20' },
    payload: { type: 'string', default: '200' },
    churn: { type: 'string', default: '2' },
    'linger-ms': { type: 'string', default: '1000' },
  },
});
const [R, N, HZ, PAYLOAD, CHURN, LINGER_MS] = [o.rooms, o.clients, o.rate, o.payload, o.churn, o['linger-ms']].map(Number);
const JOIN_TIMEOUT_MS = 10_000;
const HEARTBEAT_MS = 30_000;
// Joins still waiting for their reply past this many are skipped, so an overloaded server does not pile them up.
const MAX_PENDING_JOINS = Math.max(10, CHURN * 10);
const LATENCY_CAP_MS = 60_000;
const wsUrl = `${o.url.replace(/^http/, 'ws')}/socket/websocket?vsn=2.0.0`;
const pad = 'x'.repeat(Math.max(0, PAYLOAD - 160));

/** Latency counts per whole millisecond, 0..LATENCY_CAP_MS (the last bucket holds everything above). */
const newHistogram = () => new Uint32Array(LATENCY_CAP_MS + 1);
function histogramQuantile(h, count, p) {
  if (count === 0) return null;
  const rank = Math.min(count - 1, Math.floor(p * count));
  let seen = 0;
  for (let ms = 0; ms < h.length; ms++) {
    seen += h[ms];
    if (seen > rank) return ms;
  }
  return LATENCY_CAP_MS;
}

function newCounters() {
  return { sent: 0, expected: 0, delivered: 0, latency: newHistogram(), joins: 0, joinErrors: 0, joinsSkipped: 0, joinMs: [], leaves: 0, closedByServer: 0 };
}
let interval = newCounters();
const total = { sent: 0, expected: 0, delivered: 0, joins: 0, joinErrors: 0, joinsSkipped: 0, leaves: 0, closedByServer: 0 };
let firstJoinError;

let seq = 0;
let nextName = 0;
let pendingJoins = 0;
let isRunning = true;
/** Per room: the clients joined and not leaving, the ones a send expects to reach. */
const active = [];
const sids = await createRooms(o.url, R, N + 2 * CHURN + 2);
for (let r = 0; r < R; r++) active.push(new Set());

function record(key, by = 1) {
  interval[key] += by;
  total[key] += by;
}

function send(c) {
  const s = ++seq;
  const room = active[c.room];
  const naf = JSON.stringify({ dataType: 'um', data: { d: [{ networkId: `n-${c.me}`, owner: c.me, lastOwnerTime: 0, components: { t: Date.now(), s, p: pad } }] } });
  c.ws.send(JSON.stringify(['1', null, c.topic, 'nafr', { naf }]));
  record('sent');
  record('expected', room.size - 1);
}

function onMessage(c, data) {
  const text = data.toString();
  if (c.joinSeq === undefined) return;
  if (!text.includes('nafr')) return;
  const s = /\\"s\\":(\d+)/.exec(text);
  if (!s) return;
  const n = Number(s[1]);
  if (n <= c.joinSeq || (c.leaveSeq !== undefined && n > c.leaveSeq)) return;
  const t = /\\"t\\":(\d+)/.exec(text);
  record('delivered');
  if (t) interval.latency[Math.min(LATENCY_CAP_MS, Math.max(0, Date.now() - Number(t[1])))]++;
}

/**
 * Opens a socket and joins room `r`; resolves once joined (or once the join
 * failed, which is counted). A churn join is skipped while too many are pending.
 */
function join(r, isChurn = true) {
  if (isChurn && pendingJoins >= MAX_PENDING_JOINS) {
    record('joinsSkipped');
    return Promise.resolve();
  }
  pendingJoins++;
  const c = { room: r, topic: `hub:${sids[r]}`, me: `s${nextName++}`, ws: new WebSocket(wsUrl), timers: [] };
  const startedAt = performance.now();
  return new Promise((resolve) => {
    const fail = (why) => {
      if (c.joinSeq !== undefined || c.failed) return;
      c.failed = true;
      pendingJoins--;
      record('joinErrors');
      firstJoinError ??= why;
      clearTimeout(timer);
      c.ws.terminate();
      resolve();
    };
    const timer = setTimeout(() => fail('join timed out'), JOIN_TIMEOUT_MS);
    c.ws.once('error', (err) => fail(err.message));
    c.ws.once('close', () => {
      fail('socket closed before the join reply');
      if (c.joinSeq !== undefined && c.leaveSeq === undefined) {
        // The server closed a client that was not leaving.
        record('closedByServer');
        active[c.room].delete(c);
        for (const t of c.timers) clearInterval(t);
      }
    });
    c.ws.once('open', () => c.ws.send(JSON.stringify(['1', '1', c.topic, 'phx_join', { profile: { displayName: c.me }, context: {} }])));
    c.ws.on('message', (data) => {
      if (c.joinSeq === undefined) {
        const text = data.toString();
        if (!text.startsWith('["1","1"') || !text.includes('"phx_reply"')) return;
        if (!text.includes('"status":"ok"')) return fail(`join refused: ${text.slice(0, 200)}`);
        clearTimeout(timer);
        pendingJoins--;
        c.joinSeq = seq;
        c.me = /"session_id":"([^"]+)"/.exec(text)?.[1] ?? c.me;
        record('joins');
        interval.joinMs.push(performance.now() - startedAt);
        if (!isRunning) return resolve();
        active[r].add(c);
        c.timers.push(setInterval(() => send(c), 1000 / HZ));
        c.timers.push(setInterval(() => c.ws.send(JSON.stringify([null, String(seq), 'phoenix', 'heartbeat', {}])), HEARTBEAT_MS));
        return resolve();
      }
      onMessage(c, data);
    });
  });
}

/** Starts the leave of one joined client of room `r`: it stops sending now and goes after LINGER_MS. */
function leave(r) {
  const room = active[r];
  const c = [...room][Math.floor(Math.random() * room.size)];
  if (!c) return;
  room.delete(c);
  c.leaveSeq = seq;
  for (const t of c.timers) clearInterval(t);
  record('leaves');
  const isGraceful = total.leaves % 2 === 0;
  setTimeout(() => {
    if (!isGraceful) return c.ws.terminate();
    c.ws.send(JSON.stringify(['1', '2', c.topic, 'phx_leave', {}]));
    c.ws.close(1000);
  }, LINGER_MS);
}

function churn() {
  for (let i = 0; i < CHURN; i++) {
    const r = Math.floor(Math.random() * R);
    leave(r);
    void join(r);
  }
}

function snapshot(counters) {
  const joinMs = counters.joinMs.sort((a, b) => a - b);
  let count = 0;
  for (const n of counters.latency) count += n;
  return {
    sent: counters.sent,
    expected: counters.expected,
    delivered: counters.delivered,
    deliveryRatio: counters.expected ? counters.delivered / counters.expected : null,
    p50Ms: histogramQuantile(counters.latency, count, 0.5),
    p99Ms: histogramQuantile(counters.latency, count, 0.99),
    joins: counters.joins,
    leaves: counters.leaves,
    joinErrors: counters.joinErrors,
    joinsSkipped: counters.joinsSkipped,
    closedByServer: counters.closedByServer,
    joinP99Ms: joinMs.length ? Math.round(joinMs[Math.min(joinMs.length - 1, Math.floor(0.99 * joinMs.length))]) : null,
    clients: active.reduce((n, room) => n + room.size, 0),
  };
}

// The first clients join one room at a time, the room's clients at once.
for (let r = 0; r < R; r++) await Promise.all(Array.from({ length: N }, () => join(r, false)));
if (total.joinErrors > 0) throw new Error(`initial joins failed: ${firstJoinError}`);
interval = newCounters();
process.stdout.write(`READY ${JSON.stringify({ rooms: R, clients: R * N })}\n`);
const churnTimer = setInterval(churn, 1000);

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (line === 'sample') {
    const s = snapshot(interval);
    interval = newCounters();
    process.stdout.write(`SAMPLE ${JSON.stringify({ ...s, firstJoinError })}\n`);
  } else if (line === 'stop') {
    isRunning = false;
    clearInterval(churnTimer);
    for (const room of active) for (const c of room) for (const t of c.timers) clearInterval(t);
    // Let what was sent arrive before the totals are read.
    setTimeout(() => {
      process.stdout.write(`FINAL ${JSON.stringify({ ...total, deliveryRatio: total.expected ? total.delivered / total.expected : null, firstJoinError })}\n`);
      process.exit(0);
    }, LINGER_MS + 500);
  }
});
// The driver is gone: nothing will stop this process otherwise.
lines.on('close', () => process.exit(1));
