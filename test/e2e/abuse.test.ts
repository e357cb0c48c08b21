/**
 * Abuse at the connection level, done with raw sockets: connection floods
 * from one address, slowloris on HTTP and on the websocket upgrade, huge
 * frames, deeply nested JSON and many rooms on one socket. Each is refused
 * clearly and counted in /metrics, and a well-behaved `phoenix` client is
 * unaffected. (Slow readers: backpressure.test.ts; tokens and join refusals:
 * abuse-joins.test.ts.)
 */
import { once } from 'node:events';
import { request } from 'node:http';
import { connect } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import WebSocket from 'ws';
import type { HubmeshNode } from '../../src/main.js';
import { join, phxSocket, profile, RawClient, wsBase } from '../support/clients.js';
import { createHub, startTestNode } from '../support/node.js';
import { within } from '../support/wait.js';

interface Refusal {
  readonly status: number;
  readonly body: string;
}

/** Sends a websocket upgrade for `path` with `headers` and resolves with the answer that is not 101. */
function refusedUpgrade(node: HubmeshNode, path: string, headers: Record<string, string> = {}): Promise<Refusal> {
  const { hostname, port } = new URL(node.url);
  return within(
    new Promise<Refusal>((resolve, reject) => {
      const req = request({ host: hostname, port, path, headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', ...headers } });
      req.on('upgrade', (_res, socket) => {
        socket.destroy();
        reject(new Error(`${path} was upgraded`));
      });
      req.on('response', (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    }),
    5000,
    `the answer to an upgrade of ${path}`,
  );
}

/** A phoenix.js client joins `sid` and gets ok: the limits leave a well-behaved client alone. */
async function wellBehavedJoins(node: HubmeshNode, sid: string): Promise<void> {
  const channel = phxSocket(node).channel(`hub:${sid}`, profile('polite'));
  expect(await join(channel)).toMatchObject({ session_id: expect.any(String) });
}

/** `depth` nested arrays around a number, as JSON text. */
const nested = (depth: number) => `${'['.repeat(depth)}1${']'.repeat(depth)}`;

describe('abuse: connections', () => {
  it('refuses an address its next websocket past HUBMESH_MAX_CONNECTIONS_PER_IP with 429, before the handshake', async () => {
    const node = await startTestNode({ env: { HUBMESH_MAX_CONNECTIONS_PER_IP: '3' } });
    const sid = await createHub(node);
    const held = await Promise.all([0, 1, 2].map(() => RawClient.open(node)));
    const refused = await refusedUpgrade(node, '/socket/websocket?vsn=2.0.0');
    expect(refused.status).toBe(429);
    expect(JSON.parse(refused.body)).toEqual({ code: 'too_many_connections', message: expect.stringContaining('3 sockets') });
    expect(node.metrics.get('ws_upgrades_refused_total', { reason: 'too_many_connections' })).toBe(1);
    // A refused upgrade held no slot, and a closed socket gives its slot back.
    held[0]!.ws.close();
    await within(held[0]!.closed, 5000, 'a socket to close');
    await wellBehavedJoins(node, sid);
    expect(node.metrics.get('ws_upgrades_refused_total', { reason: 'too_many_connections' })).toBe(1);
  });

  it('counts the SFU signaling sockets of an address on their own, with the same cap', async () => {
    const node = await startTestNode({ env: { HUBMESH_MAX_CONNECTIONS_PER_IP: '2' } });
    const sid = await createHub(node);
    const sfu = (peer: string) => new RawClient(`${wsBase(node)}/sfu?roomId=${sid}&peerId=${peer}`);
    const peers = [sfu('a'), sfu('b')];
    await Promise.all(peers.map((p) => within(p.opened, 5000, 'sfu socket open')));
    expect((await refusedUpgrade(node, `/sfu?roomId=${sid}&peerId=c`)).status).toBe(429);
    expect(node.metrics.get('sfu_upgrades_refused_total', { reason: 'too_many_connections' })).toBe(1);
    // The relay socket is another count.
    await wellBehavedJoins(node, sid);
  });

  it('counts the client named by X-Forwarded-For only when the peer is a trusted proxy', async () => {
    const trusting = await startTestNode({ env: { HUBMESH_MAX_CONNECTIONS_PER_IP: '1', HUBMESH_TRUSTED_PROXIES: '127.0.0.0/8, ::1' } });
    const via = (client: string) => ({ 'x-forwarded-for': `${client}, 10.1.2.3` });
    const open = (node: HubmeshNode, headers: Record<string, string>) => {
      const ws = new WebSocket(`${wsBase(node)}/socket/websocket?vsn=2.0.0`, { headers });
      onTestFinished(() => ws.terminate());
      return within(once(ws, 'open'), 5000, 'socket open');
    };
    // 10.1.2.3 is not trusted, so it is the client; the next hop out does not matter.
    await open(trusting, via('203.0.113.1'));
    await open(trusting, { 'x-forwarded-for': '10.9.9.9' });
    expect((await refusedUpgrade(trusting, '/socket/websocket?vsn=2.0.0', via('203.0.113.7'))).status).toBe(429);

    const untrusting = await startTestNode({ env: { HUBMESH_MAX_CONNECTIONS_PER_IP: '1' } });
    await open(untrusting, { 'x-forwarded-for': '203.0.113.1' });
    expect((await refusedUpgrade(untrusting, '/socket/websocket?vsn=2.0.0', { 'x-forwarded-for': '203.0.113.2' })).status).toBe(429);
  });
});

describe('abuse: slowloris', () => {
  const SLOW = { HUBMESH_HTTP_HEADERS_TIMEOUT_MS: '300', HUBMESH_HTTP_REQUEST_TIMEOUT_MS: '600' };

  /** Opens a TCP connection, writes `head`, then `trickle` one byte every 50 ms; resolves with what came back and when it closed. */
  function trickle(node: HubmeshNode, head: string, slowBytes: string): Promise<{ answer: string; elapsedMs: number; sent: number }> {
    const { hostname, port } = new URL(node.url);
    const socket = connect(Number(port), hostname);
    onTestFinished(() => void socket.destroy());
    const startedAt = Date.now();
    let answer = '';
    let sent = 0;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('error', () => undefined);
    socket.write(head);
    const timer = setInterval(() => {
      if (sent >= slowBytes.length || socket.destroyed) return clearInterval(timer);
      socket.write(slowBytes[sent++]!);
    }, 50);
    return within(
      new Promise((resolve) => socket.once('close', () => {
        clearInterval(timer);
        resolve({ answer, elapsedMs: Date.now() - startedAt, sent });
      })),
      5000,
      'the server to close a slow connection',
    );
  }

  it('answers 408 and closes an upgrade whose headers arrive a byte at a time', async () => {
    const node = await startTestNode({ env: SLOW });
    const sid = await createHub(node);
    const headers = 'Host: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n';
    const slow = await trickle(node, 'GET /socket/websocket?vsn=2.0.0 HTTP/1.1\r\n', headers);
    expect(slow.answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(JSON.parse(slow.answer.slice(slow.answer.indexOf('\r\n\r\n') + 4))).toEqual({ code: 'request_timeout', message: expect.any(String) });
    expect(slow.sent).toBeLessThan(headers.length);
    expect(node.metrics.get('http_refused_total', { reason: 'request_timeout' })).toBeGreaterThanOrEqual(1);
    await wellBehavedJoins(node, sid);
  });

  it('answers 408 to a request whose body trickles in past HUBMESH_HTTP_REQUEST_TIMEOUT_MS', async () => {
    const node = await startTestNode({ env: SLOW });
    const body = JSON.stringify({ hub: { name: 'Slow body' } });
    const head = `POST /api/v1/hubs HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
    const slow = await trickle(node, head, body);
    expect(slow.answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(slow.sent).toBeLessThan(body.length);
    expect(node.metrics.get('http_refused_total', { reason: 'request_timeout' })).toBeGreaterThanOrEqual(1);
  });
});

describe('abuse: frames', () => {
  it('closes a socket that sends a frame past HUBMESH_MAX_FRAME_BYTES with 1009, and counts it', async () => {
    const node = await startTestNode({ env: { HUBMESH_MAX_FRAME_BYTES: '1024' } });
    const sid = await createHub(node);
    const c = await RawClient.open(node);
    c.send([null, '1', `hub:${sid}`, 'naf', { pad: 'x'.repeat(2048) }]);
    expect((await within(c.closed, 5000, 'close')).code).toBe(1009);
    expect(node.metrics.get('ws_closed_total', { reason: 'frame_too_large' })).toBe(1);
    await wellBehavedJoins(node, sid);
  });

  it('closes a socket that sends JSON nested past 64 levels with 1007, unparsed, and counts it', async () => {
    const node = await startTestNode();
    const sid = await createHub(node);
    const c = await RawClient.open(node);
    // 60 levels is deep but allowed: the frame is answered (not joined).
    c.send(`[null,"1","hub:${sid}","naf",{"d":${nested(60)}}]`);
    expect((await c.reply('1'))[4]).toMatchObject({ status: 'error', response: { reason: 'unmatched topic' } });
    // Brackets inside strings do not count.
    c.send(`[null,"2","hub:${sid}","naf",{"d":${JSON.stringify(nested(5000))}}]`);
    expect((await c.reply('2'))[4]).toMatchObject({ status: 'error' });
    c.send(`[null,"3","hub:${sid}","naf",{"d":${nested(5000)}}]`);
    expect(await within(c.closed, 5000, 'close')).toEqual({ code: 1007, reason: 'frame nests too deeply' });
    expect(node.metrics.get('ws_closed_total', { reason: 'too_deep' })).toBe(1);
    await wellBehavedJoins(node, sid);
  });

  it('closes an SFU socket on a frame nested too deeply (1007) or too large (1009), and counts both', async () => {
    const node = await startTestNode();
    const sid = await createHub(node);
    const sfu = async (peer: string) => {
      const c = new RawClient(`${wsBase(node)}/sfu?roomId=${sid}&peerId=${peer}`);
      await within(c.opened, 5000, 'sfu socket open');
      return c;
    };
    const deep = await sfu('deep');
    deep.send(`{"request":true,"id":1,"method":"join","data":${nested(5000)}}`);
    expect((await within(deep.closed, 5000, 'close')).code).toBe(1007);
    expect(node.metrics.get('sfu_bad_frames_total', { kind: 'too_deep' })).toBe(1);
    const huge = await sfu('huge');
    huge.send(JSON.stringify({ request: true, id: 1, method: 'join', data: { pad: 'x'.repeat(1024 * 1024) } }));
    expect((await within(huge.closed, 5000, 'close')).code).toBe(1009);
    expect(node.metrics.get('sfu_bad_frames_total', { kind: 'too_large' })).toBe(1);
  });
});

describe('abuse: many rooms on one socket', () => {
  it('refuses a join past HUBMESH_MAX_CHANNELS_PER_SOCKET with too_many_channels; ret does not count, and leaving frees a place', async () => {
    const node = await startTestNode({ env: { HUBMESH_MAX_CHANNELS_PER_SOCKET: '2' } });
    const sids = await Promise.all([0, 1, 2].map((i) => createHub(node, `Room ${i}`)));
    const socket = phxSocket(node);
    await join(socket.channel('ret', {}));
    const [first, second, third] = sids.map((sid) => socket.channel(`hub:${sid}`, profile('many')));
    await join(first!);
    await join(second!);
    const refused = await join(third!).catch((err: { response?: unknown }) => err.response);
    // The client would retry with backoff; leave at once so the count stays exact.
    third!.leave();
    expect(refused).toEqual({ reason: 'too_many_channels', message: expect.stringContaining('at most 2 rooms') });
    expect(node.metrics.get('ws_refused_total', { reason: 'too_many_channels' })).toBe(1);

    await new Promise<void>((resolve) => first!.leave().receive('ok', () => resolve()));
    const again = socket.channel(`hub:${sids[2]}`, profile('many'));
    await join(again);
    await wellBehavedJoins(node, sids[0]!);
  });
});
