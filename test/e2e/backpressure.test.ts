/**
 * A socket that stops reading: unreliable traffic (nafr, um) is dropped for
 * it first; reliable traffic is kept up to the cap, past which the socket is
 * closed with 1013. Everyone else keeps receiving everything.
 */
import type { Socket as NetSocket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { RawClient } from '../support/clients.js';
import { createHub, startTestNode } from '../support/node.js';
import { waitFor } from '../support/wait.js';

const MAX_FRAMES = 4000;

describe('backpressure', () => {
  it('drops unreliable frames for a slow socket before closing it on reliable ones', async () => {
    const node = await startTestNode({
      env: {
        HUBMESH_SOCKET_BUFFER_BYTES: '65536',
        HUBMESH_SOCKET_BUFFER_MAX_BYTES: '1048576',
        HUBMESH_RATE_PER_SEC: '1000000',
        HUBMESH_RATE_BURST: '1000000',
        HUBMESH_MAX_NAF_BYTES: '65536',
      },
    });
    const sid = await createHub(node);
    const topic = `hub:${sid}`;
    const joinAs = async (name: string) => {
      const c = await RawClient.open(node);
      c.send(['1', '1', topic, 'phx_join', { profile: { displayName: name }, context: {} }]);
      expect((await c.reply('1'))[4]['status']).toBe('ok');
      return c;
    };
    const sender = await joinAs('sender');
    const slow = await joinAs('slow');
    const healthy = await joinAs('healthy');
    let healthyNaf = 0;
    healthy.ws.on('message', (d) => {
      if (d.toString().includes('"naf",')) healthyNaf++;
    });
    (slow.ws as unknown as { _socket: NetSocket })._socket.pause();
    let slowClosed: { code: number } | undefined;
    void slow.closed.then((c) => (slowClosed = c));

    const pad = 'x'.repeat(30_000);
    let ref = 10;
    // Round-trips a heartbeat so the sender never runs far ahead of the server.
    const sync = async () => {
      const r = String(ref++);
      sender.send([null, r, 'phoenix', 'heartbeat', {}]);
      await sender.reply(r, 10_000);
      sender.frames.length = 0;
    };

    let sent = 0;
    while (node.metrics.get('ws_dropped_total', { reason: 'slow_consumer' }) === 0 && sent < MAX_FRAMES) {
      for (let i = 0; i < 20; i++, sent++) sender.send(['1', null, topic, 'nafr', { naf: JSON.stringify({ dataType: 'um', data: { d: [], pad } }) }]);
      await sync();
    }
    expect(node.metrics.get('ws_dropped_total', { reason: 'slow_consumer' })).toBeGreaterThan(0);
    expect(slowClosed).toBeUndefined();

    let reliable = 0;
    while (slowClosed === undefined && reliable < MAX_FRAMES) {
      for (let i = 0; i < 20; i++, reliable++) sender.send(['1', null, topic, 'naf', { dataType: 'drawing-n', data: { pad } }]);
      await sync();
      // The close frame cannot be read while the slow socket is paused: watch the server side.
      if (node.metrics.get('ws_closed_total', { reason: 'slow_consumer' }) > 0) break;
    }
    expect(node.metrics.get('ws_closed_total', { reason: 'slow_consumer' })).toBe(1);
    (slow.ws as unknown as { _socket: NetSocket })._socket.resume();
    expect((await slow.closed).code).toBe(1013);

    // The healthy socket got every reliable frame.
    await waitFor(() => healthyNaf >= reliable, 10_000, 'every reliable frame at the healthy socket');
    expect(healthyNaf).toBe(reliable);
  });
});
