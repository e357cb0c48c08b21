/**
 * Perms tokens at the SFU (parity 4.4, 7.4): what the relay signs is
 * admitted only for its room, its session and with join_hub; anything else
 * is refused with the reason a client can read.
 */
import { generateKeyPairSync } from 'node:crypto';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { JoseTokens } from '../../src/adapters/jose-tokens.js';
import { PermsVerifier } from '../../sfu/auth.js';

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const privatePem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const tokens = new JoseTokens('x'.repeat(32), privatePem);
const room = { roomId: 'AbCdEf2', peerId: 'session-1' };
const claims = { hub_id: room.roomId, session_id: room.peerId, join_hub: true, voice_chat: true, kick_users: false, account_id: '42' };

const verifier = (now = Date.now(), pem = tokens.permsPublicKeyPem) => new PermsVerifier({ permsKeyPem: pem, issuer: tokens.issuer, now: () => now });

describe('PermsVerifier', () => {
  it('admits a token of the relay for this room and session, with its permissions and account', async () => {
    for (const pem of [tokens.permsPublicKeyPem, privatePem]) {
      const got = await verifier(Date.now(), pem).verify(await tokens.signPermsToken(claims), room);
      expect(got).toMatchObject({ hubId: room.roomId, sessionId: room.peerId, accountId: 42 });
      expect(got.permissions).toMatchObject({ join_hub: true, voice_chat: true, kick_users: false, spawn_and_move_media: false });
    }
    expect((await verifier().verify(await tokens.signPermsToken({ ...claims, account_id: null }), room)).accountId).toBeNull();
  });

  it.each([
    ['no token', async () => undefined, 'SIGN_IN_FAILED', 'join needs a perms token'],
    ['garbage', async () => 'x.y.z', 'SIGN_IN_FAILED', 'the perms token does not verify'],
    ['another key', async () => new JoseTokens('y'.repeat(32), generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()).signPermsToken(claims), 'SIGN_IN_FAILED', 'the perms token does not verify'],
    ['another issuer', async () => new SignJWT(claims).setProtectedHeader({ alg: 'RS512' }).setAudience('ret_perms').setIssuer('elsewhere').setExpirationTime('5m').sign(privateKey), 'SIGN_IN_FAILED', 'the perms token does not verify'],
    ['another audience', async () => new SignJWT(claims).setProtectedHeader({ alg: 'RS512' }).setAudience('ret_session').setIssuer('hubmesh').setExpirationTime('5m').sign(privateKey), 'SIGN_IN_FAILED', 'the perms token does not verify'],
    ['another room', async () => tokens.signPermsToken({ ...claims, hub_id: 'ZzZzZz9' }), 'JOIN_DENIED', 'the perms token is for another room'],
    ['another session', async () => tokens.signPermsToken({ ...claims, session_id: 'session-2' }), 'JOIN_DENIED', 'the perms token is for another session'],
    ['no join_hub', async () => tokens.signPermsToken({ ...claims, join_hub: false }), 'JOIN_DENIED', 'the perms token does not allow joining this room'],
  ])('refuses %s', async (_what, token, code, message) => {
    await expect(verifier().verify(await token(), room)).rejects.toMatchObject({ code, message });
  });

  it('allows 60 s of drift past expiry, and no more', async () => {
    const token = await tokens.signPermsToken(claims);
    const exp = Date.now() + 5 * 60_000;
    await expect(verifier(exp + 50_000).verify(token, room)).resolves.toMatchObject({ hubId: room.roomId });
    await expect(verifier(exp + 70_000).verify(token, room)).rejects.toMatchObject({ code: 'SIGN_IN_FAILED', message: 'the perms token has expired' });
  });
});
