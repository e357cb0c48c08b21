// The baselines of `npm run bench`: a bare `ws` relay that re-sends each frame
// to the other sockets of its room, one ws.send per recipient, and answers
// Phoenix joins so the same load generator can drive it. Nothing else.
//
// With --batch-ms N it is instead the floor of batched relaying: each
// message is framed once, each recipient gets a reference to that frame, and
// every N ms each socket gets one write of its frames joined. No protocol,
// no rooms' rules, no metrics: what hubmesh's relay costs beyond this is its
// own work.
//
//   node ops/bench/baseline-relay.mjs [--batch-ms N]   (prints `LISTEN <url>` when ready)
import { parseArgs } from 'node:util';
import { WebSocketServer } from 'ws';

const { values: o } = parseArgs({ options: { 'batch-ms': { type: 'string', default: '0' } } });
const BATCH_MS = Number(o['batch-ms']);

/** One unmasked text frame (RFC 6455) of `data`. */
function frame(data) {
  const length = data.length;
  const header = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const out = Buffer.allocUnsafe(header + length);
  out[0] = 0x81;
  if (length < 126) out[1] = length;
  else if (length < 65536) {
    out[1] = 126;
    out.writeUInt16BE(length, 2);
  } else {
    out[1] = 127;
    out.writeBigUInt64BE(BigInt(length), 2);
  }
  data.copy(out, header);
  return out;
}

/** Sockets with frames waiting for the next batch, and their frames. */
const pending = new Map();
if (BATCH_MS > 0) {
  setInterval(() => {
    for (const [ws, frames] of pending) ws._socket.write(frames.length === 1 ? frames[0] : Buffer.concat(frames));
    pending.clear();
  }, BATCH_MS);
}

function relay(ws, room, data) {
  if (BATCH_MS === 0) {
    for (const peer of room) if (peer !== ws) peer.send(data, { binary: false });
    return;
  }
  const bytes = frame(data);
  for (const peer of room) {
    if (peer === ws) continue;
    const frames = pending.get(peer);
    if (frames) frames.push(bytes);
    else pending.set(peer, [bytes]);
  }
}

const rooms = new Map();
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
wss.on('connection', (ws) => {
  let room;
  ws.on('message', (data) => {
    if (room === undefined) {
      // The first frame is the join: [join_ref, ref, topic, "phx_join", payload].
      const [joinRef, ref, topic] = JSON.parse(data.toString());
      room = rooms.get(topic) ?? new Set();
      rooms.set(topic, room);
      room.add(ws);
      ws.send(JSON.stringify([joinRef, ref, topic, 'phx_reply', { status: 'ok', response: {} }]));
      return;
    }
    relay(ws, room, data);
  });
  ws.on('close', () => {
    room?.delete(ws);
    pending.delete(ws);
  });
});
wss.on('listening', () => process.stdout.write(`LISTEN http://127.0.0.1:${wss.address().port}\n`));
process.on('SIGTERM', () => wss.close(() => process.exit(0)));
