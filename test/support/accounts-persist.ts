/**
 * Signed-in members for the pinning and persistence tests: accounts made by
 * `hubmesh accounts create`, joins that carry a token and record what they
 * receive, and uploads to pin. Accounts in a store the test holds come from
 * `accountMaker` (accounts.ts).
 */
import { spawn } from 'node:child_process';
import { onTestFinished } from 'vitest';
import { join, phxSocket, profile, type NodeAddress } from './clients.js';
import type { TestAccount } from './accounts.js';
import { BIN } from './processes.js';
import { within } from './wait.js';

/**
 * Runs `hubmesh accounts create <args>` on `env` (HUBMESH_DATA_DIR, or
 * DATABASE_URL) and returns the account it printed. With PGlite no node may
 * have the data dir open: PGlite is single-process.
 */
export async function createAccountWithCli(env: Record<string, string>, args: readonly string[] = ['--admin']): Promise<TestAccount> {
  const child = spawn(process.execPath, [BIN, 'accounts', 'create', ...args], { env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  onTestFinished(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  const code = await within(exited, 30_000, 'hubmesh accounts create');
  const printed = /^account_id: (\d+)\ntoken: (\S+)\n$/.exec(out);
  if (code !== 0 || !printed) throw new Error(`hubmesh accounts create exited with ${code}: ${out}`);
  return { accountId: Number(printed[1]), token: printed[2]! };
}

/** One event a channel received, in arrival order. */
export interface Received {
  readonly event: string;
  readonly payload: Record<string, unknown>;
}

/**
 * Joins `hub:<sid>` as `name` on a new socket, with `auth_token` when an
 * account is given, recording every `events` push (attached before the join,
 * so what is pushed right after the reply is not missed).
 */
export async function joinRecording(node: NodeAddress, sid: string, name: string, opts: { readonly account?: TestAccount; readonly events?: readonly string[] } = {}) {
  const socket = phxSocket(node);
  const channel = socket.channel(`hub:${sid}`, { ...profile(name), ...(opts.account ? { auth_token: opts.account.token } : {}) });
  const got: Received[] = [];
  for (const event of opts.events ?? []) {
    channel.on(event, (payload: Record<string, unknown>) => {
      got.push({ event, payload });
    });
  }
  const reply = await join(channel);
  return { socket, channel, got, sessionId: reply['session_id'] as string, reply };
}

/** What `POST /api/v1/media` answers (parity 5.4). */
export interface Uploaded {
  readonly file_id: string;
  readonly origin: string;
  readonly meta: { readonly access_token: string; readonly promotion_token: string | null; readonly expected_content_type: string };
}

/** Uploads `bytes` as the multipart `media` file, with `fields` (e.g. `promotion_mode: 'with_token'`). */
export async function uploadFile(node: NodeAddress, bytes: Uint8Array, fields: Record<string, string> = {}): Promise<Uploaded> {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  form.append('media', new Blob([bytes]), 'upload.bin');
  const res = await fetch(`${node.url}/api/v1/media`, { method: 'POST', body: form });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`upload failed: ${res.status} ${text}`);
  return JSON.parse(text) as Uploaded;
}
