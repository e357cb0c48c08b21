// One client process of the `idle` scenario of `npm run bench:idle-join`:
// opens --count Phoenix V2 sockets, --concurrency at a time, each joined to a
// room of --room-size, and holds them until it is stopped. The bench splits
// its sockets over several such processes, so no process, the load generator
// included, needs more open files than its limit allows.
//
// Sockets are numbered from --first over the whole run; socket i joins room
// floor(i / room-size), and --rooms lists the hub ids of the rooms this
// process's sockets join, the first being room floor(first / room-size).
//
//   node ops/bench/idle-clients.mjs --url http://127.0.0.1:PORT --rooms ID,ID,...
//                                   --first 0 --count 10000 [--concurrency 25] [--room-size 24]
//
// It prints, one JSON object a line after the word:
//   `PROGRESS {"joined":n}` about once a second while joining;
//   `JOINED {"joined":n,"seconds":s}` once every socket has joined;
//   `FAILED {"joined":n,"error":"..."}` if a join fails, and then exits 1.
// Joined sockets send a heartbeat every HEARTBEAT_MS so the server's idle
// timeout does not close them during a long run. On SIGTERM it closes every
// socket and exits.
import { parseArgs } from 'node:util';
import WebSocket from 'ws';

const { values: o } = parseArgs({
  options: {
    url: { type: 'string' },
    rooms: { type: 'string' },
    first: { type: 'string', default: '0' },
    count: { type: 'string' },
    concurrency: { type: 'string', default: '25' },
    'room-size': { type: 'string', default: '24' },
  },
});
const [FIRST, COUNT, CONCURRENCY, ROOM_SIZE] = [o.first, o.count, o.concurrency, o['room-size']].map(Number);
const ROOMS = (o.rooms ?? '').split(',').filter(Boolean);
if (!o.url || ![COUNT, CONCURRENCY, ROOM_SIZE].every((n) => Number.isInteger(n) && n > 0) || !(Number.isInteger(FIRST) && FIRST >= 0)) {
  throw new Error('--url is required; --count, --concurrency and --room-size take positive integers, --first an integer >= 0');
}
const firstRoom = Math.floor(FIRST / ROOM_SIZE);
if (ROOMS.length < Math.floor((FIRST + COUNT - 1) / ROOM_SIZE) - firstRoom + 1) throw new Error('--rooms lists fewer rooms than --first and --count need');
const JOIN_TIMEOUT_MS = 30_000;
// Phoenix clients send one every 30 s; the server closes a socket silent for 60 s.
const HEARTBEAT_MS = 30_000;
const PROGRESS_MS = 1000;
const wsUrl = `${o.url.replace(/^http/, 'ws')}/socket/websocket?vsn=2.0.0`;

const print = (word, body) => process.stdout.write(`${word} ${JSON.stringify(body)}\n`);

const sockets = [];

/** Opens a socket and joins `hub:<sid>`; resolves with the socket once the join is acknowledged. */
function joinOne(sid, name) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl);
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`join of ${name} timed out`));
    }, JOIN_TIMEOUT_MS);
    ws.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    ws.once('open', () => ws.send(JSON.stringify(['1', '1', `hub:${sid}`, 'phx_join', { profile: { displayName: name }, context: {} }])));
    const onMessage = (data) => {
      const text = data.toString();
      if (!text.startsWith('["1","1"') || !text.includes('"phx_reply"')) return;
      clearTimeout(timer);
      ws.off('message', onMessage);
      if (!text.includes('"status":"ok"')) return reject(new Error(`join of ${name} refused: ${text.slice(0, 200)}`));
      // Joined sockets only listen (presence diffs, heartbeat replies).
      ws.on('message', () => undefined);
      resolve(ws);
    };
    ws.on('message', onMessage);
  });
}

let heartbeatRef = 0;
const heartbeat = setInterval(() => {
  const frame = JSON.stringify([null, String(++heartbeatRef), 'phoenix', 'heartbeat', {}]);
  for (const ws of sockets) if (ws.readyState === WebSocket.OPEN) ws.send(frame);
}, HEARTBEAT_MS);

process.once('SIGTERM', () => {
  clearInterval(heartbeat);
  for (const ws of sockets) ws.terminate();
  process.exit(0);
});

const t0 = performance.now();
const progress = setInterval(() => print('PROGRESS', { joined: sockets.length }), PROGRESS_MS);
let next = 0;
const worker = async () => {
  while (next < COUNT) {
    const i = FIRST + next++;
    sockets.push(await joinOne(ROOMS[Math.floor(i / ROOM_SIZE) - firstRoom], `c${i}`));
  }
};
try {
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, COUNT) }, worker));
  clearInterval(progress);
  print('JOINED', { joined: sockets.length, seconds: Math.round((performance.now() - t0) / 100) / 10 });
} catch (err) {
  clearInterval(progress);
  print('FAILED', { joined: sockets.length, error: String(err?.message ?? err) });
  process.exit(1);
}
