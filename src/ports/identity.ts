/**
 * Who holds a bearer token. Accounts authenticate with JWTs this server signs
 * (`hubmesh accounts create`, `POST /api/v1/accounts`) or, when configured,
 * with tokens of an external OpenID Connect issuer verified against its JWKS.
 *
 * Semantics:
 * - `authenticate` resolves to the account a token names, or null for any
 *   token that does not verify (wrong signature, expired, wrong audience or
 *   issuer, garbage, an account that no longer exists). It never says why,
 *   so callers cannot become an oracle. A disabled account is returned as it
 *   is; callers refuse it. The first valid OIDC token of a subject creates
 *   its local account.
 * - `issueAccountToken` signs a token for an account of this server.
 * - A store or JWKS that cannot be reached rejects with
 *   AppError('STORE_UNAVAILABLE'), never resolves null: an outage is not a
 *   bad token.
 */
import type { Account } from './store.js';

export interface Identity {
  authenticate(token: string): Promise<Account | null>;
  issueAccountToken(accountId: number): Promise<string>;
}
