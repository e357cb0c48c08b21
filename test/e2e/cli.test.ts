/**
 * The built `hubmesh` command as an operator runs it: serve with no
 * configuration but a port, create a room, shut down in order on SIGTERM;
 * invalid configuration fails at start listing every problem; create an
 * account whose token a node on the same data dir accepts; and the client
 * commands (rooms, kick, ban, drain) against a running node with a real
 * admin token, including how they fail.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { AccountIdentity } from '../../src/adapters/account-identity.js';
import { JoseTokens } from '../../src/adapters/jose-tokens.js';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import { openPgliteStore } from '../../src/adapters/pglite-store.js';
import { loadSecrets } from '../../src/secrets.js';
import { accountMaker, api, createHubAs } from '../support/accounts.js';
import { join as joinChannel, joinHub, phxSocket, profile } from '../support/clients.js';
import { startTestNode } from '../support/node.js';
import { eventually, waitFor, within } from '../support/wait.js';

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
    // Four processes that each open PGlite (compiling its WebAssembly) in turn; each step is bounded above.
  }, 120_000);

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

/** Runs the CLI to its end; resolves to its exit code and output. */
async function finish(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string; err: string }> {
  const proc = run(args, env);
  const code = await within(proc.exited, 15_000, `hubmesh ${args.join(' ')}`);
  return { code, out: proc.out(), err: proc.err() };
}

/** A node in this process with an admin account, and the environment that points the CLI at it. */
async function adminNode(env: Record<string, string> = {}) {
  const store = new MemoryStore();
  const node = await startTestNode({ adapters: { store }, env });
  const makeAccount = await accountMaker(node, store);
  const admin = await makeAccount({ isAdmin: true });
  return { node, store, makeAccount, admin, cliEnv: { HUBMESH_URL: node.url, HUBMESH_TOKEN: admin.token } };
}

/** A loopback URL where nothing listens: a port the OS handed out and took back. */
async function deadUrl(): Promise<string> {
  const server = createServer();
  await once(server.listen(0, '127.0.0.1'), 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}

/** Joins `sid` and enters the room (presence `room`), so it counts as a member. */
async function enterRoom(node: { url: string }, sid: string, name: string) {
  const member = await joinHub(node, sid, name);
  member.channel.push('events:entering', {});
  member.channel.push('events:entered', { entryDisplayType: 'Screen', isNewDaily: false });
  return member;
}

/** The socket's close codes; after one it stops reconnecting, as a client put out does. */
function closesOf(socket: ReturnType<typeof phxSocket>): number[] {
  const closes: number[] = [];
  socket.onClose((e: unknown) => {
    closes.push((e as { code: number }).code);
    socket.disconnect();
  });
  return closes;
}

describe('hubmesh CLI against a running node', () => {
  it.each([
    [['--help'], ['serve', 'migrate', 'accounts create', 'rooms list', 'rooms create', 'rooms close', 'kick', 'ban', 'drain', '--url', '--token', 'HUBMESH_URL', 'HUBMESH_TOKEN']],
    [['serve', '--help'], ['Usage: hubmesh serve', '--host', '--port', '--role', 'hubmesh drain', 'HUBMESH_DRAIN_GRACE_MS']],
    [['migrate', '--help'], ['Usage: hubmesh migrate', 'DATABASE_URL', 'HUBMESH_DATA_DIR']],
    [['accounts', 'create', '--help'], ['Usage: hubmesh accounts create', '--admin', '--email', '--name']],
    [['rooms', '--help'], ['hubmesh rooms list', 'hubmesh rooms create', 'hubmesh rooms close SID', '--name', '--size', '--json', '--url', '--token']],
    [['rooms', 'list', '--help'], ['hubmesh rooms list [--json]', '--url', '--token']],
    [['kick', '--help'], ['Usage: hubmesh kick SID', '--session', '--account', '--reason', '--url', '--token']],
    [['ban', '--help'], ['Usage: hubmesh ban SID', '--session', '--account', '--minutes', '--reason', '--url', '--token']],
    [['drain', '--help'], ['Usage: hubmesh drain', '--no-wait', '--timeout', 'ret-deploy', '--url', '--token']],
    [['help', 'kick'], ['Usage: hubmesh kick SID']],
  ])('%j exits 0 and names its options', async (args, mentions) => {
    const { code, out, err } = await finish(args, {});
    expect(code).toBe(0);
    expect(err).toBe('');
    for (const m of mentions) expect(out).toContain(m);
  });

  it('lists every room for an admin, live or not, public or not, as a table and as JSON', async () => {
    const { node, admin, cliEnv } = await adminNode();
    const lobby = await createHubAs(node, admin.token, { name: 'Lobby' });
    expect((await api(node, 'PATCH', `/api/v1/hubs/${lobby.sid}`, { token: admin.token, body: { hub: { allow_promotion: true } } })).status).toBe(200);
    const backstage = await createHubAs(node, admin.token, { name: 'Backstage' }); // private
    await enterRoom(node, backstage.sid, 'ada');
    await eventually(() => api(node, 'GET', `/api/v1/hubs/${backstage.sid}`), (r) => (r.body?.['hubs'] as { member_count: number }[])[0]?.member_count === 1, 5000, 'ada in the room');
    const attic = await createHubAs(node, admin.token, { name: 'Attic' }); // private, and nobody in it

    const table = await finish(['rooms', 'list'], cliEnv);
    expect(table.code, table.err).toBe(0);
    const lines = table.out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^SID +NAME +MEMBERS +ENTRY +URL$/);
    // Busiest first.
    expect(lines.slice(1).map((l) => l.split(/ {2,}/))).toEqual([
      [backstage.sid, 'Backstage', '1', 'allow', `${node.url}/${backstage.sid}/backstage`],
      [attic.sid, 'Attic', '0', 'allow', `${node.url}/${attic.sid}/attic`],
      [lobby.sid, 'Lobby', '0', 'allow', `${node.url}/${lobby.sid}/lobby`],
    ]);

    const json = await finish(['rooms', 'list', '--json'], cliEnv);
    expect(json.code).toBe(0);
    expect((JSON.parse(json.out) as { rooms: unknown[] }).rooms).toEqual([
      expect.objectContaining({ hub_id: backstage.sid, name: 'Backstage', member_count: 1, allow_promotion: false, is_live: true }),
      expect.objectContaining({ hub_id: attic.sid, name: 'Attic', member_count: 0, allow_promotion: false, is_live: false }),
      expect.objectContaining({ hub_id: lobby.sid, name: 'Lobby', member_count: 0, allow_promotion: true, is_live: false }),
    ]);

    // Without a token only the public list is there to read, and the CLI says so.
    const anonymous = await finish(['rooms', 'list', '--url', node.url], {});
    expect(anonymous.code).toBe(0);
    expect(anonymous.out).toContain(lobby.sid);
    expect(anonymous.out).not.toContain(backstage.sid);
    expect(anonymous.err).toContain('public rooms only');
  });

  it('creates a room and prints its link, then closes it', async () => {
    const { node, store, admin, cliEnv } = await adminNode();
    const created = await finish(['rooms', 'create', '--name', 'Town Hall', '--size', '12'], cliEnv);
    expect(created.code, created.err).toBe(0);
    const m = new RegExp(`^${node.url}/([A-Za-z0-9]+)/town-hall\\n$`).exec(created.out);
    expect(m, created.out).not.toBeNull();
    const sid = m![1]!;
    expect(await store.getHub(sid)).toMatchObject({ name: 'Town Hall', roomSize: 12, createdByAccountId: admin.accountId, entryMode: 'allow' });

    const ada = await enterRoom(node, sid, 'ada');
    const closes = closesOf(ada.socket);
    const closed = await finish(['rooms', 'close', sid], cliEnv);
    expect(closed.code, closed.err).toBe(0);
    expect(closed.out).toBe(`closed ${sid}: everyone in it was put out, and later joins are refused\n`);
    expect((await store.getHub(sid))?.entryMode).toBe('deny');
    await waitFor(() => closes.length > 0 || ada.channel.state === 'closed' || ada.channel.state === 'errored', 5000, 'ada put out');
  });

  it('kicks a session and bans an account, on a room the admin did not create', async () => {
    const { node, makeAccount, cliEnv } = await adminNode();
    const member = await makeAccount({ email: 'carol@example.org' });
    const sid = await createHubAs(node, undefined, { name: 'Moderated' }).then((h) => h.sid);
    const bob = await enterRoom(node, sid, 'bob');
    const bobCloses = closesOf(bob.socket);

    const kicked = await finish(['kick', sid, '--session', bob.sessionId, '--reason', 'spam'], cliEnv);
    expect(kicked.code, kicked.err).toBe(0);
    expect(kicked.out).toBe(`kicked session ${bob.sessionId} out of ${sid}\n`);
    await waitFor(() => bobCloses.length > 0, 5000, 'bob put out');
    expect(bobCloses).toEqual([1000]);

    const carolSocket = phxSocket(node);
    const carolCloses = closesOf(carolSocket);
    await joinChannel(carolSocket.channel(`hub:${sid}`, { ...profile('carol'), auth_token: member.token }));
    const banned = await finish(['ban', sid, '--account', String(member.accountId), '--minutes', '5', '--reason', 'spam'], cliEnv);
    expect(banned.code, banned.err).toBe(0);
    expect(banned.out).toMatch(new RegExp(`^banned account ${member.accountId} from ${sid} until \\d{4}-\\d\\d-\\d\\dT[0-9:.]+Z \\(ban \\d+\\)\\n$`));
    await waitFor(() => carolCloses.length > 0, 5000, 'carol put out');
    const bans = await api(node, 'GET', `/api/v1/hubs/${sid}/bans`, { token: cliEnv.HUBMESH_TOKEN });
    const [ban] = bans.body?.['bans'] as { account_id: number; reason: string; expires_at: string; created_at: string }[];
    expect(ban).toMatchObject({ account_id: member.accountId, reason: 'spam' });
    // The store stamps created_at, the node's clock the expiry: a moment apart.
    expect(Math.abs(Date.parse(ban!.expires_at) - Date.parse(ban!.created_at) - 5 * 60_000)).toBeLessThan(1000);
  });

  it('drains a node: a client on the ret channel is told to move, the CLI follows until the node stops accepting', async () => {
    const { node, cliEnv } = await adminNode({ HUBMESH_DRAIN_GRACE_MS: '1000' });
    const sid = await createHubAs(node, undefined).then((h) => h.sid);
    const notices: unknown[] = [];
    const ret = phxSocket(node).channel('ret', { hub_id: sid });
    ret.on('notice', (n: unknown) => void notices.push(n));
    await joinChannel(ret);

    const drained = await finish(['drain'], cliEnv);
    expect(drained.code, drained.err).toBe(0);
    expect(notices).toEqual([{ event: 'ret-deploy', ret_version: expect.stringMatching(/^\d+\.\d+\.\d+/), ret_pool: 'hubmesh' }]);
    const lines = drained.out.trimEnd().split('\n');
    expect(lines[0]).toBe(`draining ${node.url}: 1 socket told to move; the rest close after 1000 ms`);
    expect(lines).toContain('  1 socket open');
    expect(lines.at(-1)).toBe('drained: the node no longer accepts connections');
    await expect(fetch(`${node.url}/healthz`)).rejects.toThrow();
  });

  it('drains a node run by hubmesh serve, which then exits', async () => {
    const dataDir = join(await tempDir(), 'data');
    const env = { HUBMESH_DATA_DIR: dataDir, HUBMESH_LOG_LEVEL: 'warn' };
    const account = await finish(['accounts', 'create', '--admin'], env);
    expect(account.code, account.err).toBe(0);
    const token = /token: (\S+)/.exec(account.out)![1]!;
    // The client variables in the environment do not trouble the node's settings.
    const proc = run(['serve', '--port', '0'], { ...env, HUBMESH_URL: 'http://127.0.0.1:1', HUBMESH_TOKEN: token });
    const url = await within(
      new Promise<string>((resolve) => proc.child.stdout.on('data', () => {
        const m = /serving on (http:\/\/127\.0\.0\.1:\d+)/.exec(proc.out());
        if (m) resolve(m[1]!);
      })),
      30_000,
      'the serving line',
    );
    const drained = await finish(['drain', '--url', url, '--token', token], {});
    expect(drained.code, drained.err).toBe(0);
    expect(await within(proc.exited, 10_000, 'serve to exit')).toBe(0);
    expect(proc.out()).toContain('drained: shutting down');
    expect(proc.err()).toBe('');
  });

  it('says what is wrong with a node it cannot reach, a bad token, a missing room and an account that may not', async () => {
    const { node, makeAccount, cliEnv } = await adminNode();
    const dead = await deadUrl();
    const unreachable = await finish(['rooms', 'list', '--url', dead, '--token', 'x'], {});
    expect(unreachable.code).toBe(1);
    expect(unreachable.err).toBe(`hubmesh: cannot reach a hubmesh node at ${dead} (ECONNREFUSED): is it running, and is --url (or HUBMESH_URL) right?\n`);

    const badToken = await finish(['rooms', 'list', '--token', 'not-a-token'], cliEnv);
    expect(badToken.code).toBe(1);
    expect(badToken.err).toMatch(/did not accept the token .*--token or HUBMESH_TOKEN/);

    const member = await makeAccount();
    const notAdmin = await finish(['drain', '--token', member.token], cliEnv);
    expect(notAdmin.code).toBe(1);
    expect(notAdmin.err).toMatch(/may not do this .*admin/);
    expect((await fetch(`${node.url}/readyz`)).status).toBe(200);

    const missing = await finish(['rooms', 'close', 'NoSuchRoom'], cliEnv);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain(`there is no room NoSuchRoom on the node at ${node.url}`);

    const noToken = await finish(['kick', 'NoSuchRoom', '--session', 's1'], { HUBMESH_URL: node.url });
    expect(noToken.code).toBe(2);
    expect(noToken.err).toContain('needs an account token: pass --token TOKEN or set HUBMESH_TOKEN');
  });

  it.each([
    [['frobnicate'], /unknown command "frobnicate"/, 'Usage: hubmesh <command>'],
    [['rooms'], /rooms needs a subcommand/, 'Usage: hubmesh rooms list'],
    [['rooms', 'delete'], /unknown rooms subcommand "delete"/, 'Usage: hubmesh rooms list'],
    [['rooms', 'list', '--url', 'not a url'], /--url must be an http:\/\/ or https:\/\/ URL/, 'Usage: hubmesh rooms list'],
    [['rooms', 'list', '--size', '3'], /--size is not an option of rooms list/, 'Usage: hubmesh rooms list'],
    [['rooms', 'create'], /rooms create needs --name NAME/, 'Usage: hubmesh rooms list'],
    [['rooms', 'create', '--name', 'x', '--size', 'lots'], /--size must be a whole number/, 'Usage: hubmesh rooms list'],
    [['rooms', 'close'], /rooms close needs the room's sid/, 'Usage: hubmesh rooms list'],
    [['kick', 'SID'], /exactly one target/, 'Usage: hubmesh kick'],
    [['kick', 'SID', '--session', 's', '--minutes', '5'], /kick has no --minutes/, 'Usage: hubmesh kick'],
    [['ban', 'SID', '--session', 's', '--account', '1'], /exactly one target/, 'Usage: hubmesh ban'],
    [['ban', 'SID', '--account', '0'], /--account must be a whole number/, 'Usage: hubmesh ban'],
    [['ban', 'SID', '--session', 's', '--minutes', '0'], /--minutes must be a whole number/, 'Usage: hubmesh ban'],
    [['drain', '--bogus'], /--bogus/, 'Usage: hubmesh drain'],
  ])('refuses %j with the usage and exit code 2', async (args, problem, usage) => {
    const { code, out, err } = await finish(args, { HUBMESH_URL: await deadUrl(), HUBMESH_TOKEN: 'x' });
    expect(code).toBe(2);
    expect(err).toMatch(problem);
    expect(err).toContain(usage);
    expect(out).toBe('');
  });
});
