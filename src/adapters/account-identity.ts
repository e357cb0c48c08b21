/**
 * Who holds a bearer token, over the Store: account tokens this server signs
 * (Tokens), and, when configured, ID tokens of one external OpenID Connect
 * issuer, verified against its JWKS. Semantics in ports/identity.ts.
 *
 * A token's unverified `iss` only picks the verifier; nothing in it is
 * trusted before its signature is checked. Tokens of any other issuer are
 * refused without a network call, so garbage cannot make us fetch anything.
 */
import { createRemoteJWKSet, decodeJwt, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { AppError } from '../errors.js';
import type { Identity } from '../ports/identity.js';
import type { Account, NewAccount, Store } from '../ports/store.js';
import type { Tokens } from '../ports/tokens.js';

/** Clock drift allowed on an external issuer's `exp`/`nbf`, as on our own tokens. */
const DRIFT_S = 60;
const MAX_EMAIL = 320;
const MAX_DISPLAY_NAME = 64;

export interface OidcOptions {
  /** The `iss` its tokens carry, compared exactly. */
  readonly issuer: string;
  /** Where its JSON Web Key Set is served. */
  readonly jwksUrl: string;
  /** The `aud` its tokens must carry; unset, any. */
  readonly audience?: string;
}

export interface AccountIdentityOptions {
  readonly store: Store;
  readonly tokens: Tokens;
  readonly oidc?: OidcOptions;
}

interface OidcVerifier {
  readonly issuer: string;
  readonly audience: string | undefined;
  readonly keys: JWTVerifyGetKey;
}

/** Key-set errors a token causes (its header names no usable key); any other means the key set could not be had. */
const TOKEN_KEY_ERRORS = new Set<string>([errors.JWKSNoMatchingKey.code, errors.JWKSMultipleMatchingKeys.code, errors.JOSENotSupported.code]);

/**
 * The issuer's keys, fetched and cached by jose. Errors are sorted here, where
 * they happen, rather than after jwtVerify: a network failure, a timeout
 * (JWKSTimeout), a non-200 answer or a body that is no key set is an outage,
 * not a bad token.
 */
function remoteKeys(url: URL): JWTVerifyGetKey {
  const keys = createRemoteJWKSet(url);
  return async (header, token) => {
    try {
      return await keys(header, token);
    } catch (err) {
      if (err instanceof errors.JOSEError && TOKEN_KEY_ERRORS.has(err.code)) throw err;
      throw new AppError('STORE_UNAVAILABLE', "the OpenID Connect issuer's keys cannot be fetched", { cause: err });
    }
  };
}

/** The token's `iss`, unverified, or undefined when it is no JWT. */
function unverifiedIssuer(token: string): string | undefined {
  try {
    const { iss } = decodeJwt(token);
    return typeof iss === 'string' ? iss : undefined;
  } catch {
    return undefined;
  }
}

/** The claims of a valid ID token with a subject, or null; rejects only with AppError('STORE_UNAVAILABLE'). */
async function verifyOidc(token: string, oidc: OidcVerifier): Promise<(JWTPayload & { sub: string }) | null> {
  try {
    const { payload } = await jwtVerify(token, oidc.keys, { issuer: oidc.issuer, audience: oidc.audience, clockTolerance: DRIFT_S, requiredClaims: ['sub', 'exp'] });
    const { sub } = payload;
    return typeof sub === 'string' && sub !== '' ? { ...payload, sub } : null;
  } catch (err) {
    if (err instanceof AppError) throw err;
    return null;
  }
}

function profileOf(claims: JWTPayload): { email: string | null; displayName: string | null } {
  const { email, name } = claims;
  const isEmail = typeof email === 'string' && email.includes('@') && email.length <= MAX_EMAIL;
  const displayName = typeof name === 'string' ? Array.from(name.trim()).slice(0, MAX_DISPLAY_NAME).join('') : '';
  return { email: isEmail ? email.toLowerCase() : null, displayName: displayName === '' ? null : displayName };
}

export class AccountIdentity implements Identity {
  readonly #store: Store;
  readonly #tokens: Tokens;
  readonly #oidc: OidcVerifier | undefined;

  /** Throws TypeError when `oidc.jwksUrl` is not a URL. */
  constructor(opts: AccountIdentityOptions) {
    this.#store = opts.store;
    this.#tokens = opts.tokens;
    if (opts.oidc) this.#oidc = { issuer: opts.oidc.issuer, audience: opts.oidc.audience, keys: remoteKeys(new URL(opts.oidc.jwksUrl)) };
  }

  async authenticate(token: string): Promise<Account | null> {
    const issuer = unverifiedIssuer(token);
    if (issuer === this.#tokens.issuer) return this.#ownAccount(token);
    if (this.#oidc && issuer === this.#oidc.issuer) return this.#oidcAccount(token, this.#oidc);
    return null;
  }

  issueAccountToken(accountId: number): Promise<string> {
    return this.#tokens.signAccountToken(accountId);
  }

  async #ownAccount(token: string): Promise<Account | null> {
    const accountId = await this.#tokens.verifyAccountToken(token);
    return accountId === null ? null : ((await this.#store.getAccount(accountId)) ?? null);
  }

  async #oidcAccount(token: string, oidc: OidcVerifier): Promise<Account | null> {
    const claims = await verifyOidc(token, oidc);
    if (!claims) return null;
    return (await this.#store.findOidcAccount(oidc.issuer, claims.sub)) ?? this.#createOidcAccount(oidc.issuer, claims);
  }

  /**
   * The first sign-in of a subject makes its account. The store refuses a
   * taken OIDC identity (another request of the same subject won the race:
   * use its account) or a taken email. An email claim proves nothing about
   * a local account that has the address, so it is neither linked nor allowed
   * to block the sign-in: the account is made without it.
   */
  async #createOidcAccount(issuer: string, claims: JWTPayload & { sub: string }): Promise<Account> {
    const { email, displayName } = profileOf(claims);
    const account: NewAccount = { oidcIssuer: issuer, oidcSubject: claims.sub, email, displayName };
    const attempts = email === null ? [account] : [account, { ...account, email: null }];
    let refusal: unknown;
    for (const attempt of attempts) {
      try {
        return await this.#store.createAccount(attempt);
      } catch (err) {
        if (!(err instanceof AppError && err.code === 'BAD_REQUEST')) throw err;
        refusal = err;
        const raced = await this.#store.findOidcAccount(issuer, claims.sub);
        if (raced) return raced;
      }
    }
    throw refusal;
  }
}
