// The baseline of `npm run bench`: a bare `ws` relay that re-sends each frame
// to the other sockets of its room, one ws.send per recipient, and answers
// Phoenix joins so the same load generator can drive it. Nothing else.
//
//   node ops/bench/baseline-relay.mjs   (prints `LISTEN <url>` when ready)
import { WebSocketServer } from 'ws';

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
    for (const peer of room) if (peer !== ws) peer.send(data, { binary: false });
  });
  ws.on('close', () => room?.delete(ws));
});
wss.on('listening', () => process.stdout.write(`LISTEN http://127.0.0.1:${wss.address().port}\n`));
process.on('SIGTERM', () => wss.close(() => process.exit(0)));
