// Server CPU per relayed `um` message with entity arbitration on, as a ratio
// to relaying it unparsed (the relay core's path), measured in one run.
//
// Both paths run through the real room code (dist/, built by `npm run build`)
// for a Hubs-sized room: 24 members, each owning 3 entities and sending
// 15 Hz-style `um` updates as `nafr`, relayed to the 23 others. Each relayed
// frame is encoded once and framed per socket as the websocket layer does;
// socket writes are left out, so the figure is the relay's own CPU. The two
// paths alternate in rounds so drift on a shared machine hits both alike.
//
//   node ops/bench/arbitration.mjs [--messages N] [--rounds R] [--json]
import { parseArgs } from 'node:util';
import { Room } from '../../dist/actors/hub/room.js';
import { handleEvent } from '../../dist/actors/hub/events.js';
import { decideNafr } from '../../dist/src/core/naf.js';
import { guestPermissions } from '../../dist/src/core/permissions.js';
import { MemoryMetrics } from '../../dist/src/adapters/memory-metrics.js';
import pino from 'pino';

const { values } = parseArgs({ options: { messages: { type: 'string', default: '20000' }, rounds: { type: 'string', default: '6' }, json: { type: 'boolean', default: false } } });
const MESSAGES = Number(values.messages);
const ROUNDS = Number(values.rounds);
const MEMBERS = 24;
const ENTITIES_PER_MEMBER = 3;

const hub = { hubSid: 'BenchRm', name: 'Bench', slug: 'bench', description: null, userData: null, roomSize: 24, memberPermissions: 0xff, entryMode: 'allow', allowPromotion: false, creatorAssignmentToken: 'x', embedToken: 'y', createdAt: new Date(0) };
let sink = 0;
const conn = (i) => ({
  connId: `c${i}`,
  sessionId: `session-${String(i).padStart(2, '0')}-0000-4000-8000-000000000000`,
  sessionToken: 't',
  isOpen: true,
  send(frame) {
    sink += frame.wire(2).length;
  },
  endChannel() {},
});

function makeRoom() {
  let ref = 0;
  const room = new Room(hub, {
    clock: { now: () => Date.now(), setTimeout: () => ({ cancel() {} }), setInterval: () => ({ cancel() {} }) },
    metrics: new MemoryMetrics(),
    log: pino({ level: 'silent' }),
    tokens: null,
    makeRef: () => `r${ref++}`,
    baseUrl: () => 'http://127.0.0.1',
    limits: { maxNafBytes: 32768, maxEntitiesPerSession: 256, handoverLeadMs: 2000 },
  });
  const conns = Array.from({ length: MEMBERS }, (_, i) => conn(i));
  for (const c of conns) {
    room.seat(c, '1', { sessionId: c.sessionId, presence: 'room', profile: { displayName: c.connId }, context: {}, roles: { owner: false, creator: false, signed_in: false }, permissions: guestPermissions(hub), flags: {} });
  }
  // Every member creates its entities, so the table holds 72 owned objects.
  conns.forEach((c, i) => {
    for (let e = 0; e < ENTITIES_PER_MEMBER; e++) {
      const data = { networkId: `n${i}-${e}`, owner: c.sessionId, creator: c.sessionId, lastOwnerTime: 1000, template: '#remote-avatar', persistent: false, parent: null, components: { 0: { x: 0, y: 0, z: 0 } }, isFirstSync: true };
      handleEvent(room, { type: 'hub/event', conn: c, frame: { joinRef: '1', ref: null, topic: room.topic, event: 'naf', payload: { dataType: 'u', data } }, size: 300 });
    }
  });
  return { room, conns };
}

// ~200-byte updates, as Hubs' avatar and object poses are.
function messageFor(conns, k) {
  const i = k % MEMBERS;
  const e = Math.floor(k / MEMBERS) % ENTITIES_PER_MEMBER;
  const naf = JSON.stringify({ dataType: 'um', data: { d: [{ networkId: `n${i}-${e}`, owner: conns[i].sessionId, lastOwnerTime: 1000, components: { 0: { x: k % 7, y: 1.6, z: -(k % 5) }, 1: { x: 0, y: (k % 360) / 57.3, z: 0 } } }] } });
  return { conn: conns[i], payload: { naf } };
}

function runArbitrated(room, conns) {
  const start = process.cpuUsage();
  for (let k = 0; k < MESSAGES; k++) {
    const { conn: c, payload } = messageFor(conns, k);
    handleEvent(room, { type: 'hub/event', conn: c, frame: { joinRef: '1', ref: null, topic: room.topic, event: 'nafr', payload }, size: payload.naf.length + 40 });
  }
  const used = process.cpuUsage(start);
  return (used.user + used.system) / MESSAGES;
}

// The relay core's path: Reticulum's nafr rule, then one broadcast of the string as it came.
function runRelayOnly(room, conns) {
  const start = process.cpuUsage();
  for (let k = 0; k < MESSAGES; k++) {
    const { conn: c, payload } = messageFor(conns, k);
    const decision = decideNafr(payload, { sessionId: c.sessionId, permissions: guestPermissions(hub) });
    room.broadcast('nafr', decision.payload, { except: c.connId, isDroppable: true, from: c.sessionId, isNaf: true });
  }
  const used = process.cpuUsage(start);
  return (used.user + used.system) / MESSAGES;
}

const { room, conns } = makeRoom();
runArbitrated(room, conns);
runRelayOnly(room, conns);
const arbitrated = [];
const relayOnly = [];
for (let r = 0; r < ROUNDS; r++) {
  arbitrated.push(runArbitrated(room, conns));
  relayOnly.push(runRelayOnly(room, conns));
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const result = {
  members: MEMBERS,
  messagesPerRound: MESSAGES,
  rounds: ROUNDS,
  relayOnlyUsPerMessage: Number(median(relayOnly).toFixed(2)),
  arbitratedUsPerMessage: Number(median(arbitrated).toFixed(2)),
  ratio: Number((median(arbitrated) / median(relayOnly)).toFixed(3)),
  droppedOutdated: room.deps.metrics.get('hub_dropped_total', { reason: 'outdated' }),
  bytesFramed: sink,
};
if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
else {
  process.stdout.write(`relay of one um to ${MEMBERS - 1} members, server CPU per message (median of ${ROUNDS} rounds of ${MESSAGES}):\n`);
  process.stdout.write(`  relay only (unparsed):  ${result.relayOnlyUsPerMessage} us\n`);
  process.stdout.write(`  with arbitration:       ${result.arbitratedUsPerMessage} us\n`);
  process.stdout.write(`  ratio:                  ${result.ratio}\n`);
}
