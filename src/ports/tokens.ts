/**
 * Signed tokens the relay hands out (parity 2.1 and 4.4).
 *
 * - Session tokens keep a `session_id` across reconnects: HS512, audience
 *   `ret_session`, valid for one day, 60 s of clock drift allowed.
 *   `verifySessionToken` resolves to the session id, or null for any token
 *   that does not verify (expired, wrong signature, garbage); it never rejects.
 * - Perms tokens tell the client and the SFU what a member may do: RS512,
 *   audience `ret_perms`, valid for five minutes. `permsPublicKeyPem` is what
 *   an SFU verifies them with.
 * - Account tokens say which account holds them (parity 2.2, Reticulum's
 *   Guardian tokens): HS512 with the node secret, audience `ret_account`,
 *   subject the account id in decimal, valid for the configured TTL (12 weeks
 *   by default), 60 s of clock drift allowed. `verifyAccountToken` resolves to
 *   the account id, or null for any token that does not verify; it never
 *   rejects. The distinct audiences keep a session token from passing as an
 *   account token and the other way round.
 * - `issuer` is the `iss` of every token signed here, so a verifier can tell
 *   our tokens from an external issuer's before verifying anything.
 */
import type { Payload } from '../protocol/frames.js';

export interface Tokens {
  readonly issuer: string;
  signSessionToken(sessionId: string): Promise<string>;
  verifySessionToken(token: string): Promise<string | null>;
  /** Rejects with TypeError unless `accountId` is a positive integer. */
  signAccountToken(accountId: number): Promise<string>;
  verifyAccountToken(token: string): Promise<number | null>;
  signPermsToken(claims: Payload): Promise<string>;
  readonly permsPublicKeyPem: string;
}
