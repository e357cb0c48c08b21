/**
 * A fault while the server handles one client's event errors that client's
 * channel (phx_error), as a crashed channel process does in Phoenix, and
 * phoenix.js rejoins on its own. The fault is injected by making the chat
 * decision throw for one message body.
 */
import { Presence } from 'phoenix';
import { describe, expect, it, vi } from 'vitest';
import { join, joinHub, phxSocket, profile } from '../support/clients.js';
import { createHub, startTestNode } from '../support/node.js';
import { waitFor } from '../support/wait.js';

vi.mock('../../src/core/chat.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../src/core/chat.js')>();
  return {
    ...original,
    decideChat: (payload: Record<string, unknown>, sender: Parameters<typeof original.decideChat>[1]) => {
      if (payload['body'] === 'crash the channel') throw new Error('injected fault');
      return original.decideChat(payload, sender);
    },
  };
});

describe('channel errors', () => {
  it('errors only the faulting channel, and phoenix.js rejoins it', async () => {
    const node = await startTestNode();
    const sid = await createHub(node);
    const a = await joinHub(node, sid, 'alice');
    const bSocket = phxSocket(node);
    const b = { channel: bSocket.channel(`hub:${sid}`, profile('bob')) };
    const presence = new Presence(b.channel);
    await join(b.channel);
    let errors = 0;
    let joins = 0;
    a.channel.onError(() => {
      errors++;
    });
    a.channel.on('presence_state', () => {
      joins++;
    });

    a.channel.push('message', { type: 'chat', body: 'crash the channel' });
    await waitFor(() => errors === 1, 5000, 'phx_error on alice');
    // The client rejoins after its rejoin backoff (1 s) and gets a fresh presence_state.
    await waitFor(() => joins >= 1 && a.channel.state === 'joined', 8000, 'alice rejoined');
    expect(node.metrics.get('hub_item_faults_total', { type: 'hub/event' })).toBe(1);

    // Bob never noticed more than alice leaving and coming back; the room still relays.
    await waitFor(() => presence.list().length === 2, 5000, 'both present');
    const got = new Promise((resolve) => b.channel.on('message', resolve));
    a.channel.push('message', { type: 'chat', body: 'back again' });
    expect(await got).toMatchObject({ body: 'back again', session_id: a.sessionId });
    expect(b.channel.state).toBe('joined');
  });
});
