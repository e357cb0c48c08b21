// A load-generator process of `npm run bench:sfu`, forked with an IPC
// channel: headless media peers (test/support/wrtc-client.ts on libwebrtc)
// talking to the SFU over its protoo websocket (test/support/protoo-signaling.ts),
// both loaded through Vite's module runner, since they are TypeScript.
//
//   --role producer            one peer that sends a 48 kHz sine (Opus, 50 packets/s)
//   --role consumers --count N N peers that each consume --producer
//
// Each peer signs its own perms token with the key in --perms-key (the
// claims the relay would put in it). Messages to the parent: `ready`
// ({producerId} or {consumers, failed}), `snapshot` (counters) and `error`.
// From the parent: `snapshot`, `stop`. The process closes every peer and
// exits on `stop`, when the parent goes away, or at --deadline-ms.
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SignJWT, importPKCS8 } from 'jose';
import { runnerImport } from 'vite';

const { values: o } = parseArgs({
  options: {
    url: { type: 'string' },
    room: { type: 'string' },
    role: { type: 'string' },
    count: { type: 'string', default: '1' },
    producer: { type: 'string' },
    'perms-key': { type: 'string' },
    'peer-prefix': { type: 'string', default: 'peer' },
    concurrency: { type: 'string', default: '8' },
    'send-ms': { type: 'string', default: '60000' },
    'deadline-ms': { type: 'string', default: '120000' },
  },
});
const root = fileURLToPath(new URL('../../', import.meta.url));
const load = async (path) => (await runnerImport(fileURLToPath(new URL(path, import.meta.url)), { root, configFile: false, logLevel: 'silent' })).module;
const { WrtcClient } = await load('../../test/support/wrtc-client.ts');
const { ProtooSignaling } = await load('../../test/support/protoo-signaling.ts');
const key = await importPKCS8(await readFile(o['perms-key'], 'utf8'), 'RS512');

const peers = [];
let stopping;

/** What the relay signs for a member allowed to join and talk (src/adapters/jose-tokens.ts). */
function permsToken(peerId) {
  return new SignJWT({ hub_id: o.room, session_id: peerId, join_hub: true, voice_chat: true, typ: 'access' })
    .setProtectedHeader({ alg: 'RS512', typ: 'JWT' })
    .setAudience('ret_perms')
    .setIssuer('hubmesh')
    .setIssuedAt()
    .setJti(randomUUID())
    .setExpirationTime('5m')
    .sign(key);
}

async function openPeer(peerId) {
  const url = new URL(o.url);
  url.searchParams.set('roomId', o.room);
  url.searchParams.set('peerId', peerId);
  const signaling = await ProtooSignaling.connect(url.href, { token: await permsToken(peerId), displayName: peerId, timeoutMs: 15_000 });
  const peer = { signaling, client: undefined };
  peers.push(peer);
  peer.client = await WrtcClient.create(signaling, { maxSendMs: Number(o['send-ms']) });
  return peer;
}

async function startProducer() {
  const { signaling, client } = await openPeer(`${o['peer-prefix']}-0`);
  await signaling.join(client.rtpCapabilities);
  return { producerId: await client.produceAudio() };
}

async function startConsumers() {
  const count = Number(o.count);
  let next = 0;
  let failed = 0;
  const errors = [];
  // A few connections at a time: each costs the server an ICE and DTLS handshake in JS.
  const worker = async () => {
    while (next < count && !stopping) {
      const i = next++;
      try {
        const { client } = await openPeer(`${o['peer-prefix']}-${i}`);
        await client.consume(o.producer);
      } catch (err) {
        failed++;
        if (errors.length < 3) errors.push(String(err?.message ?? err));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(Number(o.concurrency), count) }, worker));
  // Ready when every consumer has had packets: DTLS is up and the forwarding runs.
  const until = Date.now() + 15_000;
  for (;;) {
    const s = await snapshot();
    if (s.receiving >= count - failed || Date.now() > until) return { consumers: count - failed, failed, receiving: s.receiving, errors };
    await new Promise((r) => setTimeout(r, 200));
  }
}

const lastReceived = new Map();

/** Counters over every peer; `stalled` consumers received nothing since the previous snapshot. */
async function snapshot() {
  let received = 0;
  let lost = 0;
  let receiving = 0;
  let stalled = 0;
  let sent = 0;
  for (const { client } of peers) {
    if (!client) continue;
    sent += await client.packetsSent();
    for (const s of await client.receiveStats()) {
      received += s.packetsReceived;
      lost += s.packetsLost;
      if (s.packetsReceived > 0) receiving++;
      if (lastReceived.has(s.consumerId) && lastReceived.get(s.consumerId) === s.packetsReceived) stalled++;
      lastReceived.set(s.consumerId, s.packetsReceived);
    }
  }
  return { at: Date.now(), received, lost, receiving, stalled, sent };
}

function stop(code) {
  stopping ??= (async () => {
    // Bounded even if a close hangs in native code.
    setTimeout(() => process.exit(code || 1), 10_000).unref();
    await Promise.all(
      peers.map(async ({ client, signaling }) => {
        await client?.close().catch(() => {});
        await signaling.close().catch(() => {});
      }),
    );
    process.exit(code);
  })();
  return stopping;
}

process.on('message', (m) => {
  if (m?.cmd === 'snapshot') snapshot().then((s) => process.send({ type: 'snapshot', ...s }), (err) => process.send({ type: 'error', error: String(err) }));
  else if (m?.cmd === 'stop') void stop(0);
});
process.on('disconnect', () => void stop(0));
setTimeout(() => {
  process.stderr.write(`sfu-loadgen: deadline of ${o['deadline-ms']} ms reached\n`);
  void stop(2);
}, Number(o['deadline-ms'])).unref();

try {
  const ready = o.role === 'producer' ? await startProducer() : await startConsumers();
  process.send({ type: 'ready', ...ready });
} catch (err) {
  process.send({ type: 'error', error: String(err?.stack ?? err) });
  await stop(1);
}
