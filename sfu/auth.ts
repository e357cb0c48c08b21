/**
 * Perms tokens at the SFU (parity 4.4, 7.4). A `join` must carry a perms
 * token the relay signed (RS512, audience `ret_perms`, our issuer), unexpired
 * (60 s of drift, as the relay allows), for this room (`hub_id`), for this
 * peer (`session_id`, which the relay puts in every token it signs), with
 * `join_hub`. Unlike dialog, which lets a peer in whatever the token says,
 * a refused join leaves the peer with nothing: no producing, no consuming.
 *
 * What a peer may do afterwards is decided from the claims verified at its
 * join: the SFU cannot ask for a new token, and the relay refreshes the
 * client's token without telling the SFU.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { errors as joseErrors, jwtVerify } from 'jose';
import { HUB_PERMISSION_NAMES, type HubPermissionName } from '../src/core/permissions.js';
import { AppError } from '../src/errors.js';
import type { Metrics } from '../src/ports/metrics.js';

const PERMS_AUDIENCE = 'ret_perms';
const DRIFT_S = 60;
const ACCOUNT_ID = /^[1-9][0-9]{0,15}$/;

/** What the SFU keeps of a verified perms token. */
export interface PeerClaims {
  readonly hubId: string;
  readonly sessionId: string;
  /** The account behind the peer; null for a guest. */
  readonly accountId: number | null;
  readonly permissions: Readonly<Record<HubPermissionName, boolean>>;
}

export interface PermsVerifierOptions {
  /** The relay's perms key: a public key PEM, or the private key PEM it is derived from. */
  readonly permsKeyPem: string;
  /** The `iss` the relay signs with (Tokens.issuer). */
  readonly issuer: string;
  /** Milliseconds since the epoch (the injected Clock's `now`). */
  now(): number;
  /** Counts tokens that do not verify in `tokens_refused_total{token: 'perms', reason}` (`expired` or `invalid`). */
  readonly metrics?: Metrics;
}

export class PermsVerifier {
  readonly #key: KeyObject;
  readonly #issuer: string;
  readonly #now: () => number;
  readonly #metrics: Metrics | undefined;

  constructor(opts: PermsVerifierOptions) {
    this.#metrics = opts.metrics;
    this.#key = createPublicKey(opts.permsKeyPem);
    this.#issuer = opts.issuer;
    this.#now = opts.now;
  }

  /**
   * The claims of `token` for peer `peerId` of room `roomId`. Rejects with
   * AppError('SIGN_IN_FAILED') (`invalid_token`) for a missing token or one
   * that does not verify, and AppError('JOIN_DENIED') for a valid token of
   * another room or session, or without `join_hub`.
   */
  async verify(token: string | undefined, expected: { readonly roomId: string; readonly peerId: string }): Promise<PeerClaims> {
    if (token === undefined || token === '') throw new AppError('SIGN_IN_FAILED', 'join needs a perms token');
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, this.#key, {
        algorithms: ['RS512'],
        audience: PERMS_AUDIENCE,
        issuer: this.#issuer,
        clockTolerance: DRIFT_S,
        currentDate: new Date(this.#now()),
      }));
    } catch (err) {
      const isExpired = err instanceof joseErrors.JWTExpired;
      this.#metrics?.inc('tokens_refused_total', { token: 'perms', reason: isExpired ? 'expired' : 'invalid' });
      const why = isExpired ? 'has expired' : 'does not verify';
      throw new AppError('SIGN_IN_FAILED', `the perms token ${why}`, { cause: err });
    }
    if (payload['hub_id'] !== expected.roomId) throw new AppError('JOIN_DENIED', 'the perms token is for another room');
    if (payload['session_id'] !== expected.peerId) throw new AppError('JOIN_DENIED', 'the perms token is for another session');
    if (payload['join_hub'] !== true) throw new AppError('JOIN_DENIED', 'the perms token does not allow joining this room');
    const account = payload['account_id'];
    const permissions = Object.fromEntries(HUB_PERMISSION_NAMES.map((name) => [name, payload[name] === true])) as Record<HubPermissionName, boolean>;
    return {
      hubId: expected.roomId,
      sessionId: expected.peerId,
      accountId: typeof account === 'string' && ACCOUNT_ID.test(account) ? Number(account) : null,
      permissions,
    };
  }
}
