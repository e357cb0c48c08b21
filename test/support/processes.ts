/**
 * `hubmesh serve` as operators run it: a separate process, on a free port,
 * stopped (SIGKILL if still running) when the test ends. Build first
 * (`npm test` does).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { onTestFinished } from 'vitest';
import type { NodeAddress } from './clients.js';
import { within } from './wait.js';

export const BIN = fileURLToPath(new URL('../../bin/hubmesh.js', import.meta.url));

export interface ServeProcess extends NodeAddress {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
}

/**
 * Starts `hubmesh serve --port <port>` with exactly `env` (plus PATH) and
 * learns its URL from the line it prints. Port 0 (the default) picks a free
 * one; a node restarted after a crash gets the port it had.
 */
export async function startServe(env: Record<string, string>, port = 0): Promise<ServeProcess> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', String(port)], {
    env: { PATH: process.env['PATH'] ?? '', HUBMESH_DRAIN_GRACE_MS: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  onTestFinished(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  let out = '';
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const url = await within(
    new Promise<string>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /serving on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.once('exit', (code, signal) => reject(new Error(`hubmesh serve exited with ${code ?? signal}: ${out}`)));
    }),
    30_000,
    'hubmesh serve to listen',
  );
  return { url, child, exited, output: () => out };
}
