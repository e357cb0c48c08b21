/**
 * Real services for integration tests: binaries found on PATH or in the
 * system directories Debian installs daemons to. When one is missing, the
 * suites that need it skip, unless HUBMESH_REQUIRE_SERVICES=1 (set by
 * .ci/run), in which case a test fails saying what to install.
 */
import { execFile, spawn } from 'node:child_process';
import { accessSync, constants, readdirSync } from 'node:fs';
import { chmod, chown, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { it } from 'vitest';

export const isServicesRequired = process.env['HUBMESH_REQUIRE_SERVICES'] === '1';

/** Where Debian puts daemons and versioned PostgreSQL binaries, which a user's PATH often lacks. */
function systemDirs(): string[] {
  let pg: string[] = [];
  try {
    pg = readdirSync('/usr/lib/postgresql').sort().reverse().map((v) => `/usr/lib/postgresql/${v}/bin`);
  } catch {
    // no PostgreSQL packages
  }
  return ['/usr/sbin', '/usr/local/sbin', '/usr/local/bin', '/usr/bin', ...pg];
}
const SYSTEM_DIRS = systemDirs();
const run = promisify(execFile);

export function findBinary(name: string): string | undefined {
  for (const dir of [...(process.env['PATH'] ?? '').split(delimiter), ...SYSTEM_DIRS]) {
    if (!dir) continue;
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Registers a failing test when `binary` is missing but services are required. Returns whether it is there. */
export function needsBinary(binary: string | undefined, name: string, install: string): binary is string {
  if (binary === undefined && isServicesRequired) {
    it(`${name} is installed`, () => {
      throw new Error(`${name} not found on PATH or in ${SYSTEM_DIRS.join(', ')}: ${install}`);
    });
  }
  return binary !== undefined;
}

export interface RunningService {
  readonly url: string;
  stop(): Promise<void>;
}

export interface RunningNats extends RunningService {
  /** Kills the server (SIGKILL) and starts it again on the same port with the same store. */
  restart(): Promise<void>;
  /** Kills the server (SIGKILL), keeping its store; `resume` starts it again. */
  kill(): Promise<void>;
  resume(): Promise<void>;
}

function spawnNats(binary: string, dir: string, port: string): Promise<{ child: ReturnType<typeof spawn>; url: string; exited: Promise<void> }> {
  const child = spawn(binary, ['-a', '127.0.0.1', '-p', port, '-js', '-sd', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    let log = '';
    const timer = setTimeout(() => reject(new Error(`nats-server did not start within 10 s:\n${log}`)), 10_000);
    const onData = (d: Buffer) => {
      log += d.toString();
      const m = /Listening for client connections on (127\.0\.0\.1:\d+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: `nats://${m[1]}`, exited });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`nats-server exited with ${code}:\n${log}`)));
  });
}

/** Starts nats-server with JetStream on a random loopback port in a temporary directory. */
export async function startNatsServer(binary: string): Promise<RunningNats> {
  const dir = await mkdtemp(join(tmpdir(), 'hubmesh-nats-'));
  let current = await spawnNats(binary, dir, '-1');
  const { url } = current;
  const port = url.slice(url.lastIndexOf(':') + 1);
  const kill = async () => {
    if (current.child.exitCode === null) current.child.kill('SIGKILL');
    await current.exited;
  };
  const resume = async () => {
    current = await spawnNats(binary, dir, port);
  };
  let stopping: Promise<void> | undefined;
  return {
    url,
    kill,
    resume,
    restart: async () => {
      await kill();
      await resume();
    },
    stop: () =>
      (stopping ??= (async () => {
        if (current.child.exitCode === null) current.child.kill('SIGTERM');
        await current.exited;
        await rm(dir, { recursive: true, force: true });
      })()),
  };
}

/** A free loopback port, for servers that cannot pick their own. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface RunningPostgres extends RunningService {
  /** A URL for `database` on this server (the `postgres` superuser, trust auth). */
  urlFor(database: string): string;
  /** Stops the server as a crash would, keeping its data, and starts it again. */
  pause(): Promise<void>;
  resume(): Promise<void>;
}

/**
 * Starts PostgreSQL (initdb into a temporary directory, trust auth, loopback
 * only, a random port). initdb refuses to run as root, so as root the server
 * runs as the `postgres` user.
 */
export async function startPostgres(bins: { initdb: string; pgCtl: string }): Promise<RunningPostgres> {
  const dir = await mkdtemp(join(tmpdir(), 'hubmesh-pg-'));
  const data = join(dir, 'data');
  const isRoot = userInfo().uid === 0;
  if (isRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    await chown(dir, Number(stdout.trim()), Number(gid.trim()));
    await chmod(dir, 0o700);
  }
  const as = (bin: string, args: string[]) => (isRoot ? run('runuser', ['-u', 'postgres', '--', bin, ...args]) : run(bin, args));
  await as(bins.initdb, ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8']);
  const port = await freePort();
  const start = () => as(bins.pgCtl, ['-D', data, '-l', join(dir, 'log'), '-w', '-t', '30', '-o', `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c fsync=off`, 'start']);
  await start();
  let stopping: Promise<void> | undefined;
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  return {
    url,
    urlFor: (database: string) => `postgres://postgres@127.0.0.1:${port}/${database}`,
    pause: async () => {
      await as(bins.pgCtl, ['-D', data, '-m', 'immediate', '-w', 'stop']);
    },
    resume: async () => {
      await start();
    },
    stop: () =>
      (stopping ??= (async () => {
        await as(bins.pgCtl, ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
        await rm(dir, { recursive: true, force: true });
      })()),
  };
}
