/**
 * The built `hubmesh` command as an operator runs it: serve with no
 * configuration but a port, create a room, shut down in order on SIGTERM;
 * invalid configuration fails at start listing every problem; create an
 * account whose token a node on the same data dir accepts.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { AccountIdentity } from '../../src/adapters/account-identity.js';
import { JoseTokens } from '../../src/adapters/jose-tokens.js';
import { openPgliteStore } from '../../src/adapters/pglite-store.js';
import { loadSecrets } from '../../src/secrets.js';
import { within } from '../support/wait.js';

const BIN = fileURLToPath(new URL('../../bin/hubmesh.js', import.meta.url));

function run(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  onTestFinished(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited;
  });
  return { child, exited, out: () => stdout, err: () => stderr };
}

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hubmesh-cli-'));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

describe('hubmesh CLI', () => {
  it('serves, prints the URL and a curl line, and shuts down on SIGTERM', async () => {
    const dataDir = join(await tempDir(), 'data');
    const proc = run(['serve', '--port', '0'], { HUBMESH_DATA_DIR: dataDir, HUBMESH_LOG_LEVEL: 'warn' });
    const url = await within(
      new Promise<string>((resolve) => {
        const check = () => {
          const m = /serving on (http:\/\/127\.0\.0\.1:\d+)/.exec(proc.out());
          if (m) resolve(m[1]!);
        };
        proc.child.stdout.on('data', check);
      }),
      15_000,
      'the serving line',
    );
    expect(proc.out()).toContain(`curl -X POST -H 'content-type: application/json' -d '{"hub":{"name":"Demo"}}' ${url}/api/v1/hubs`);

    const res = await fetch(`${url}/api/v1/hubs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ hub: { name: 'Demo' } }) });
    const body = (await res.json()) as { hub_id: string; url: string };
    expect(body.url).toBe(`${url}/${body.hub_id}/demo`);

    // The secret and the perms key are kept, private, in the data directory.
    expect((await stat(join(dataDir, 'secret'))).mode & 0o077).toBe(0);
    expect(await readFile(join(dataDir, 'perms_key.pem'), 'utf8')).toContain('BEGIN PRIVATE KEY');

    proc.child.kill('SIGTERM');
    expect(await within(proc.exited, 10_000, 'exit')).toBe(0);
    expect(proc.out()).toContain('SIGTERM: shutting down');
    expect(proc.err()).toBe('');
  });

  it('keeps rooms in PGlite under the data dir across restarts, and migrates on demand', async () => {
    const dataDir = join(await tempDir(), 'data');
    const env = { HUBMESH_DATA_DIR: dataDir, HUBMESH_LOG_LEVEL: 'warn' };
    const migrate = run(['migrate'], env);
    expect(await within(migrate.exited, 30_000, 'migrate')).toBe(0);
    expect(migrate.out()).toContain('20261121_0001_initial');
    const again = run(['migrate'], env);
    expect(await within(again.exited, 30_000, 'migrate again')).toBe(0);
    expect(again.out()).toContain('database is up to date');

    const serveOnce = async (fn: (url: string) => Promise<void>) => {
      const proc = run(['serve', '--port', '0'], env);
      const url = await within(
        new Promise<string>((resolve) => proc.child.stdout.on('data', () => {
          const m = /serving on (http:\/\/127\.0\.0\.1:\d+)/.exec(proc.out());
          if (m) resolve(m[1]!);
        })),
        30_000,
        'the serving line',
      );
      await fn(url);
      proc.child.kill('SIGTERM');
      expect(await within(proc.exited, 10_000, 'exit')).toBe(0);
    };
    let sid = '';
    await serveOnce(async (url) => {
      const res = await fetch(`${url}/api/v1/hubs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ hub: { name: 'Lasting', user_data: { k: [1, 2] } } }) });
      sid = ((await res.json()) as { hub_id: string }).hub_id;
    });
    await serveOnce(async (url) => {
      const res = await fetch(`${url}/api/v1/hubs/${sid}`);
      expect(res.status).toBe(200);
      expect(((await res.json()) as { hubs: unknown[] }).hubs[0]).toMatchObject({ hub_id: sid, name: 'Lasting', user_data: { k: [1, 2] } });
    });
  });

  it('refuses invalid configuration listing every problem', async () => {
    const proc = run(['serve'], { HUBMESH_DATA_DIR: await tempDir(), HUBMESH_PORT: 'eighty', HUBMESH_RATE_BURST: '0', HUBMESH_COLOUR: 'red' });
    expect(await within(proc.exited, 10_000, 'exit')).toBe(1);
    expect(proc.err()).toContain('HUBMESH_PORT');
    expect(proc.err()).toContain('HUBMESH_RATE_BURST');
    expect(proc.err()).toContain('HUBMESH_COLOUR is not a known setting');
  });

  it('creates an account and prints a token that a node on the same data dir accepts', async () => {
    const dataDir = join(await tempDir(), 'data');
    const env = { HUBMESH_DATA_DIR: dataDir, HUBMESH_LOG_LEVEL: 'warn' };
    const args = ['accounts', 'create', '--admin', '--email', 'Root@Example.org', '--name', 'Root'];
    const proc = run(args, env);
    expect(await within(proc.exited, 30_000, 'accounts create')).toBe(0);
    const printed = /^account_id: (\d+)\ntoken: (\S+)\n$/.exec(proc.out());
    expect(printed, `${proc.out()}${proc.err()}`).not.toBeNull();
    const accountId = Number(printed![1]);
    const token = printed![2]!;

    // What a node builds from the data dir: the secret it keeps there, and the store under it.
    const secrets = await loadSecrets(dataDir, undefined);
    const tokens = new JoseTokens(secrets.secret, secrets.permsKeyPem);
    expect(await tokens.verifyAccountToken(token)).toBe(accountId);
    const store = await openPgliteStore({ dir: join(dataDir, 'pglite'), migrate: false });
    try {
      const account = await new AccountIdentity({ store, tokens }).authenticate(token);
      expect(account).toMatchObject({ accountId, email: 'root@example.org', displayName: 'Root', isAdmin: true, state: 'enabled' });
    } finally {
      await store.close();
    }

    const again = run(args, env);
    expect(await within(again.exited, 30_000, 'accounts create again')).toBe(1);
    expect(again.err()).toContain('an account with this email already exists');
    expect(again.out()).toBe('');
  });

  it.each([
    [['accounts'], /needs a subcommand/],
    [['accounts', 'delete'], /unknown accounts subcommand/],
    [['accounts', 'create', '--bogus'], /--bogus/],
    [['accounts', 'create', '--email', 'nobody'], /--email must be an email address/],
    [['accounts', 'create', '--name', ''], /--name must have/],
    [['accounts', 'create', '--email'], /--email/],
  ])('refuses %j with the accounts usage and exit code 2', async (args, problem) => {
    const proc = run(args, { HUBMESH_DATA_DIR: await tempDir() });
    expect(await within(proc.exited, 10_000, 'exit')).toBe(2);
    expect(proc.err()).toMatch(problem);
    expect(proc.err()).toContain('Usage: hubmesh accounts create');
    expect(proc.out()).toBe('');
  });

  it('prints help for the command and for serve', async () => {
    const help = run(['--help'], {});
    expect(await within(help.exited, 10_000, 'exit')).toBe(0);
    expect(help.out()).toContain('Usage: hubmesh <command>');
    const serveHelp = run(['serve', '--help'], {});
    expect(await within(serveHelp.exited, 10_000, 'exit')).toBe(0);
    expect(serveHelp.out()).toContain('HUBMESH_MAX_FRAME_BYTES');
    expect(help.out()).toContain('accounts');
    const accountsHelp = run(['accounts', '--help'], {});
    expect(await within(accountsHelp.exited, 10_000, 'exit')).toBe(0);
    expect(accountsHelp.out()).toContain('Usage: hubmesh accounts create [--admin] [--email EMAIL] [--name NAME]');
    const bad = run(['frobnicate'], {});
    expect(await within(bad.exited, 10_000, 'exit')).toBe(2);
  });
});
