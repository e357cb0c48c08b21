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
 */
import type { Payload } from '../protocol/frames.js';

export interface Tokens {
  signSessionToken(sessionId: string): Promise<string>;
  verifySessionToken(token: string): Promise<string | null>;
  signPermsToken(claims: Payload): Promise<string>;
  readonly permsPublicKeyPem: string;
}
