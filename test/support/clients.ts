/**
 * Clients for end-to-end tests: the official `phoenix` JS client over `ws`,
 * and a raw websocket client for frames phoenix.js would never send.
 */
import { Channel, Presence, Socket, type SocketConnectOption } from 'phoenix';
import { onTestFinished } from 'vitest';
import WebSocket from 'ws';
import type { HubmeshNode } from '../../src/main.js';
import { within } from './wait.js';

export type Frame = [string | null, string | null, string, string, Record<string, unknown>];

/** Anything with the base URL of a node: a node in this process, or one in another process. */
export type NodeAddress = Pick<HubmeshNode, 'url'>;

export function wsBase(node: NodeAddress): string {
  return node.url.replace(/^http/, 'ws');
}

/** A connected phoenix.js Socket, disconnected when the test ends; `opts` override the client's defaults. */
export function phxSocket(node: NodeAddress, params: Record<string, string> = {}, opts: Partial<SocketConnectOption> = {}): Socket {
  const socket = new Socket(`${wsBase(node)}/socket`, {
    transport: WebSocket as unknown as new (endpoint: string) => object,
    params,
    reconnectAfterMs: () => 50,
    ...opts,
  });
  socket.connect();
  onTestFinished(() => new Promise<void>((resolve) => socket.disconnect(() => resolve())));
  return socket;
}

/**
 * Disconnects phoenix.js sockets together, resolving when each has seen its
 * websocket close. `socket.disconnect(callback)` alone polls for that and
 * takes 150 ms per socket, which adds up over a table of short tests.
 */
export function disconnectAll(sockets: readonly Socket[]): Promise<void> {
  return within(
    Promise.all(
      sockets.map(
        (socket) =>
          new Promise<void>((resolve) => {
            if (!socket.isConnected()) return socket.disconnect(() => resolve());
            socket.onClose(() => resolve());
            socket.disconnect();
          }),
      ),
    ).then(() => undefined),
    5000,
    'sockets to close',
  );
}

export const profile = (displayName: string) => ({ profile: { displayName, avatarId: 'avatar-1' }, context: { mobile: false, embed: false, hmd: false } });

/** Joins `channel`; resolves with the ok response, rejects with the error response or on timeout. */
export function join(channel: Channel, timeoutMs = 5000): Promise<Record<string, unknown>> {
  return within(
    new Promise((resolve, reject) => {
      channel
        .join(timeoutMs)
        .receive('ok', (resp: Record<string, unknown>) => resolve(resp))
        .receive('error', (resp: Record<string, unknown>) => reject(Object.assign(new Error(`join refused: ${JSON.stringify(resp)}`), { response: resp })))
        .receive('timeout', () => reject(new Error('join timed out')));
    }),
    timeoutMs + 1000,
    'join',
  );
}

/** Joins `hub:<sid>` as `name` on a new socket. */
export async function joinHub(node: NodeAddress, sid: string, name: string, params: Record<string, string> = {}) {
  const socket = phxSocket(node, params);
  const channel = socket.channel(`hub:${sid}`, profile(name));
  const reply = await join(channel);
  return { socket, channel, reply, sessionId: reply['session_id'] as string, permsToken: reply['perms_token'] as string };
}

/**
 * Joins `hub:<sid>` as `name` with presence and a record of every naf, nafr
 * and message received, all attached before the join so nothing pushed right
 * after the reply is missed.
 */
export async function joinMember(node: NodeAddress, sid: string, name: string) {
  const socket = phxSocket(node);
  const channel = socket.channel(`hub:${sid}`, profile(name));
  const presence = new Presence(channel);
  const got: Record<string, unknown>[] = [];
  for (const event of ['naf', 'nafr', 'message']) {
    channel.on(event, (p: Record<string, unknown>) => {
      got.push({ event, ...p });
    });
  }
  const reply = await join(channel);
  return { socket, channel, presence, got, sessionId: reply['session_id'] as string };
}

/** Resolves with the payload of the next `event` on `channel`. */
export function nextOn(channel: Channel, event: string, timeoutMs = 5000): Promise<Record<string, unknown>> {
  return within(
    new Promise((resolve) => {
      const ref = channel.on(event, (payload: Record<string, unknown>) => {
        channel.off(event, ref);
        resolve(payload);
      });
    }),
    timeoutMs,
    `${event} on ${channel.topic}`,
  );
}

/** A websocket that records every frame it receives, for exact wire assertions. */
export class RawClient {
  readonly ws: WebSocket;
  readonly frames: unknown[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly opened: Promise<void>;
  #waiters: (() => void)[] = [];

  constructor(url: string) {
    this.ws = new WebSocket(url);
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
    this.closed = new Promise((resolve) => this.ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    this.ws.on('error', () => undefined);
    this.ws.on('message', (data) => {
      this.frames.push(JSON.parse(data.toString()));
      for (const w of this.#waiters.splice(0)) w();
    });
    onTestFinished(() => {
      if (this.ws.readyState !== WebSocket.CLOSED) this.ws.terminate();
    });
  }

  static async open(node: NodeAddress, query = 'vsn=2.0.0'): Promise<RawClient> {
    const client = new RawClient(`${wsBase(node)}/socket/websocket?${query}`);
    await within(client.opened, 5000, 'websocket open');
    return client;
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Resolves with the first received frame (past or future) matching `match`, removing it from `frames`. */
  async next<T = Frame>(match: (f: T) => boolean, timeoutMs = 5000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.frames.findIndex((f) => match(f as T));
      if (i >= 0) return this.frames.splice(i, 1)[0] as T;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames).slice(0, 500)}`);
      await within(new Promise<void>((r) => this.#waiters.push(r)), left, 'a frame').catch(() => undefined);
    }
  }

  /** The reply to `ref`. */
  reply(ref: string, timeoutMs = 5000): Promise<Frame> {
    return this.next<Frame>((f) => Array.isArray(f) && f[1] === ref && f[3] === 'phx_reply', timeoutMs);
  }
}

export type PushOutcome = { readonly status: 'ok' | 'error'; readonly response: Record<string, unknown> };

/** Pushes `event` and resolves with the reply, whichever it is; rejects when none comes. */
export function pushReply(channel: Channel, event: string, payload: object = {}, timeoutMs = 5000): Promise<PushOutcome> {
  return within(
    new Promise((resolve, reject) => {
      channel
        .push(event, payload, timeoutMs)
        .receive('ok', (response: Record<string, unknown>) => resolve({ status: 'ok', response }))
        .receive('error', (response: Record<string, unknown>) => resolve({ status: 'error', response }))
        .receive('timeout', () => reject(new Error(`no reply to ${event}`)));
    }),
    timeoutMs + 1000,
    `the reply to ${event}`,
  );
}

/** The claims of a perms token, decoded without verifying it, as the Hubs client does (parity 4.4). */
