/**
 * Real services for integration tests: binaries found on PATH or in the
 * system directories Debian installs daemons to. When one is missing, the
 * suites that need it skip, unless HUBMESH_REQUIRE_SERVICES=1 (set by
 * .ci/run), in which case a test fails saying what to install.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { it } from 'vitest';

export const isServicesRequired = process.env['HUBMESH_REQUIRE_SERVICES'] === '1';

const SYSTEM_DIRS = ['/usr/sbin', '/usr/local/sbin', '/usr/local/bin', '/usr/bin'];

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
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

/** Starts nats-server with JetStream on a random loopback port in a temporary directory. */
export async function startNatsServer(binary: string): Promise<RunningService> {
  const dir = await mkdtemp(join(tmpdir(), 'hubmesh-nats-'));
  const child = spawn(binary, ['-a', '127.0.0.1', '-p', '-1', '-js', '-sd', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    let log = '';
    const timer = setTimeout(() => reject(new Error(`nats-server did not start within 10 s:\n${log}`)), 10_000);
    const onData = (d: Buffer) => {
      log += d.toString();
      const m = /Listening for client connections on (127\.0\.0\.1:\d+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve(`nats://${m[1]}`);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`nats-server exited with ${code}:\n${log}`)));
  });
  let stopping: Promise<void> | undefined;
  return {
    url,
    process: child,
    stop: () =>
      (stopping ??= (async () => {
        if (child.exitCode === null) child.kill('SIGTERM');
        await exited;
        await rm(dir, { recursive: true, force: true });
      })()),
  };
}
