/**
 * Nothing secret reaches the log: a `hubmesh serve` process at the most
 * verbose level goes through every flow that handles a token (account and
 * session tokens, perms tokens, creator-assignment and embed tokens, invites,
 * file access and promotion tokens, bearer headers), and its whole output is
 * then searched for each of them.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createAccountWithCli } from '../support/accounts-persist.js';
import { join, phxSocket, profile, pushReply } from '../support/clients.js';
import { startServe } from '../support/processes.js';
import { within } from '../support/wait.js';

/** Pushes `event` and resolves with its ok reply; an error reply fails the test. */
async function push(channel: Parameters<typeof pushReply>[0], event: string, payload: Record<string, unknown>): Promise<Record<string, unknown>> {
  const { status, response } = await pushReply(channel, event, payload);
  if (status !== 'ok') throw new Error(`${event}: ${JSON.stringify(response)}`);
  return response;
}

describe('logging', () => {
  it('writes no token of any kind to the log, even at trace level', async () => {
    const dataDir = await mkdtemp(joinPath(tmpdir(), 'hubmesh-secrets-'));
    onTestFinished(() => rm(dataDir, { recursive: true, force: true }));
    const env = { PATH: process.env['PATH'] ?? '', HUBMESH_DATA_DIR: dataDir, HUBMESH_LOG_LEVEL: 'trace' };
    const { token: adminToken } = await createAccountWithCli(env, ['--admin', '--email', 'ops@example.org']);
    const secrets: Record<string, string> = { adminToken };

    const node = await startServe(env);
    const { url, child, exited } = node;
    const api = (path: string, init: RequestInit = {}) => fetch(`${url}${path}`, init);
    const bearer = { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' };

    const hub = (await (await api('/api/v1/hubs', { method: 'POST', headers: bearer, body: JSON.stringify({ hub: { name: 'Secrets' } }) })).json()) as Record<string, string>;
    const sid = hub['hub_id']!;
    secrets['creatorAssignmentToken'] = hub['creator_assignment_token']!;
    secrets['embedToken'] = hub['embed_token']!;
    const member = (await (await api('/api/v1/accounts', { method: 'POST', headers: bearer, body: JSON.stringify({ account: { email: 'm@example.org' } }) })).json()) as Record<string, string>;
    secrets['memberToken'] = member['token']!;

    // Channel: join signed in, sign in again claiming the room, perms tokens, an invite.
    const socket = phxSocket(node);
    const channel = socket.channel(`hub:${sid}`, { ...profile('Owner'), auth_token: adminToken });
    const reply = await join(channel);
    secrets['sessionToken'] = reply['session_token'] as string;
    secrets['permsToken'] = reply['perms_token'] as string;
    secrets['signInPerms'] = (await push(channel, 'sign_in', { token: adminToken, creator_assignment_token: hub['creator_assignment_token'] }))['perms_token'] as string;
    secrets['refreshedPerms'] = (await push(channel, 'refresh_perms_token', {}))['perms_token'] as string;
    await push(channel, 'update_hub', { name: 'Secrets', member_permissions: {}, entry_mode: 'invite' });
    secrets['invite'] = (await push(channel, 'fetch_invite', {}))['hub_invite_id'] as string;
    // A reconnect with the session token in the socket URL, and a member joining with the invite and a token.
    const again = phxSocket(node, { session_token: secrets['sessionToken'] });
    await join(again.channel(`hub:${sid}`, { ...profile('Guest'), hub_invite_id: secrets['invite'], auth_token: secrets['memberToken'] }));

    // Files: upload with a promotion token, read with the token in the query and in a header, pin it.
    const form = new FormData();
    form.append('promotion_mode', 'with_token');
    form.append('media', new Blob([Buffer.from('%PDF-1.4 not a secret\n')], { type: 'application/pdf' }), 'a.pdf');
    const upload = (await (await api('/api/v1/media', { method: 'POST', body: form })).json()) as { file_id: string; meta: Record<string, string> };
    secrets['accessToken'] = upload.meta['access_token']!;
    secrets['promotionToken'] = upload.meta['promotion_token']!;
    expect((await api(`/files/${upload.file_id}?token=${secrets['accessToken']}`)).status).toBe(200);
    expect((await api(`/files/${upload.file_id}`, { headers: { authorization: `Token ${secrets['accessToken']}` } })).status).toBe(200);
    await push(channel, 'pin', { id: 'obj1', gltf_node: { name: 'obj1' }, file_id: upload.file_id, file_access_token: secrets['accessToken'], promotion_token: secrets['promotionToken'] });

    // HTTP with bearer tokens, good and bad, and a page link with secrets in its query.
    expect((await api(`/api/v1/hubs/${sid}`, { method: 'PATCH', headers: bearer, body: JSON.stringify({ hub: { description: 'd' } }) })).status).toBe(200);
    expect((await api(`/api/v1/hubs/${sid}/members`, { headers: bearer })).status).toBe(200);
    secrets['forgedBearer'] = `${adminToken.slice(0, -8)}AAAAAAAA`;
    expect((await api('/api/v1/accounts/me', { headers: { authorization: `Bearer ${secrets['forgedBearer']}` } })).status).toBe(401);
    expect((await api(`/${sid}?embed_token=${secrets['embedToken']}&hub_invite_id=${secrets['invite']}`)).status).toBe(200);

    child.kill('SIGTERM');
    await within(exited, 15_000, 'the node to stop');
    // The test would pass on an empty log: make sure the flows above were logged.
    expect(node.output()).toMatch(/incoming request/);
    expect(node.output()).toMatch(/hub created/);
    expect(node.output().split('\n').length).toBeGreaterThan(30);
    for (const [name, value] of Object.entries(secrets)) {
      expect(value.length, name).toBeGreaterThan(6);
      expect(node.output().includes(value), `${name} appears in the log`).toBe(false);
    }
  }, 60_000);
});
