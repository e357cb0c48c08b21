/**
 * Account tokens (ports/tokens.ts): HS512 with the node secret, audience
 * ret_account, subject the account id; a session token is never an account
 * token and the other way round.
 */
import { generateKeyPairSync } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, SignJWT } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_ACCOUNT_TOKEN_TTL_S, JoseTokens } from '../../src/adapters/jose-tokens.js';

const SECRET = 'a'.repeat(48);
const permsKeyPem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

function makeTokens(opts: { secret?: string; accountTokenTtlS?: number } = {}): JoseTokens {
  return new JoseTokens(opts.secret ?? SECRET, permsKeyPem, { accountTokenTtlS: opts.accountTokenTtlS });
}

afterEach(() => {
  vi.useRealTimers();
});

describe('account tokens', () => {
  it('sign and verify to the account id, with Guardian-style claims', async () => {
    const tokens = makeTokens();
    const token = await tokens.signAccountToken(42);
    expect(await tokens.verifyAccountToken(token)).toBe(42);
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'HS512', typ: 'JWT' });
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({ sub: '42', aud: 'ret_account', iss: tokens.issuer, typ: 'access' });
    expect(claims.jti).toEqual(expect.any(String));
    expect(claims.exp! - claims.iat!).toBe(DEFAULT_ACCOUNT_TOKEN_TTL_S);
    expect(DEFAULT_ACCOUNT_TOKEN_TTL_S).toBe(12 * 7 * 24 * 3600);
    expect(decodeJwt(await tokens.signAccountToken(42)).jti).not.toBe(claims.jti);
  });

  it('verify with another instance that has the same secret, not with another secret', async () => {
    const token = await makeTokens().signAccountToken(7);
    expect(await makeTokens().verifyAccountToken(token)).toBe(7);
    expect(await makeTokens({ secret: 'b'.repeat(48) }).verifyAccountToken(token)).toBeNull();
  });

  it('expire after the configured TTL plus the allowed drift', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2030-01-01T00:00:00Z'));
    const tokens = makeTokens({ accountTokenTtlS: 10 });
    const token = await tokens.signAccountToken(3);
    expect(decodeJwt(token).exp! - decodeJwt(token).iat!).toBe(10);
    vi.setSystemTime(new Date('2030-01-01T00:01:05Z'));
    expect(await tokens.verifyAccountToken(token)).toBe(3);
    vi.setSystemTime(new Date('2030-01-01T00:01:11Z'));
    expect(await tokens.verifyAccountToken(token)).toBeNull();
  });

  it('refuse a session token, and are refused as one', async () => {
    const tokens = makeTokens();
    const session = await tokens.signSessionToken('12');
    expect(await tokens.verifySessionToken(session)).toBe('12');
    expect(await tokens.verifyAccountToken(session)).toBeNull();
    const account = await tokens.signAccountToken(12);
    expect(await tokens.verifySessionToken(account)).toBeNull();
  });

  it('refuse garbage and tokens with a bad subject, without rejecting', async () => {
    const tokens = makeTokens();
    const key = new TextEncoder().encode(SECRET);
    const forge = (sub: string | undefined, alg = 'HS512') => {
      const jwt = new SignJWT({}).setProtectedHeader({ alg }).setAudience('ret_account').setIssuer(tokens.issuer).setIssuedAt().setExpirationTime('1h');
      return (sub === undefined ? jwt : jwt.setSubject(sub)).sign(key);
    };
    expect(await tokens.verifyAccountToken(await forge('5'))).toBe(5);
    for (const bad of ['', 'not.a.jwt', 'a.b', '....', await forge(undefined), await forge('0'), await forge('-1'), await forge('1.5'), await forge('007'), await forge('1e3'), await forge('99999999999999999999'), await forge('5', 'HS256')]) {
      expect(await tokens.verifyAccountToken(bad), bad).toBeNull();
    }
    const good = await tokens.signAccountToken(9);
    const [header, payload, signature] = good.split('.');
    // Change the signature's first character: it carries six whole bits, so the bytes always change (the last ones may carry padding bits).
    const tampered = `${signature!.startsWith('A') ? 'B' : 'A'}${signature!.slice(1)}`;
    expect(await tokens.verifyAccountToken(`${header}.${payload}.${tampered}`)).toBeNull();
    expect(await tokens.verifyAccountToken(`${header}.${Buffer.from(JSON.stringify({ ...decodeJwt(good), sub: '1' })).toString('base64url')}.${signature}`)).toBeNull();
  });

  it('refuse to sign for an id that is not a positive integer', async () => {
    const tokens = makeTokens();
    for (const id of [0, -1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 1]) await expect(tokens.signAccountToken(id)).rejects.toThrow(TypeError);
  });

  it('refuse a TTL that is not a positive integer', () => {
    for (const ttl of [0, -5, 1.5]) expect(() => makeTokens({ accountTokenTtlS: ttl })).toThrow(TypeError);
  });
});
