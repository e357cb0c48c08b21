/**
 * Drain on shutdown (parity 1.4): clients on the `ret` channel are told to
 * move (`ret-deploy`), new joins are refused, and sockets close only after
 * the grace period.
 */
import { describe, expect, it } from 'vitest';
import { join, phxSocket, RawClient } from '../support/clients.js';
import { createHub, startTestNode } from '../support/node.js';
import { waitFor, within } from '../support/wait.js';

describe('drain', () => {
  it('answers the ret channel as Reticulum does', async () => {
    const node = await startTestNode();
    const sid = await createHub(node);
    const ret = phxSocket(node).channel('ret', { hub_id: sid });
    const reply = await join(ret);
    expect(reply).toEqual({ session_id: expect.stringMatching(/^[0-9a-f-]{36}$/), vapid_public_key: null });
  });

  it('tells clients to move, refuses new joins, and closes sockets after the grace period', async () => {
    const node = await startTestNode({ env: { HUBMESH_DRAIN_GRACE_MS: '500' } });
    const sid = await createHub(node);
    const notices: unknown[] = [];
    const ret = phxSocket(node).channel('ret', { hub_id: sid });
    ret.on('notice', (n: unknown) => {
      notices.push(n);
    });
    await join(ret);
    const late = await RawClient.open(node);

    const started = Date.now();
    const closing = node.close();
    await waitFor(() => notices.length === 1, 5000, 'the notice');
    expect(notices[0]).toEqual({ event: 'ret-deploy', ret_version: expect.stringMatching(/^\d+\.\d+\.\d+/), ret_pool: 'hubmesh' });
    expect((await node.app.inject({ url: '/readyz' })).statusCode).toBe(503);

    late.send(['1', '1', `hub:${sid}`, 'phx_join', { profile: {}, context: {} }]);
    expect((await late.reply('1'))[4]).toMatchObject({ status: 'error', response: { reason: 'draining' } });

    expect(await within(late.closed, 5000, 'the close')).toEqual({ code: 1001, reason: 'server shutdown' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
    await closing;
  });
});
