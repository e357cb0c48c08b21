/**
 * Exact Phoenix Channels framing (parity 1.2-1.3) and the limits on bad
 * input, checked frame by frame with a raw websocket.
 */
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { RawClient, wsBase } from '../support/clients.js';
import { createHub, startTestNode } from '../support/node.js';
import { within } from '../support/wait.js';

const joinPayload = { profile: { displayName: 'raw' }, context: {} };

describe('Phoenix V2 framing', () => {
  it('answers heartbeats on the phoenix topic', async () => {
    const node = await startTestNode();
    const c = await RawClient.open(node);
    c.send([null, '7', 'phoenix', 'heartbeat', {}]);
    expect(await c.reply('7')).toEqual([null, '7', 'phoenix', 'phx_reply', { status: 'ok', response: {} }]);
  });

  it('echoes join_ref and ref, pushes presence_state with join_ref and broadcasts with nulls', async () => {
    const node = await startTestNode();
    const sid = await createHub(node);
    const topic = `hub:${sid}`;
    const c = await RawClient.open(node);
    c.send(['1', '1', topic, 'phx_join', joinPayload]);
    const reply = await c.reply('1');
    expect(reply.slice(0, 4)).toEqual(['1', '1', topic, 'phx_reply']);
    expect(reply[4]['status']).toBe('ok');
    const state = await c.next((f) => f[3] === 'presence_state');
    expect(state.slice(0, 3)).toEqual(['1', null, topic]);
    const diff = await c.next((f) => f[3] === 'presence_diff');
    expect(diff.slice(0, 3)).toEqual([null, null, topic]);

    // phx_leave: ok reply, then phx_close with ref = join_ref.
    c.send(['1', '2', topic, 'phx_leave', {}]);
    expect(await c.reply('2')).toEqual(['1', '2', topic, 'phx_reply', { status: 'ok', response: {} }]);
    expect(await c.next((f) => f[3] === 'phx_close')).toEqual(['1', '1', topic, 'phx_close', {}]);

    // Anything on a topic the socket has not joined: "unmatched topic".
    c.send(['1', '3', topic, 'naf', { dataType: 'u', data: {} }]);
    expect((await c.reply('3'))[4]).toMatchObject({ status: 'error', response: { reason: 'unmatched topic' } });
    // Leaving a topic that is not joined is still ok, as in Phoenix.
    c.send([null, '4', 'hub:nothing', 'phx_leave', {}]);
    expect((await c.reply('4'))[4]).toEqual({ status: 'ok', response: {} });
  });

  it('closes the old channel on a duplicate join and keeps one presence', async () => {
    const node = await startTestNode();
    const sid = await createHub(node);
    const topic = `hub:${sid}`;
    const c = await RawClient.open(node);
    c.send(['1', '1', topic, 'phx_join', joinPayload]);
    await c.reply('1');
    c.send(['3', '3', topic, 'phx_join', joinPayload]);
    expect(await c.next((f) => f[3] === 'phx_close')).toEqual(['1', '1', topic, 'phx_close', {}]);
    expect((await c.reply('3'))[4]['status']).toBe('ok');
    const state = await c.next((f) => f[3] === 'presence_state' && f[0] === '3');
    const entries = Object.values(state[4]) as { metas: unknown[] }[];
    expect(entries).toHaveLength(1);
    expect(entries[0]!.metas).toHaveLength(1);
  });

  it('speaks V1 objects when vsn is absent', async () => {
    const node = await startTestNode();
    const sid = await createHub(node);
    const c = await RawClient.open(node, '');
    c.send({ topic: `hub:${sid}`, event: 'phx_join', payload: joinPayload, ref: '1' });
    const reply = await c.next<Record<string, unknown>>((f) => f['event'] === 'phx_reply');
    expect(reply).toMatchObject({ topic: `hub:${sid}`, ref: '1', payload: { status: 'ok' } });
    c.send({ topic: 'phoenix', event: 'heartbeat', payload: {}, ref: '2' });
    expect(await c.next<Record<string, unknown>>((f) => f['ref'] === '2')).toMatchObject({ event: 'phx_reply', payload: { status: 'ok', response: {} } });
  });

  it('refuses unknown paths and unsupported protocol versions at the upgrade', async () => {
    const node = await startTestNode();
    const status = (url: string) =>
      within(
        new Promise<number>((resolve) => {
          const ws = new WebSocket(url);
          ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
          ws.on('error', () => undefined);
        }),
        5000,
        'upgrade refusal',
      );
    expect(await status(`${wsBase(node)}/socket/websocket?vsn=3.0.0`)).toBe(400);
    expect(await status(`${wsBase(node)}/elsewhere`)).toBe(404);
  });
});

describe('bad input and limits', () => {
  it('replies to a frame with a bad payload and closes on one that is not a frame', async () => {
    const node = await startTestNode();
    const c = await RawClient.open(node);
    c.send([null, '1', 'hub:abc', 'naf', [1, 2]]);
    expect((await c.reply('1'))[4]).toMatchObject({ status: 'error', response: { reason: 'bad_request' } });
    c.send([null, '2', 'phoenix', 'heartbeat', 'x']);
    expect((await c.reply('2'))[4]).toMatchObject({ status: 'error' });
    c.send('{"not": "json"');
    expect(await within(c.closed, 5000, 'close')).toEqual({ code: 1007, reason: 'malformed frame' });
    expect(node.metrics.get('ws_closed_total', { reason: 'malformed_frame' })).toBe(1);
  });

  it('refuses binary frames: a reply to a binary push, a close for garbage', async () => {
    const node = await startTestNode();
    const c = await RawClient.open(node);
    const fields = ['1', '5', 'hub:abc', 'naf'].map((s) => Buffer.from(s));
    c.ws.send(Buffer.concat([Buffer.from([0, ...fields.map((f) => f.length)]), ...fields, Buffer.from([1, 2, 3])]));
    expect((await c.reply('5'))[4]).toMatchObject({ status: 'error', response: { reason: 'binary_not_supported' } });
    c.ws.send(Buffer.from([9, 9, 9]));
    expect((await within(c.closed, 5000, 'close')).code).toBe(1003);
  });

  it('closes a socket that sends a frame over the size limit with 1009 and spares the others', async () => {
    const node = await startTestNode({ env: { HUBMESH_MAX_FRAME_BYTES: '2048' } });
    const big = await RawClient.open(node);
    const other = await RawClient.open(node);
    big.send([null, '1', 'phoenix', 'heartbeat', { pad: 'x'.repeat(4096) }]);
    expect((await within(big.closed, 5000, 'close')).code).toBe(1009);
    other.send([null, '1', 'phoenix', 'heartbeat', {}]);
    expect((await other.reply('1'))[4]).toEqual({ status: 'ok', response: {} });
  });

  it('refuses frames past the rate limit, then closes a socket that keeps flooding', async () => {
    const node = await startTestNode({ env: { HUBMESH_RATE_PER_SEC: '1', HUBMESH_RATE_BURST: '10' } });
    const c = await RawClient.open(node);
    for (let i = 0; i < 15; i++) c.send([null, String(i), 'phoenix', 'heartbeat', {}]);
    const limited = await c.reply('14');
    expect(limited[4]).toMatchObject({ status: 'error', response: { reason: 'rate_limited' } });
    expect((await c.reply('0'))[4]).toEqual({ status: 'ok', response: {} });
    for (let i = 15; i < 40; i++) c.send([null, String(i), 'phoenix', 'heartbeat', {}]);
    expect((await within(c.closed, 5000, 'close')).code).toBe(1008);
    expect(node.metrics.get('ws_closed_total', { reason: 'rate_limited' })).toBe(1);
  });

  it('closes idle sockets with 1000 and keeps sockets that heartbeat', async () => {
    const node = await startTestNode({ env: { HUBMESH_IDLE_TIMEOUT_MS: '400' } });
    const idle = await RawClient.open(node);
    const active = await RawClient.open(node);
    let n = 0;
    const beat = setInterval(() => active.send([null, String(n++), 'phoenix', 'heartbeat', {}]), 50);
    try {
      expect(await within(idle.closed, 5000, 'idle close')).toEqual({ code: 1000, reason: 'idle timeout' });
      expect(active.ws.readyState).toBe(WebSocket.OPEN);
    } finally {
      clearInterval(beat);
    }
  });
});

describe('shutdown', () => {
  it('closes client sockets with 1001 and stops answering readiness', async () => {
    const node = await startTestNode();
    const sid = await createHub(node);
    const c = await RawClient.open(node);
    c.send(['1', '1', `hub:${sid}`, 'phx_join', joinPayload]);
    await c.reply('1');
    expect(node.registry.size).toBe(1);
    await node.close();
    expect(await within(c.closed, 5000, 'close')).toEqual({ code: 1001, reason: 'server shutdown' });
    expect(node.registry.size).toBe(0);
    expect((await node.app.inject({ url: '/readyz' }).catch(() => ({ statusCode: 503 }))).statusCode).toBe(503);
  });
});
