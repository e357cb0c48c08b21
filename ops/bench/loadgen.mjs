// The load generator of `npm run bench`: R rooms of N Phoenix V2 clients, each
// sending `rate` nafr updates a second of about `payload` bytes with a send
// timestamp, spread over the server URLs (clients of a room alternate between
// them). Measures deliveries, latency and the server's CPU (user+sys from
// /proc/<pid>/stat) over the measured window, and prints one JSON line.
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { cpuSeconds, createRooms, quantile } from './lib.mjs';

const { values: o } = parseArgs({
  options: {
    urls: { type: 'string' },
    pid: { type: 'string' },
    rooms: { type: 'string', default: '8' },
    clients: { type: 'string', default: '24' },
    rate: { type: 'string', default: '20' },
    payload: { type: 'string', default: '200' },
    duration: { type: 'string', default: '10' },
    'create-rooms': { type: 'boolean', default: false },
  },
});
const urls = o.urls.split(',');
const [R, N, HZ, PAYLOAD, DURATION_MS] = [Number(o.rooms), Number(o.clients), Number(o.rate), Number(o.payload), Number(o.duration) * 1000];
const WARMUP_MS = 1000;
const cpu = () => cpuSeconds(o.pid);

function roomIds() {
  if (!o['create-rooms']) return Array.from({ length: R }, (_, r) => `bench${r}`);
  return createRooms(urls[0], R, Math.max(N, 1));
}

let isMeasuring = false;
let windowStart = Infinity;
let delivered = 0;
const latencies = [];
const clients = [];
for (const [r, sid] of (await roomIds()).entries()) {
  for (let i = 0; i < N; i++) {
    const ws = new WebSocket(`${urls[(r * N + i) % urls.length].replace(/^http/, 'ws')}/socket/websocket?vsn=2.0.0`);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const client = { ws, topic: `hub:${sid}`, me: `c${r}-${i}`, sent: 0 };
    const joined = new Promise((resolve) => {
      ws.on('message', (data) => {
        const text = data.toString();
        if (text.includes('"phx_reply"') && text.startsWith('["1","1"')) {
          const m = /"session_id":"([^"]+)"/.exec(text);
          if (m) client.me = m[1];
          resolve();
          return;
        }
        if (!isMeasuring || !text.includes('nafr')) return;
        const t = /\\"t\\":(\d+)/.exec(text) ?? /"t":(\d+)/.exec(text);
        // Only what was sent inside the measured window counts.
        if (!t || Number(t[1]) < windowStart) return;
        delivered++;
        latencies.push(Date.now() - Number(t[1]));
      });
    });
    ws.send(JSON.stringify(['1', '1', client.topic, 'phx_join', { profile: { displayName: client.me }, context: {} }]));
    await joined;
    clients.push(client);
  }
}

const pad = 'x'.repeat(Math.max(0, PAYLOAD - 150));
let sent = 0;
const send = (c, k) => {
  const t = Date.now();
  const naf = JSON.stringify({ dataType: 'um', data: { d: [{ networkId: `n-${c.me}`, owner: c.me, lastOwnerTime: 0, components: { t, k, p: pad } }] } });
  c.ws.send(JSON.stringify(['1', null, c.topic, 'nafr', { naf }]));
  // Counted by the same rule as deliveries: sent inside the window.
  if (t >= windowStart) sent++;
};
const timers = clients.map((c, i) =>
  setTimeout(() => {
    let k = 0;
    c.timer = setInterval(() => send(c, k++), 1000 / HZ);
  }, (i * 997) % Math.ceil(1000 / HZ)),
);
await new Promise((r) => setTimeout(r, WARMUP_MS));
const cpu0 = cpu();
const t0 = Date.now();
windowStart = t0;
isMeasuring = true;
await new Promise((r) => setTimeout(r, DURATION_MS));
for (const t of timers) clearTimeout(t);
for (const c of clients) clearInterval(c.timer);
const sendEnd = Date.now();
// Nothing sent after the window is counted as sent; what it still delivers is not counted either.
const countSent = sent;
// Let what was sent in the window arrive.
await new Promise((r) => setTimeout(r, 1000));
isMeasuring = false;
const cpuS = cpu() - cpu0;
latencies.sort((a, b) => a - b);
const q = (p) => quantile(latencies, p);
const expected = countSent * (N - 1);
process.stdout.write(
  `${JSON.stringify({ clients: clients.length, sent: countSent, delivered, expected, deliveryRatio: expected ? delivered / expected : 0, serverCpuS: cpuS, deliveriesPerCpuS: cpuS > 0 ? Math.round(delivered / cpuS) : null, sendWindowS: (sendEnd - t0) / 1000, p50: q(0.5), p99: q(0.99), max: latencies.at(-1) ?? null })}\n`,
);
for (const c of clients) c.ws.terminate();
process.exit(0);
