/**
 * The `hubmesh` commands that are clients of a running node's HTTP API:
 * `rooms list|create|close`, `kick`, `ban` and `drain`. They find the node by
 * `--url` (or HUBMESH_URL) and act with `--token` (or HUBMESH_TOKEN), and say
 * what to do when the node cannot be reached or refuses.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { CliFailure, NodeUnreachable, parse, plural, showHelp, write } from './cli-common.js';

/** Where the client commands look for a node when neither --url nor HUBMESH_URL says. */
export const DEFAULT_URL = 'http://127.0.0.1:4000';


const CONNECTION_HELP = `Connection:
  --url URL       the node's base URL (default HUBMESH_URL, else ${DEFAULT_URL})
  --token TOKEN   an account token (default HUBMESH_TOKEN)
  -h, --help      show this help

Exit status: 0 done; 1 the node could not be reached, refused or failed;
2 bad arguments.`;

const CONNECTION = { url: { type: 'string' }, token: { type: 'string' }, help: { type: 'boolean', short: 'h' } } as const;

/** How long one request may take before the node counts as not answering. */
const REQUEST_TIMEOUT_MS = 10_000;

interface Remote {
  /** The node's base URL, without a trailing slash. */
  readonly base: string;
  readonly token: string | undefined;
}

interface Call {
  readonly usage: string;
  readonly body?: unknown;
  readonly needsToken?: boolean;
  /** What a 404 means for this call. */
  readonly notFound: string;
}

function remoteOf(values: { readonly url?: string; readonly token?: string }, usage: string): Remote {
  const raw = values.url ?? process.env['HUBMESH_URL'] ?? DEFAULT_URL;
  const url = URL.canParse(raw) ? new URL(raw) : undefined;
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) throw new CliFailure(`--url must be an http:// or https:// URL, not ${JSON.stringify(raw)}`, usage);
  const token = values.token ?? process.env['HUBMESH_TOKEN'];
  return { base: url.href.replace(/\/+$/, ''), token: token === '' ? undefined : token };
}

function unreachable(remote: Remote, err: unknown): CliFailure {
  const cause = err instanceof Error ? err.cause : undefined;
  const why =
    err instanceof Error && err.name === 'TimeoutError'
      ? `no answer within ${REQUEST_TIMEOUT_MS / 1000} s`
      : cause instanceof Error
        ? ((cause as NodeJS.ErrnoException).code ?? cause.message)
        : String(err);
  return new NodeUnreachable(`cannot reach a hubmesh node at ${remote.base} (${why}): is it running, and is --url (or HUBMESH_URL) right?`);
}

/** What a refusal means and what to do about it. */
function refusal(status: number, body: Record<string, unknown>, remote: Remote, call: Call): CliFailure {
  const said = typeof body['message'] === 'string' ? body['message'] : `HTTP ${status}`;
  const fail = (message: string) => new CliFailure(message, undefined, status);
  switch (status) {
    case 401:
      return fail(
        remote.token === undefined
          ? `this needs an account token (${said}): pass --token TOKEN or set HUBMESH_TOKEN (\`hubmesh accounts create --admin\` prints one)`
          : `the node did not accept the token (${said}): pass a valid account token with --token or HUBMESH_TOKEN (\`hubmesh accounts create --admin\` with the node's data dir prints one)`,
      );
    case 403:
      return fail(`the token's account may not do this (${said}): use an admin's token, or one of someone allowed to do it in the room`);
    case 404:
      return fail(call.notFound);
    case 422:
      return fail(`the node refused the request: ${said}`);
    case 429:
      return fail(`the node is rate limiting this client (${said}): try again shortly`);
    default:
      return fail(`the node answered ${status}${typeof body['code'] === 'string' ? ` ${body['code']}` : ''}: ${said}`);
  }
}

/** One call to the node; resolves to its JSON answer, or throws a CliFailure saying what went wrong. */
async function request(remote: Remote, method: string, path: string, call: Call): Promise<Record<string, unknown>> {
  if (call.needsToken === true && remote.token === undefined) throw new CliFailure('this needs an account token: pass --token TOKEN or set HUBMESH_TOKEN (`hubmesh accounts create --admin` prints one)', call.usage);
  const headers: Record<string, string> = {};
  if (remote.token !== undefined) headers['authorization'] = `Bearer ${remote.token}`;
  if (call.body !== undefined) headers['content-type'] = 'application/json';
  let status: number;
  let text: string;
  try {
    const res = await fetch(`${remote.base}${path}`, { method, headers, body: call.body === undefined ? undefined : JSON.stringify(call.body), signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    status = res.status;
    text = await res.text();
  } catch (err) {
    throw unreachable(remote, err);
  }
  let body: unknown = null;
  try {
    body = text === '' ? {} : JSON.parse(text);
  } catch {
    // Not JSON: not a hubmesh node, or a proxy in front of it; said below.
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new CliFailure(`${remote.base} answered ${status} with something other than hubmesh's JSON: is --url a hubmesh node?`);
  if (status >= 200 && status < 300) return body as Record<string, unknown>;
  throw refusal(status, body as Record<string, unknown>, remote, call);
}


/** An integer in 1..max from an option's text. */
function positiveInt(option: string, text: string, max: number, usage: string): number {
  const n = /^[1-9][0-9]*$/.test(text) ? Number(text) : NaN;
  if (!(n <= max)) throw new CliFailure(`${option} must be a whole number from 1 to ${max}, not ${JSON.stringify(text)}`, usage);
  return n;
}

/** The one room sid among `positionals`. */
function sidOf(positionals: readonly string[], command: string, usage: string): string {
  const [sid, ...extra] = positionals;
  if (sid === undefined || sid === '') throw new CliFailure(`${command} needs the room's sid`, usage);
  if (extra.length > 0) throw new CliFailure(`unexpected ${JSON.stringify(extra.join(' '))}`, usage);
  return sid;
}

const roomPath = (sid: string, rest = '') => `/api/v1/hubs/${encodeURIComponent(sid)}${rest}`;
const noRoom = (remote: Remote, sid: string) => `there is no room ${sid} on the node at ${remote.base} (\`hubmesh rooms list\` shows its rooms)`;
const noAdminApi = (remote: Remote, path: string) => `the node at ${remote.base} has no ${path}: is it an older hubmesh?`;

const ROOMS_USAGE = `Usage: hubmesh rooms list [--json] [--url URL] [--token TOKEN]
       hubmesh rooms create --name NAME [--size N] [--json] [--url URL] [--token TOKEN]
       hubmesh rooms close SID [--url URL] [--token TOKEN]

Rooms of a running node, over its HTTP API.

  list     prints a table of the rooms live on the node (or its cluster) and
           the newest 1000 stored rooms, public or not: sid, name, members,
           entry mode, url. Needs an admin's token; without a token it lists
           the public rooms only.
  create   creates a room and prints its link. With a token, that account
           is the room's creator.
  close    closes the room SID: everyone in it is put out and later joins
           are refused (closed). Needs the token of an admin, or of the
           room's creator or an owner.

Options:
  --name NAME     the room's name (create; 1 to 64 characters)
  --size N        how many people it holds (create; default
                  HUBMESH_DEFAULT_ROOM_SIZE of the node, at most its
                  HUBMESH_MAX_ROOM_SIZE)
  --json          print the node's JSON answer (list, create)

${CONNECTION_HELP}
`;

interface RoomRow {
  readonly hub_id: string;
  readonly name: string;
  readonly member_count: number;
  readonly entry_mode: string;
  readonly url: string;
}

function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return [header, ...rows].map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ')).join('\n');
}

async function listRooms(remote: Remote, asJson: boolean): Promise<number> {
  const isAdminView = remote.token !== undefined;
  const path = isAdminView ? '/api/v1/admin/rooms' : '/api/v1/hubs?limit=100';
  const body = await request(remote, 'GET', path, { usage: ROOMS_USAGE, notFound: noAdminApi(remote, path) });
  const rooms = (isAdminView ? body['rooms'] : body['hubs']) as RoomRow[] | undefined;
  if (!Array.isArray(rooms)) throw new CliFailure(`${remote.base}${path} did not answer with a list of rooms: is --url a hubmesh node?`);
  if (!isAdminView) write(process.stderr, 'public rooms only: pass an admin token (--token or HUBMESH_TOKEN) to see every room');
  if (asJson) write(process.stdout, JSON.stringify({ rooms }, null, 2));
  else if (rooms.length === 0) write(process.stdout, 'no rooms');
  else write(process.stdout, formatTable(['SID', 'NAME', 'MEMBERS', 'ENTRY', 'URL'], rooms.map((r) => [r.hub_id, r.name, String(r.member_count), r.entry_mode, r.url])));
  return 0;
}

async function createRoom(remote: Remote, values: { readonly name?: string; readonly size?: string; readonly json?: boolean }): Promise<number> {
  const name = values.name?.trim();
  if (name === undefined) throw new CliFailure('rooms create needs --name NAME', ROOMS_USAGE);
  if (name === '' || name.length > 64) throw new CliFailure('--name must have 1 to 64 characters', ROOMS_USAGE);
  const size = values.size === undefined ? undefined : positiveInt('--size', values.size, 10_000, ROOMS_USAGE);
  const hub = size === undefined ? { name } : { name, room_size: size };
  const body = await request(remote, 'POST', '/api/v1/hubs', { usage: ROOMS_USAGE, body: { hub }, notFound: noAdminApi(remote, '/api/v1/hubs') });
  write(process.stdout, values.json === true ? JSON.stringify(body, null, 2) : String(body['url']));
  return 0;
}

export async function rooms(args: string[]): Promise<number> {
  const options = { ...CONNECTION, name: { type: 'string' }, size: { type: 'string' }, json: { type: 'boolean' } } as const;
  const { values, positionals } = parse(ROOMS_USAGE, () => parseArgs({ args, options, allowPositionals: true, strict: true }));
  if (values.help) return showHelp(ROOMS_USAGE);
  const [sub, ...rest] = positionals;
  const onlyFor = (allowed: readonly string[]) => {
    const stray = (['name', 'size', 'json'] as const).find((o) => values[o] !== undefined && !allowed.includes(o));
    if (stray !== undefined) throw new CliFailure(`--${stray} is not an option of rooms ${sub}`, ROOMS_USAGE);
  };
  if (sub === undefined) throw new CliFailure('rooms needs a subcommand: list, create or close', ROOMS_USAGE);
  if (!['list', 'create', 'close'].includes(sub)) throw new CliFailure(`unknown rooms subcommand ${JSON.stringify(sub)}`, ROOMS_USAGE);
  if (sub !== 'close' && rest.length > 0) throw new CliFailure(`unexpected ${JSON.stringify(rest.join(' '))}`, ROOMS_USAGE);
  const remote = remoteOf(values, ROOMS_USAGE);
  if (sub === 'list') {
    onlyFor(['json']);
    return listRooms(remote, values.json === true);
  }
  if (sub === 'create') return createRoom(remote, values);
  onlyFor([]);
  const sid = sidOf(rest, 'rooms close', ROOMS_USAGE);
  await request(remote, 'POST', roomPath(sid, '/close'), { usage: ROOMS_USAGE, needsToken: true, notFound: noRoom(remote, sid) });
  write(process.stdout, `closed ${sid}: everyone in it was put out, and later joins are refused`);
  return 0;
}

const TARGET_HELP = `Target (exactly one):
  --session ID    a session (the session_id the room's members list shows:
                  GET /api/v1/hubs/SID/members)
  --account ID    an account: every session signed in with it
  --reason TEXT   why (kept in the room's audit log; at most 500 characters)`;

const KICK_USAGE = `Usage: hubmesh kick SID (--session ID | --account ID) [--reason TEXT] [--url URL] [--token TOKEN]

Puts a session, or every session of an account, out of the room SID on
every node; its sockets close. A kick is no ban: it may come back (see
hubmesh ban). Needs the token of an admin, or of the room's creator or an
owner.

${TARGET_HELP}

${CONNECTION_HELP}
`;

const BAN_USAGE = `Usage: hubmesh ban SID (--session ID | --account ID) [--minutes M] [--reason TEXT] [--url URL] [--token TOKEN]

Bans a session or an account from the room SID, and puts it out of the room
now, on every node; joins it tries are refused (banned) until the ban ends.
Prints the ban's id and when it ends; a ban is lifted with
DELETE /api/v1/hubs/SID/bans/BAN_ID. Needs the token of an admin, or of the
room's creator or an owner.

${TARGET_HELP}
  --minutes M     how long the ban lasts (default: until it is lifted)

${CONNECTION_HELP}
`;

/** The most a ban may last, in minutes (the API's limit of ten years). */
const MAX_BAN_MINUTES = 5_256_000;

type Target = { readonly session_id: string } | { readonly account_id: number };

function targetOf(values: { readonly session?: string; readonly account?: string }, usage: string): Target {
  const { session, account } = values;
  if ((session === undefined) === (account === undefined)) throw new CliFailure('name exactly one target: --session ID or --account ID', usage);
  if (account !== undefined) return { account_id: positiveInt('--account', account, Number.MAX_SAFE_INTEGER, usage) };
  if (session === undefined || session === '' || session.length > 64) throw new CliFailure('--session must have 1 to 64 characters', usage);
  return { session_id: session };
}

const describeTarget = (t: Target) => ('session_id' in t ? `session ${t.session_id}` : `account ${t.account_id}`);

export async function moderate(args: string[], action: 'kick' | 'ban'): Promise<number> {
  const usage = action === 'kick' ? KICK_USAGE : BAN_USAGE;
  const options = { ...CONNECTION, session: { type: 'string' }, account: { type: 'string' }, reason: { type: 'string' }, minutes: { type: 'string' } } as const;
  const { values, positionals } = parse(usage, () => parseArgs({ args, options, allowPositionals: true, strict: true }));
  if (values.help) return showHelp(usage);
  const sid = sidOf(positionals, action, usage);
  const target = targetOf(values, usage);
  if (values.reason !== undefined && values.reason.length > 500) throw new CliFailure('--reason must have at most 500 characters', usage);
  if (action === 'kick' && values.minutes !== undefined) throw new CliFailure('kick has no --minutes: a kick is no ban (hubmesh ban --minutes M is)', usage);
  const minutes = values.minutes === undefined ? undefined : positiveInt('--minutes', values.minutes, MAX_BAN_MINUTES, usage);
  const remote = remoteOf(values, usage);
  const call = { usage, needsToken: true, notFound: noRoom(remote, sid) };
  const reason = values.reason === undefined ? {} : { reason: values.reason };
  if (action === 'kick') {
    await request(remote, 'POST', roomPath(sid, '/kick'), { ...call, body: { ...target, ...reason } });
    write(process.stdout, `kicked ${describeTarget(target)} out of ${sid}`);
    return 0;
  }
  const ban = await request(remote, 'POST', roomPath(sid, '/bans'), { ...call, body: { ...target, ...reason, ...(minutes === undefined ? {} : { duration_seconds: minutes * 60 }) } });
  const until = typeof ban['expires_at'] === 'string' ? `until ${ban['expires_at']}` : 'until it is lifted';
  write(process.stdout, `banned ${describeTarget(target)} from ${sid} ${until} (ban ${String(ban['ban_id'])})`);
  return 0;
}

const DRAIN_USAGE = `Usage: hubmesh drain [--no-wait] [--timeout SECONDS] [--url URL] [--token TOKEN]

Drains a running node, as SIGTERM does: /readyz turns 503, new sockets and
room joins are refused (draining), clients on the ret channel are told to
move to another node (ret-deploy), and after the node's
HUBMESH_DRAIN_GRACE_MS it closes the sockets left and shuts down (under
\`hubmesh serve\`, the process exits). Needs an admin's token. Until the
node stops accepting connections it prints how many sockets are still open.

Options:
  --no-wait           return as soon as the node has started draining
  --timeout SECONDS   stop waiting after this long and exit 1 (default: the
                      node's grace period plus 30 s)

${CONNECTION_HELP}
`;

/** How often `drain` asks the node how far it is. */
const DRAIN_POLL_MS = 250;

type DrainProgress = { readonly state: 'open'; readonly sockets: number } | { readonly state: 'closing' } | { readonly state: 'gone' };

/** How far the node's drain is; a node that no longer takes connections is gone. */
async function drainProgress(remote: Remote): Promise<DrainProgress> {
  try {
    const body = await request(remote, 'GET', '/api/v1/admin/status', { usage: DRAIN_USAGE, needsToken: true, notFound: noAdminApi(remote, '/api/v1/admin/status') });
    return { state: 'open', sockets: typeof body['sockets'] === 'number' ? body['sockets'] : 0 };
  } catch (err) {
    // While fastify closes it answers 503 to new requests; once closed, nothing answers.
    if (err instanceof NodeUnreachable) return { state: 'gone' };
    if (err instanceof CliFailure && err.status === 503) return { state: 'closing' };
    throw err;
  }
}

export async function drain(args: string[]): Promise<number> {
  const options = { ...CONNECTION, 'no-wait': { type: 'boolean' }, timeout: { type: 'string' } } as const;
  const { values, positionals } = parse(DRAIN_USAGE, () => parseArgs({ args, options, allowPositionals: true, strict: true }));
  if (values.help) return showHelp(DRAIN_USAGE);
  if (positionals.length > 0) throw new CliFailure(`unexpected ${JSON.stringify(positionals.join(' '))}`, DRAIN_USAGE);
  const timeoutS = values.timeout === undefined ? undefined : positiveInt('--timeout', values.timeout, 86_400, DRAIN_USAGE);
  const remote = remoteOf(values, DRAIN_USAGE);
  const started = await request(remote, 'POST', '/api/v1/admin/drain', { usage: DRAIN_USAGE, needsToken: true, notFound: noAdminApi(remote, '/api/v1/admin/drain') });
  const graceMs = typeof started['drain_grace_ms'] === 'number' ? started['drain_grace_ms'] : 0;
  const sockets = typeof started['sockets'] === 'number' ? started['sockets'] : 0;
  write(process.stdout, `draining ${remote.base}: ${plural(sockets, 'socket')} told to move; the rest close after ${graceMs} ms`);
  if (values['no-wait'] === true) return 0;
  const waitMs = timeoutS === undefined ? graceMs + 30_000 : timeoutS * 1000;
  const deadline = Date.now() + waitMs;
  let shown = '';
  for (;;) {
    const progress = await drainProgress(remote);
    if (progress.state === 'gone') break;
    const line = progress.state === 'open' ? `  ${plural(progress.sockets, 'socket')} open` : '  closing';
    if (line !== shown) write(process.stdout, line);
    shown = line;
    if (Date.now() >= deadline) throw new CliFailure(`the node at ${remote.base} is still up after ${Math.round(waitMs / 1000)} s of waiting; it keeps draining (see its logs)`);
    await delay(DRAIN_POLL_MS);
  }
  write(process.stdout, 'drained: the node no longer accepts connections');
  return 0;
}

