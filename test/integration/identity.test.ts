/**
 * AccountIdentity over a MemoryStore (ports/identity.ts): our own account
 * tokens, and ID tokens of an OpenID Connect issuer that this test plays, with
 * its JWKS served from a real HTTP server on a loopback port.
 */
import { generateKeyPairSync } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose';
import { describe, expect, it, onTestFinished } from 'vitest';
import { AccountIdentity, type OidcOptions } from '../../src/adapters/account-identity.js';
import { JoseTokens } from '../../src/adapters/jose-tokens.js';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import { AppError } from '../../src/errors.js';
import type { Store } from '../../src/ports/store.js';

const tokens = new JoseTokens('s'.repeat(48), generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());

type KeyPair = { publicKey: CryptoKey; privateKey: CryptoKey };
const issuerKeys: KeyPair = await generateKeyPair('RS256');
const otherKeys: KeyPair = await generateKeyPair('RS256');

interface TokenOptions {
  readonly sub?: string;
  readonly iss?: string;
  readonly aud?: string | null;
  /** Seconds from now. */
  readonly expiresIn?: number;
  readonly keys?: KeyPair;
  readonly kid?: string;
  readonly claims?: JWTPayload;
}

/** An OIDC issuer: its JWKS (one RS256 key, kid k1) at /jwks on 127.0.0.1, stopped when the test ends. */
async function startIssuer(answer: 'jwks' | 'error' = 'jwks') {
  const jwks = { keys: [{ ...(await exportJWK(issuerKeys.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }] };
  let requests = 0;
  const server = createServer((req, res) => {
    requests++;
    if (answer === 'error' || req.url !== '/jwks') return res.writeHead(500).end('down for maintenance');
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const stop = async () => {
    if (!server.listening) return;
    const closed = once(server, 'close');
    server.close();
    server.closeAllConnections();
    await closed;
  };
  onTestFinished(stop);
  const issuer = `${base}/realm`;
  const sign = (opts: TokenOptions = {}): Promise<string> => {
    const now = Math.floor(Date.now() / 1000);
    const jwt = new SignJWT({ ...opts.claims })
      .setProtectedHeader({ alg: 'RS256', kid: opts.kid ?? 'k1' })
      .setIssuer(opts.iss ?? issuer)
      .setSubject(opts.sub ?? 'user-1')
      .setIssuedAt(now - 5)
      .setExpirationTime(now + (opts.expiresIn ?? 300));
    if (opts.aud !== null) jwt.setAudience(opts.aud ?? 'hubmesh');
    return jwt.sign((opts.keys ?? issuerKeys).privateKey);
  };
  return { issuer, jwksUrl: `${base}/jwks`, sign, stop, requests: () => requests };
}

function makeIdentity(oidc?: OidcOptions, store: Store = new MemoryStore()) {
  onTestFinished(() => store.close());
  return { store, identity: new AccountIdentity({ store, tokens, oidc }) };
}

async function rejection(promise: Promise<unknown>): Promise<AppError> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  if (!(err instanceof AppError)) throw new Error(`expected an AppError, got ${String(err)}`);
  return err;
}

describe('AccountIdentity: our own tokens', () => {
  it('resolves an account token to its account', async () => {
    const { store, identity } = makeIdentity();
    const account = await store.createAccount({ email: 'ada@example.org', displayName: 'Ada', isAdmin: true });
    const token = await identity.issueAccountToken(account.accountId);
    expect(await identity.authenticate(token)).toEqual(account);
    expect(await tokens.verifyAccountToken(token)).toBe(account.accountId);
  });

  it('returns a disabled account as it is, for the caller to refuse', async () => {
    const { store, identity } = makeIdentity();
    const account = await store.createAccount({ email: 'bo@example.org' });
    await store.updateAccount(account.accountId, { state: 'disabled' });
    expect(await identity.authenticate(await tokens.signAccountToken(account.accountId))).toMatchObject({ accountId: account.accountId, state: 'disabled' });
  });

  it('resolves null for a session token, an unknown account and garbage', async () => {
    const { identity } = makeIdentity();
    expect(await identity.authenticate(await tokens.signSessionToken('1'))).toBeNull();
    expect(await identity.authenticate(await tokens.signAccountToken(4242))).toBeNull();
    const otherNode = new JoseTokens('t'.repeat(48), generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
    expect(await identity.authenticate(await otherNode.signAccountToken(1))).toBeNull();
    for (const garbage of ['', 'x', 'a.b.c', 'Bearer x', '.'.repeat(5000)]) expect(await identity.authenticate(garbage)).toBeNull();
  });

  it('lets store errors through', async () => {
    const { store, identity } = makeIdentity();
    const account = await store.createAccount({});
    const token = await tokens.signAccountToken(account.accountId);
    await store.close();
    expect((await rejection(identity.authenticate(token))).code).toBe('CLOSED');
  });
});

describe('AccountIdentity: an OpenID Connect issuer', () => {
  it('creates the account of a subject on its first token and maps later ones to it', async () => {
    const op = await startIssuer();
    const { store, identity } = makeIdentity({ issuer: op.issuer, jwksUrl: op.jwksUrl, audience: 'hubmesh' });
    const first = await identity.authenticate(await op.sign({ claims: { email: 'Cy@Example.org', name: 'Cy' } }));
    expect(first).toMatchObject({ email: 'cy@example.org', displayName: 'Cy', isAdmin: false, state: 'enabled', oidcIssuer: op.issuer, oidcSubject: 'user-1' });
    const again = await identity.authenticate(await op.sign({ claims: { email: 'changed@example.org', name: 'Other' } }));
    expect(again).toEqual(first);
    expect(await store.findOidcAccount(op.issuer, 'user-1')).toEqual(first);
    const other = await identity.authenticate(await op.sign({ sub: 'user-2' }));
    expect(other).toMatchObject({ email: null, displayName: null, oidcSubject: 'user-2' });
    expect(other!.accountId).not.toBe(first!.accountId);
    // The key set is fetched once and cached.
    expect(op.requests()).toBe(1);
  });

  it('makes one account for a subject whose first tokens arrive together', async () => {
    const op = await startIssuer();
    const { identity } = makeIdentity({ issuer: op.issuer, jwksUrl: op.jwksUrl });
    const token = await op.sign({ sub: 'racer' });
    const accounts = await Promise.all([1, 2, 3, 4].map(() => identity.authenticate(token)));
    expect(new Set(accounts.map((a) => a?.accountId)).size).toBe(1);
    expect(accounts[0]).not.toBeNull();
  });

  it('makes the account without an email another account already has, rather than link or refuse it', async () => {
    const op = await startIssuer();
    const { store, identity } = makeIdentity({ issuer: op.issuer, jwksUrl: op.jwksUrl });
    const local = await store.createAccount({ email: 'dee@example.org', isAdmin: true });
    const account = await identity.authenticate(await op.sign({ sub: 'dee', claims: { email: 'dee@example.org', name: 'Dee' } }));
    expect(account).toMatchObject({ email: null, displayName: 'Dee', isAdmin: false, oidcSubject: 'dee' });
    expect(account!.accountId).not.toBe(local.accountId);
  });

  it('ignores email and name claims that are not strings', async () => {
    const op = await startIssuer();
    const { identity } = makeIdentity({ issuer: op.issuer, jwksUrl: op.jwksUrl });
    expect(await identity.authenticate(await op.sign({ claims: { email: ['a@b'], name: { first: 'E' } } }))).toMatchObject({ email: null, displayName: null });
  });

  it('returns a disabled OIDC account as it is', async () => {
    const op = await startIssuer();
    const { store, identity } = makeIdentity({ issuer: op.issuer, jwksUrl: op.jwksUrl });
    const token = await op.sign();
    const account = await identity.authenticate(token);
    await store.updateAccount(account!.accountId, { state: 'disabled' });
    expect(await identity.authenticate(token)).toMatchObject({ accountId: account!.accountId, state: 'disabled' });
  });

  it.each<[string, TokenOptions]>([
    ['another issuer', { iss: 'https://elsewhere.example.org' }],
    ['the issuer with a trailing slash', { iss: 'TRAILING' }],
    ['another audience', { aud: 'someone-else' }],
    ['no audience', { aud: null }],
    ['an expired token (past the drift)', { expiresIn: -120 }],
    ['another key under the same kid', { keys: otherKeys }],
    ['another key under an unknown kid', { keys: otherKeys, kid: 'k2' }],
    ['an empty subject', { sub: '' }],
  ])('resolves null for %s', async (_what, opts) => {
    const op = await startIssuer();
    const { identity } = makeIdentity({ issuer: op.issuer, jwksUrl: op.jwksUrl, audience: 'hubmesh' });
    const token = await op.sign({ ...opts, iss: opts.iss === 'TRAILING' ? `${op.issuer}/` : opts.iss });
    expect(await identity.authenticate(token)).toBeNull();
  });

  it('accepts any audience when none is configured', async () => {
    const op = await startIssuer();
    const { identity } = makeIdentity({ issuer: op.issuer, jwksUrl: op.jwksUrl });
    expect(await identity.authenticate(await op.sign({ aud: 'whatever' }))).not.toBeNull();
  });

  it('never fetches the key set for tokens of other issuers or garbage', async () => {
    const op = await startIssuer();
    const { identity } = makeIdentity({ issuer: op.issuer, jwksUrl: op.jwksUrl });
    expect(await identity.authenticate(await op.sign({ iss: 'https://elsewhere.example.org' }))).toBeNull();
    expect(await identity.authenticate('garbage')).toBeNull();
    expect(op.requests()).toBe(0);
  });

  it('refuses OIDC tokens when no issuer is configured, and still takes ours', async () => {
    const op = await startIssuer();
    const { store, identity } = makeIdentity();
    expect(await identity.authenticate(await op.sign())).toBeNull();
    expect(op.requests()).toBe(0);
    const account = await store.createAccount({});
    expect(await identity.authenticate(await tokens.signAccountToken(account.accountId))).toEqual(account);
  });

  it('rejects with STORE_UNAVAILABLE, not null, when the key set cannot be fetched', async () => {
    const op = await startIssuer();
    const token = await op.sign();
    await op.stop();
    const { identity } = makeIdentity({ issuer: op.issuer, jwksUrl: op.jwksUrl });
    const err = await rejection(identity.authenticate(token));
    expect(err.code).toBe('STORE_UNAVAILABLE');
    expect(err.message).not.toContain(token);
  });

  it('rejects with STORE_UNAVAILABLE when the key set URL answers an error', async () => {
    const op = await startIssuer('error');
    const { identity } = makeIdentity({ issuer: op.issuer, jwksUrl: op.jwksUrl });
    expect((await rejection(identity.authenticate(await op.sign()))).code).toBe('STORE_UNAVAILABLE');
    expect(op.requests()).toBe(1);
  });
});
