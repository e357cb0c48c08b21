/**
 * Abuse at the door of a room: tokens replayed after they expired (account
 * tokens on `ret` and `hub:`, session tokens on connect, perms tokens at the
 * SFU) and joins to rooms the client may not enter (unknown, closed,
 * invite-only, banned, full). Each is refused as Reticulum refuses it and
 * counted by reason in /metrics; a well-behaved `phoenix` client is unaffected.
 */
import { createPrivateKey } from 'node:crypto';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import { loadSecrets } from '../../src/secrets.js';
import { FakeMedia } from '../../sfu/fake-media.js';
import { accountMaker } from '../support/accounts.js';
import { join, joinHub, phxSocket, profile } from '../support/clients.js';
import { createHub, startTestNode } from '../support/node.js';
import { SfuClient } from '../support/sfu-client.js';

/** Ten minutes past expiry: well beyond the 60 s of clock drift tokens are allowed. */
const EXPIRED = { iat: -900, exp: -600 };

async function expiredTokens(dataDir: string) {
  const { secret, permsKeyPem } = await loadSecrets(dataDir, undefined);
  const now = Math.floor(Date.now() / 1000);
  const hs512 = (sub: string, audience: string) =>
    new SignJWT({ typ: 'access' })
      .setProtectedHeader({ alg: 'HS512', typ: 'JWT' })
      .setSubject(sub)
      .setAudience(audience)
      .setIssuer('hubmesh')
      .setIssuedAt(now + EXPIRED.iat)
      .setExpirationTime(now + EXPIRED.exp)
      .sign(new TextEncoder().encode(secret));
  return {
    account: (accountId: number) => hs512(String(accountId), 'ret_account'),
    session: (sessionId: string) => hs512(sessionId, 'ret_session'),
    perms: (claims: Record<string, unknown>) =>
      new SignJWT({ ...claims, typ: 'access' })
        .setProtectedHeader({ alg: 'RS512', typ: 'JWT' })
        .setAudience('ret_perms')
        .setIssuer('hubmesh')
        .setIssuedAt(now + EXPIRED.iat)
        .setExpirationTime(now + EXPIRED.exp)
        .sign(createPrivateKey(permsKeyPem)),
  };
}

/** The error reply to joining `topic` with `params` on a fresh phoenix.js socket (the channel is left at once, before it retries). */
async function refusal(node: { url: string }, topic: string, params: Record<string, unknown>): Promise<unknown> {
  const channel = phxSocket(node).channel(topic, params);
  const outcome = await join(channel).then(
    (ok) => ({ ok }),
    (err: { response?: unknown }) => err.response,
  );
  channel.leave();
  return outcome;
}

describe('abuse: tokens replayed after expiry', () => {
  it('refuses an expired account token on ret, joins a room with one as a guest (Reticulum), renews an expired session, and counts each', async () => {
    const store = new MemoryStore();
    const node = await startTestNode({ adapters: { store } });
    const makeAccount = await accountMaker(node, store);
    const sid = await createHub(node);
    await store.updateHub(sid, { entryMode: 'invite' });
    const owner = await makeAccount({ ownerOf: [sid] });
    const expired = await expiredTokens(node.dataDir);

    expect(await refusal(node, 'ret', { token: await expired.account(owner.accountId) })).toEqual({ reason: 'invalid_token', message: 'Sign in failed' });
    // As a guest the owner's expired token does not pass the invite check; the fresh one does.
    expect(await refusal(node, `hub:${sid}`, { ...profile('replay'), auth_token: await expired.account(owner.accountId) })).toEqual({ reason: 'join_denied', message: 'Join denied' });
    expect(node.metrics.get('tokens_refused_total', { token: 'account', reason: 'expired' })).toBe(2);
    expect(node.metrics.get('hub_joins_refused_total', { reason: 'join_denied' })).toBe(1);
    const ownerChannel = phxSocket(node).channel(`hub:${sid}`, { ...profile('owner'), auth_token: owner.token });
    expect(await join(ownerChannel)).toMatchObject({ session_id: expect.any(String) });

    const first = await joinHub(node, await createHub(node), 'alice');
    const replayed = await joinHub(node, await createHub(node), 'alice again', { session_token: await expired.session(first.sessionId) });
    expect(replayed.sessionId).not.toBe(first.sessionId);
    expect(node.metrics.get('tokens_refused_total', { token: 'session', reason: 'expired' })).toBe(1);
  });

  it('refuses an SFU join with an expired perms token (invalid_token), and counts it', async () => {
    const node = await startTestNode({ adapters: { store: new MemoryStore(), media: new FakeMedia() } });
    const sid = await createHub(node);
    const expired = await expiredTokens(node.dataDir);
    const member = await joinHub(node, sid, 'voice');
    const client = await SfuClient.connect(node, sid, member.sessionId);
    const replay = await expired.perms({ hub_id: sid, session_id: member.sessionId, join_hub: true, voice_chat: true });
    expect(await client.join(replay)).toEqual({ ok: false, code: 401, reason: expect.stringMatching(/^invalid_token: .*expired/) });
    expect(node.metrics.get('tokens_refused_total', { token: 'perms', reason: 'expired' })).toBe(1);
    expect(node.metrics.get('sfu_refusals_total', { reason: 'invalid_token' })).toBe(1);
    // The token the relay gave the member, still fresh, is taken.
    expect(await client.join(member.permsToken)).toMatchObject({ ok: true });
  });
});

describe('abuse: joins to rooms the client may not enter', () => {
  it('refuses unknown, closed, invite-only, banned and full rooms with their Reticulum reasons, each counted', async () => {
    const store = new MemoryStore();
    const node = await startTestNode({ adapters: { store } });
    const [closed, inviteOnly, banning, full] = await Promise.all(['Closed', 'Invite', 'Bans', 'Full'].map((name) => createHub(node, name)));
    await store.updateHub(closed!, { entryMode: 'deny' });
    await store.updateHub(inviteOnly!, { entryMode: 'invite' });
    await store.updateHub(full!, { roomSize: 1 });
    const banned = await joinHub(node, await createHub(node), 'banned');
    await store.createBan({ hubSid: banning!, sessionId: banned.sessionId, accountId: null, reason: null, bannedByAccountId: null, expiresAt: null });
    await joinHub(node, full!, 'first in');

    const cases: [string, Record<string, string>, string][] = [
      ['NoSuchR', {}, 'not_found'],
      [closed!, {}, 'closed'],
      [inviteOnly!, {}, 'join_denied'],
      [banning!, { session_token: banned.reply['session_token'] as string }, 'banned'],
      [full!, {}, 'room_full'],
    ];
    for (const [sid, socketParams, reason] of cases) {
      const channel = phxSocket(node, socketParams).channel(`hub:${sid}`, profile('turned away'));
      const response = await join(channel).then(
        () => undefined,
        (err: { response?: unknown }) => err.response,
      );
      channel.leave();
      expect([sid, response]).toEqual([sid, { reason, message: expect.any(String) }]);
      expect(node.metrics.get('hub_joins_refused_total', { reason })).toBe(1);
    }
    // Someone allowed in still gets in.
    await joinHub(node, await createHub(node), 'welcome');
  });
});
