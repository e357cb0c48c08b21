import { createPrivateKey, createPublicKey, randomUUID, type KeyObject } from 'node:crypto';
import { SignJWT, jwtVerify } from 'jose';
import type { Payload } from '../protocol/frames.js';
import type { Tokens } from '../ports/tokens.js';

const SESSION_AUDIENCE = 'ret_session';
const PERMS_AUDIENCE = 'ret_perms';
const ISSUER = 'hubmesh';
const SESSION_TTL = '1d';
const PERMS_TTL = '5m';
const DRIFT_S = 60;

/** Tokens signed with the node secret (sessions) and an RSA private key (perms), see ports/tokens.ts. */
export class JoseTokens implements Tokens {
  readonly #secret: Uint8Array;
  readonly #permsKey: KeyObject;
  readonly permsPublicKeyPem: string;

  /** `permsKeyPem` is a PKCS#8 RSA private key. */
  constructor(secret: string, permsKeyPem: string) {
    this.#secret = new TextEncoder().encode(secret);
    this.#permsKey = createPrivateKey(permsKeyPem);
    this.permsPublicKeyPem = createPublicKey(this.#permsKey).export({ type: 'spki', format: 'pem' }).toString();
  }

  async signSessionToken(sessionId: string): Promise<string> {
    return new SignJWT({ typ: 'access' })
      .setProtectedHeader({ alg: 'HS512', typ: 'JWT' })
      .setSubject(sessionId)
      .setAudience(SESSION_AUDIENCE)
      .setIssuer(ISSUER)
      .setIssuedAt()
      .setJti(randomUUID())
      .setExpirationTime(SESSION_TTL)
      .sign(this.#secret);
  }

  async verifySessionToken(token: string): Promise<string | null> {
    try {
      const { payload } = await jwtVerify(token, this.#secret, {
        algorithms: ['HS512'],
        audience: SESSION_AUDIENCE,
        issuer: ISSUER,
        clockTolerance: DRIFT_S,
      });
      return typeof payload.sub === 'string' && payload.sub !== '' ? payload.sub : null;
    } catch {
      return null;
    }
  }

  async signPermsToken(claims: Payload): Promise<string> {
    return new SignJWT({ ...claims, typ: 'access' })
      .setProtectedHeader({ alg: 'RS512', typ: 'JWT' })
      .setAudience(PERMS_AUDIENCE)
      .setIssuer(ISSUER)
      .setIssuedAt()
      .setJti(randomUUID())
      .setExpirationTime(PERMS_TTL)
      .sign(this.#permsKey);
  }
}
