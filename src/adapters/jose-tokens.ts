import { createPrivateKey, createPublicKey, randomUUID, webcrypto } from 'node:crypto';
import { errors as joseErrors, SignJWT, jwtVerify } from 'jose';
import type { Metrics } from '../ports/metrics.js';
import type { Payload } from '../protocol/frames.js';
import type { Tokens } from '../ports/tokens.js';

const SESSION_AUDIENCE = 'ret_session';
const ACCOUNT_AUDIENCE = 'ret_account';
const PERMS_AUDIENCE = 'ret_perms';
const ISSUER = 'hubmesh';
const SESSION_TTL = '1d';
const PERMS_TTL = '5m';
const DRIFT_S = 60;
const ACCOUNT_ID = /^[1-9][0-9]{0,15}$/;

/** Parity: Reticulum's Guardian tokens (`config :ret, Ret.Guardian, ttl: {12, :weeks}`). */
export const DEFAULT_ACCOUNT_TOKEN_TTL_S = 12 * 7 * 24 * 3600;

export interface JoseTokensOptions {
  /** How long an account token is valid, in seconds; default 12 weeks. */
  readonly accountTokenTtlS?: number;
  /** Counts refused session and account tokens in `tokens_refused_total{token, reason}` (reason `expired` or `invalid`). */
  readonly metrics?: Metrics;
}

const TOKEN_KIND: Readonly<Record<string, string>> = { [SESSION_AUDIENCE]: 'session', [ACCOUNT_AUDIENCE]: 'account' };

type CryptoKey = webcrypto.CryptoKey;

/**
 * Tokens signed with the node secret (sessions, accounts) and an RSA private
 * key (perms), see ports/tokens.ts. The keys are imported into WebCrypto once,
 * on first use: handed raw bytes or a KeyObject, jose imports them again for
 * every token, which doubles the cost of a join's perms token.
 */
export class JoseTokens implements Tokens {
  readonly issuer = ISSUER;
  readonly #secret: Promise<CryptoKey>;
  readonly #permsKey: Promise<CryptoKey>;
  readonly #accountTtlS: number;
  readonly #metrics: Metrics | undefined;
  readonly permsPublicKeyPem: string;

  /** `permsKeyPem` is a PKCS#8 RSA private key. */
  constructor(secret: string, permsKeyPem: string, opts: JoseTokensOptions = {}) {
    const ttl = opts.accountTokenTtlS ?? DEFAULT_ACCOUNT_TOKEN_TTL_S;
    if (!Number.isInteger(ttl) || ttl < 1) throw new TypeError('accountTokenTtlS must be a positive integer');
    const permsKey = createPrivateKey(permsKeyPem);
    const hmac = { name: 'HMAC', hash: 'SHA-512' };
    this.#secret = webcrypto.subtle.importKey('raw', new TextEncoder().encode(secret), hmac, false, ['sign', 'verify']);
    this.#permsKey = webcrypto.subtle.importKey('pkcs8', permsKey.export({ type: 'pkcs8', format: 'der' }), { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-512' }, false, ['sign']);
    // A key that cannot be imported fails the first token; keep the rejection from being unhandled until then.
    this.#secret.catch(() => undefined);
    this.#permsKey.catch(() => undefined);
    this.#accountTtlS = ttl;
    this.#metrics = opts.metrics;
    this.permsPublicKeyPem = createPublicKey(permsKey).export({ type: 'spki', format: 'pem' }).toString();
  }

  async signSessionToken(sessionId: string): Promise<string> {
    return this.#signHs512(sessionId, SESSION_AUDIENCE, SESSION_TTL);
  }

  async verifySessionToken(token: string): Promise<string | null> {
    const sub = await this.#verifyHs512(token, SESSION_AUDIENCE);
    return sub !== null && sub !== '' ? sub : null;
  }

  async signAccountToken(accountId: number): Promise<string> {
    if (!Number.isSafeInteger(accountId) || accountId < 1) throw new TypeError('accountId must be a positive integer');
    const now = Math.floor(Date.now() / 1000);
    return this.#signHs512(String(accountId), ACCOUNT_AUDIENCE, now + this.#accountTtlS, now);
  }

  async verifyAccountToken(token: string): Promise<number | null> {
    const sub = await this.#verifyHs512(token, ACCOUNT_AUDIENCE);
    if (sub === null || !ACCOUNT_ID.test(sub)) return null;
    const accountId = Number(sub);
    return Number.isSafeInteger(accountId) ? accountId : null;
  }

  async signPermsToken(claims: Payload): Promise<string> {
    return new SignJWT({ ...claims, typ: 'access' })
      .setProtectedHeader({ alg: 'RS512', typ: 'JWT' })
      .setAudience(PERMS_AUDIENCE)
      .setIssuer(ISSUER)
      .setIssuedAt()
      .setJti(randomUUID())
      .setExpirationTime(PERMS_TTL)
      .sign(await this.#permsKey);
  }

  /** `expires` is a jose duration ('1d') or epoch seconds. */
  async #signHs512(subject: string, audience: string, expires: string | number, issuedAt?: number): Promise<string> {
    return new SignJWT({ typ: 'access' })
      .setProtectedHeader({ alg: 'HS512', typ: 'JWT' })
      .setSubject(subject)
      .setAudience(audience)
      .setIssuer(ISSUER)
      .setIssuedAt(issuedAt)
      .setJti(randomUUID())
      .setExpirationTime(expires)
      .sign(await this.#secret);
  }

  /** The subject of a valid token for `audience`, or null; never rejects. */
  async #verifyHs512(token: string, audience: string): Promise<string | null> {
    try {
      const { payload } = await jwtVerify(token, await this.#secret, { algorithms: ['HS512'], audience, issuer: ISSUER, clockTolerance: DRIFT_S });
      return typeof payload.sub === 'string' ? payload.sub : null;
    } catch (err) {
      // An expired token replayed is told apart in the count, never in the answer.
      this.#metrics?.inc('tokens_refused_total', { token: TOKEN_KIND[audience] ?? audience, reason: err instanceof joseErrors.JWTExpired ? 'expired' : 'invalid' });
      return null;
    }
  }
}
