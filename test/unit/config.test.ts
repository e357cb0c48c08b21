import { describe, it, expect } from 'vitest';
import { configEnv, describeConfig, loadConfig } from '../../src/config.js';
import { AppError } from '../../src/errors.js';

/** Runs loadConfig and returns the AppError it throws. */
function configError(env: Record<string, string | undefined>, overrides: Record<string, unknown> = {}): AppError {
  try {
    loadConfig(env, overrides);
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('loadConfig did not throw');
}

function problems(err: AppError): string[] {
  return (err.details as { problems: string[] }).problems;
}

describe('loadConfig', () => {
  it('gives the defaults for an empty environment', () => {
    expect(loadConfig({})).toMatchObject({
      host: '127.0.0.1',
      port: 4000,
      dataDir: './data',
      logLevel: 'info',
      maxFrameBytes: 65536,
      idleTimeoutMs: 60000,
      ratePerSec: 100,
      rateBurst: 200,
      roomIdleMs: 30000,
      socketBufferBytes: 1048576,
      socketBufferMaxBytes: 8388608,
      defaultRoomSize: 24,
      maxRoomSize: 50,
      permissiveRooms: false,
    });
  });

  it('leaves optional settings unset by default', () => {
    const config = loadConfig({});
    expect(config.secret).toBeUndefined();
    expect(config.publicUrl).toBeUndefined();
  });

  it('coerces environment strings', () => {
    const config = loadConfig({
      HUBMESH_PORT: '4001',
      HUBMESH_PERMISSIVE_ROOMS: 'true',
      HUBMESH_RATE_PER_SEC: '2.5',
      HUBMESH_HOST: '0.0.0.0',
      HUBMESH_LOG_LEVEL: 'debug',
      HUBMESH_PUBLIC_URL: 'https://rooms.example.org',
    });
    expect(config.port).toBe(4001);
    expect(config.permissiveRooms).toBe(true);
    expect(config.ratePerSec).toBe(2.5);
    expect(config.host).toBe('0.0.0.0');
    expect(config.logLevel).toBe('debug');
    expect(config.publicUrl).toBe('https://rooms.example.org');
  });

  it('ignores variables without the HUBMESH_ prefix and undefined values', () => {
    expect(loadConfig({ PORT: '1', HOME: '/root', HUBMESH_PORT: undefined }).port).toBe(4000);
  });

  it('lets overrides win over the environment', () => {
    expect(loadConfig({ HUBMESH_PORT: '4001', HUBMESH_HOST: '0.0.0.0' }, { port: 5000 })).toMatchObject({ port: 5000, host: '0.0.0.0' });
    expect(loadConfig({ HUBMESH_PORT: '4001' }, { port: '5001' }).port).toBe(5001);
  });

  it('ignores undefined overrides', () => {
    expect(loadConfig({ HUBMESH_PORT: '4001' }, { port: undefined }).port).toBe(4001);
  });

  it('returns a frozen object', () => {
    const config = loadConfig({});
    expect(Object.isFrozen(config)).toBe(true);
    expect(() => {
      (config as { port: number }).port = 1;
    }).toThrow(TypeError);
  });

  it('ignores HUBMESH_REQUIRE_SERVICES, which belongs to the test tooling', () => {
    const config = loadConfig({ HUBMESH_REQUIRE_SERVICES: '1' });
    expect(config).not.toHaveProperty('HUBMESH_REQUIRE_SERVICES');
    expect(Object.keys(config)).not.toContain('HUBMESH_REQUIRE_SERVICES');
  });

  it('reports every problem at once, each by its variable name', () => {
    const err = configError({ HUBMESH_PORT: '99999', HUBMESH_MAX_FRAME_BYTES: 'abc', HUBMESH_FOO: 'bar' });
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.reason).toBe('config_invalid');
    const list = problems(err);
    expect(list).toHaveLength(3);
    expect(list).toContainEqual(expect.stringMatching(/^HUBMESH_PORT /));
    expect(list).toContainEqual(expect.stringMatching(/^HUBMESH_MAX_FRAME_BYTES /));
    expect(list).toContain('HUBMESH_FOO is not a known setting');
    for (const problem of list) expect(err.message).toContain(problem);
  });

  it.each([
    ['HUBMESH_PORT', '-1'],
    ['HUBMESH_PORT', '40.5'],
    ['HUBMESH_HOST', ''],
    ['HUBMESH_SECRET', 'too-short'],
    ['HUBMESH_PUBLIC_URL', 'ftp://example.org'],
    ['HUBMESH_LOG_LEVEL', 'loud'],
    ['HUBMESH_MAX_FRAME_BYTES', '100'],
    ['HUBMESH_RATE_PER_SEC', '0'],
    ['HUBMESH_RATE_BURST', '0'],
    ['HUBMESH_IDLE_TIMEOUT_MS', '99'],
    ['HUBMESH_PERMISSIVE_ROOMS', 'yes'],
  ])('refuses %s=%j', (name, value) => {
    const list = problems(configError({ [name]: value }));
    expect(list).toHaveLength(1);
    expect(list[0]).toMatch(new RegExp(`^${name} `));
  });

  it('reports cross-field problems together', () => {
    const list = problems(configError({ HUBMESH_SOCKET_BUFFER_BYTES: '9000000', HUBMESH_DEFAULT_ROOM_SIZE: '100' }));
    expect(list).toEqual(['HUBMESH_SOCKET_BUFFER_MAX_BYTES must be >= HUBMESH_SOCKET_BUFFER_BYTES', 'HUBMESH_MAX_ROOM_SIZE must be >= HUBMESH_DEFAULT_ROOM_SIZE']);
  });

  it('reports cross-field problems beside schema problems', () => {
    const list = problems(configError({ HUBMESH_SOCKET_BUFFER_BYTES: '9000000', HUBMESH_PORT: 'x' }));
    expect(list).toEqual([expect.stringMatching(/^HUBMESH_PORT /), 'HUBMESH_SOCKET_BUFFER_MAX_BYTES must be >= HUBMESH_SOCKET_BUFFER_BYTES']);
  });

  it('reads the account token TTL, 12 weeks by default', () => {
    expect(loadConfig({}).accountTokenTtlS).toBe(12 * 7 * 24 * 3600);
    expect(loadConfig({ HUBMESH_ACCOUNT_TOKEN_TTL_S: '3600' }).accountTokenTtlS).toBe(3600);
    expect(problems(configError({ HUBMESH_ACCOUNT_TOKEN_TTL_S: '0' }))).toEqual([expect.stringMatching(/^HUBMESH_ACCOUNT_TOKEN_TTL_S /)]);
  });

  it('reads an OpenID Connect issuer with its key set, and needs both', () => {
    const oidc = { HUBMESH_OIDC_ISSUER: 'https://id.example.org/realms/rooms', HUBMESH_OIDC_JWKS_URL: 'https://id.example.org/realms/rooms/certs' };
    expect(loadConfig(oidc)).toMatchObject({ oidcIssuer: oidc.HUBMESH_OIDC_ISSUER, oidcJwksUrl: oidc.HUBMESH_OIDC_JWKS_URL });
    expect(loadConfig({ ...oidc, HUBMESH_OIDC_AUDIENCE: 'hubmesh' }).oidcAudience).toBe('hubmesh');
    expect(loadConfig({}).oidcIssuer).toBeUndefined();
    const together = 'HUBMESH_OIDC_ISSUER and HUBMESH_OIDC_JWKS_URL must be set together';
    expect(problems(configError({ HUBMESH_OIDC_ISSUER: oidc.HUBMESH_OIDC_ISSUER }))).toEqual([together]);
    expect(problems(configError({ HUBMESH_OIDC_JWKS_URL: oidc.HUBMESH_OIDC_JWKS_URL }))).toEqual([together]);
    expect(problems(configError({ HUBMESH_OIDC_AUDIENCE: 'hubmesh' }))).toEqual(['HUBMESH_OIDC_AUDIENCE needs HUBMESH_OIDC_ISSUER']);
    expect(problems(configError({ ...oidc, HUBMESH_OIDC_ISSUER: 'id.example.org' }))).toEqual([expect.stringMatching(/^HUBMESH_OIDC_ISSUER /)]);
  });

  it('reports an invalid override by its variable name', () => {
    expect(problems(configError({}, { port: 70000 }))).toEqual([expect.stringMatching(/^HUBMESH_PORT /)]);
  });
});

describe('configEnv and describeConfig', () => {
  it('names every setting HUBMESH_*, uniquely, but the conventional DATABASE_URL and NATS_URL', () => {
    const names = Object.values(configEnv);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names.filter((n) => n !== 'DATABASE_URL' && n !== 'NATS_URL')) expect(name).toMatch(/^HUBMESH_[A-Z_]+$/);
  });

  it('reads DATABASE_URL and checks it is a PostgreSQL URL', () => {
    expect(loadConfig({ DATABASE_URL: 'postgres://u@127.0.0.1:5432/db' }).databaseUrl).toBe('postgres://u@127.0.0.1:5432/db');
    expect(problems(configError({ DATABASE_URL: 'mysql://x' }))).toEqual([expect.stringMatching(/^DATABASE_URL /)]);
  });

  it('describes every setting with its default', () => {
    const rows = describeConfig();
    expect(rows.map((r) => r.env).sort()).toEqual(Object.values(configEnv).sort());
    expect(rows.find((r) => r.env === 'HUBMESH_PORT')?.default).toBe('4000');
    expect(rows.find((r) => r.env === 'HUBMESH_SECRET')?.default).toBe('(none)');
  });
});
