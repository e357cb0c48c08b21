/**
 * The socket-wide `ret` channel (parity 2.2): joining with or without an
 * account token, and global perms tokens from `refresh_perms_token`.
 */
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import { accountMaker } from '../support/accounts.js';
import { join, phxSocket } from '../support/clients.js';
import { startTestNode } from '../support/node.js';
import { within } from '../support/wait.js';

const claimsOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;

function refresh(channel: ReturnType<ReturnType<typeof phxSocket>['channel']>): Promise<Record<string, unknown>> {
  return within(
    new Promise((resolve, reject) => {
      channel.push('refresh_perms_token', {}).receive('ok', resolve).receive('error', reject);
    }),
    5000,
    'refresh_perms_token',
  );
}

describe('ret channel', () => {
  it('joins a guest, and answers refresh_perms_token with global perms for the session', async () => {
    const node = await startTestNode();
    const socket = phxSocket(node);
    const channel = socket.channel('ret', { hub_id: 'AbCdEfG' });
    const reply = await join(channel);
    expect(reply).toEqual({ session_id: expect.any(String), vapid_public_key: null });
    const claims = claimsOf((await refresh(channel))['perms_token'] as string);
    expect(claims).toMatchObject({ aud: 'ret_perms', create_hub: true, tweet: false, account_id: null, sub: reply['session_id'] });
    expect(claims).not.toHaveProperty('kick_users');
  });

  it('signs an account in, and refuses a token that does not verify with "Sign in failed"', async () => {
    const store = new MemoryStore();
    const node = await startTestNode({ adapters: { store } });
    const { accountId, token } = await (await accountMaker(node, store))({ email: 'admin@example.org', isAdmin: true });

    const signedIn = phxSocket(node).channel('ret', { hub_id: 'AbCdEfG', token });
    await join(signedIn);
    expect(claimsOf((await refresh(signedIn))['perms_token'] as string)).toMatchObject({ account_id: String(accountId), postgrest_role: 'ret_admin' });

    const [header, payload, signature] = token.split('.');
    const forged = `${header}.${payload}.${signature!.startsWith('A') ? 'B' : 'A'}${signature!.slice(1)}`;
    const refused = phxSocket(node).channel('ret', { hub_id: 'AbCdEfG', token: forged });
    await expect(join(refused)).rejects.toMatchObject({ response: { message: 'Sign in failed', reason: 'invalid_token' } });
  });
});
