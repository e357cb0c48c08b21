/**
 * The accounts API over HTTP: a bare fastify app with the one error boundary
 * and the accounts plugin, on a loopback port, with AccountIdentity over a
 * MemoryStore.
 */
import { generateKeyPairSync } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import { describe, expect, it, onTestFinished } from 'vitest';
import { AccountIdentity } from '../../src/adapters/account-identity.js';
import { JoseTokens } from '../../src/adapters/jose-tokens.js';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import { AppError } from '../../src/errors.js';
import { accountRoutes } from '../../src/http/accounts.js';
import { installErrorHandler } from '../../src/http/errors.js';
import type { Identity } from '../../src/ports/identity.js';
import type { Store } from '../../src/ports/store.js';

const tokens = new JoseTokens('s'.repeat(48), generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());

async function startApi(opts: { store?: Store; identity?: Identity } = {}) {
  const store = opts.store ?? new MemoryStore();
  const identity = opts.identity ?? new AccountIdentity({ store, tokens });
  // The ajv options of main.ts: unknown fields are refused, not stripped, and nothing is coerced.
  const app = Fastify({ ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: true } } });
  installErrorHandler(app);
  await app.register(accountRoutes, { store, identity });
  await app.listen({ host: '127.0.0.1', port: 0 });
  onTestFinished(async () => {
    await app.close();
    await store.close();
  });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const call = async (method: 'GET' | 'POST', path: string, init: { token?: string; authorization?: string; body?: unknown } = {}) => {
    const headers: Record<string, string> = {};
    if (init.token !== undefined) headers['authorization'] = `Bearer ${init.token}`;
    if (init.authorization !== undefined) headers['authorization'] = init.authorization;
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${url}${path}`, { method, headers, body: init.body === undefined ? undefined : JSON.stringify(init.body) });
    const text = await res.text();
    return { status: res.status, text, body: JSON.parse(text) as Record<string, unknown> };
  };
  const tokenFor = async (account: { email?: string; isAdmin?: boolean; disabled?: boolean }) => {
    const created = await store.createAccount({ email: account.email ?? null, isAdmin: account.isAdmin ?? false });
    if (account.disabled) await store.updateAccount(created.accountId, { state: 'disabled' });
    return tokens.signAccountToken(created.accountId);
  };
  return { store, call, tokenFor };
}

const UNAUTHENTICATED = { code: 'unauthenticated', message: 'a valid bearer token is needed' };

describe('POST /api/v1/accounts', () => {
  it('lets an admin create an account, answering 201 with a token for it', async () => {
    const api = await startApi();
    const admin = await api.tokenFor({ isAdmin: true });
    const res = await api.call('POST', '/api/v1/accounts', { token: admin, body: { account: { email: 'Eve@Example.org', display_name: ' Eve ', is_admin: true } } });
    expect(res.status).toBe(201);
    expect(Object.keys(res.body).sort()).toEqual(['account_id', 'display_name', 'email', 'is_admin', 'token']);
    expect(res.body).toMatchObject({ email: 'eve@example.org', display_name: 'Eve', is_admin: true });
    expect(await tokens.verifyAccountToken(res.body['token'] as string)).toBe(res.body['account_id']);
    expect(await api.store.getAccount(res.body['account_id'] as number)).toMatchObject({ email: 'eve@example.org', isAdmin: true, state: 'enabled' });

    const me = await api.call('GET', '/api/v1/accounts/me', { token: res.body['token'] as string });
    expect(me.status).toBe(200);
    expect(me.body).toEqual({ account_id: res.body['account_id'], email: 'eve@example.org', display_name: 'Eve', is_admin: true });
  });

  it('creates an account with nothing but defaults', async () => {
    const api = await startApi();
    const res = await api.call('POST', '/api/v1/accounts', { token: await api.tokenFor({ isAdmin: true }), body: { account: {} } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ email: null, display_name: null, is_admin: false });
  });

  it('accepts the bearer scheme in any case', async () => {
    const api = await startApi();
    const admin = await api.tokenFor({ isAdmin: true });
    const res = await api.call('POST', '/api/v1/accounts', { authorization: `bEaReR ${admin}`, body: { account: {} } });
    expect(res.status).toBe(201);
  });

  it.each<[string, (admin: string) => string | undefined]>([
    ['no Authorization header', () => undefined],
    ['an empty bearer token', () => 'Bearer '],
    ['another scheme', (admin) => `Token ${admin}`],
    ['a token that does not verify', () => 'Bearer not-a-token'],
    ['a session token', () => 'SESSION'],
    ['a token with extra words', (admin) => `Bearer ${admin} ${admin}`],
  ])('answers 401 for %s, before reading the body, and never echoes the token', async (_what, authorization) => {
    const api = await startApi();
    const admin = await api.tokenFor({ isAdmin: true });
    let header = authorization(admin);
    if (header === 'SESSION') header = `Bearer ${await tokens.signSessionToken('1')}`;
    const res = await api.call('POST', '/api/v1/accounts', { authorization: header, body: { account: { colour: 'red' } } });
    expect(res.status).toBe(401);
    expect(res.body).toEqual(UNAUTHENTICATED);
    expect(res.text).not.toContain(admin);
  });

  it('answers 403 for an account that is not an admin, and for a disabled admin', async () => {
    const api = await startApi();
    const member = await api.call('POST', '/api/v1/accounts', { token: await api.tokenFor({}), body: { account: {} } });
    expect(member.status).toBe(403);
    expect(member.body).toEqual({ code: 'unauthorized', message: 'only an admin may do this' });
    const disabled = await api.call('POST', '/api/v1/accounts', { token: await api.tokenFor({ isAdmin: true, disabled: true }), body: { account: {} } });
    expect(disabled.status).toBe(403);
    expect(disabled.body).toEqual({ code: 'unauthorized', message: 'this account is disabled' });
  });

  it.each([
    ['no account', {}, /account/],
    ['an account that is not an object', { account: 'x' }, /account/],
    ['an unknown field', { account: { colour: 'red' } }, /additional/],
    ['an unknown top-level field', { account: {}, hub: {} }, /additional/],
    ['an email without @', { account: { email: 'nobody' } }, /email/],
    ['an email with spaces', { account: { email: 'a b@c' } }, /email/],
    ['an email too long', { account: { email: `${'a'.repeat(316)}@b.cd` } }, /email/],
    ['a display name too long', { account: { display_name: 'x'.repeat(65) } }, /display_name/],
    ['a blank display name', { account: { display_name: '   ' } }, /display_name/],
    ['is_admin as a string', { account: { is_admin: 'true' } }, /is_admin/],
  ])('answers 422 for a body with %s', async (_what, body, message) => {
    const api = await startApi();
    const res = await api.call('POST', '/api/v1/accounts', { token: await api.tokenFor({ isAdmin: true }), body });
    expect(res.status).toBe(422);
    expect(res.body['code']).toBe('bad_request');
    expect(res.body['message']).toMatch(message);
  });

  it('answers 422 for an email that already has an account, in any case', async () => {
    const api = await startApi();
    const admin = await api.tokenFor({ isAdmin: true, email: 'root@example.org' });
    const first = await api.call('POST', '/api/v1/accounts', { token: admin, body: { account: { email: 'fay@example.org' } } });
    expect(first.status).toBe(201);
    for (const email of ['fay@example.org', 'FAY@example.org', 'root@example.org']) {
      const again = await api.call('POST', '/api/v1/accounts', { token: admin, body: { account: { email } } });
      expect(again.status).toBe(422);
      expect(again.body).toEqual({ code: 'bad_request', message: 'an account with this email already exists' });
    }
  });

  it('answers 503 when the identity cannot be checked', async () => {
    const identity: Identity = {
      authenticate: () => Promise.reject(new AppError('STORE_UNAVAILABLE', 'the database does not answer')),
      issueAccountToken: () => Promise.reject(new Error('not called')),
    };
    const api = await startApi({ identity });
    const res = await api.call('POST', '/api/v1/accounts', { token: 'whatever', body: { account: {} } });
    expect(res.status).toBe(503);
    expect(res.body['code']).toBe('store_unavailable');
  });
});

describe('GET /api/v1/accounts/me', () => {
  it('answers 401 without a valid token and 403 for a disabled account', async () => {
    const api = await startApi();
    expect((await api.call('GET', '/api/v1/accounts/me')).body).toEqual(UNAUTHENTICATED);
    expect((await api.call('GET', '/api/v1/accounts/me', { token: 'nope' })).status).toBe(401);
    const disabled = await api.call('GET', '/api/v1/accounts/me', { token: await api.tokenFor({ disabled: true }) });
    expect(disabled.status).toBe(403);
    expect(disabled.body['message']).toBe('this account is disabled');
  });

  it('answers any enabled account with its own view', async () => {
    const api = await startApi();
    const res = await api.call('GET', '/api/v1/accounts/me', { token: await api.tokenFor({ email: 'gus@example.org' }) });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ email: 'gus@example.org', display_name: null, is_admin: false });
  });
});
