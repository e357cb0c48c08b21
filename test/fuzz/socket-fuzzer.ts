/**
 * One hostile Phoenix socket that stays in a room and sends one fuzz frame at
 * a time (see socket-frames.ts), judging each: a frame with a fresh ref gets
 * its `phx_reply` or the socket is closed, except the events that Reticulum
 * answers only by broadcasting (UNANSWERED_EVENTS), which are followed by a
 * barrier event on the room (an unknown event, answered in order by the room)
 * so the next frame starts only once the room has handled this one. No reply
 * may carry the `internal` reason, no channel may error (`phx_error`), and a
 * close must be one of the codes for frames that are not Phoenix. After a
 * close the fuzzer reconnects; whenever it is out of its room, it rejoins.
 */
import WebSocket from 'ws';
import { within } from '../support/wait.js';
import { UNANSWERED_EVENTS } from './hub-schemas.js';
import { binaryPush, type SocketFuzzFrame } from './socket-frames.js';

type Frame = readonly [unknown, unknown, unknown, unknown, Record<string, unknown>];
type Outcome = { readonly reply: Frame } | { readonly closed: number };

/** Close codes a hostile frame may earn: not Phoenix (1003, 1007), too large (1009). */
const FRAME_CLOSE_CODES = new Set([1003, 1007, 1009]);
const REPLY_TIMEOUT_MS = 15_000;

interface Encoded {
  readonly data: string | Buffer;
  readonly isBinary: boolean;
  /** The ref a reply would carry, when it can be told from others. */
  readonly ref: string | null;
  readonly mustReply: boolean;
  readonly topic: unknown;
  readonly event: unknown;
  readonly joinRef: unknown;
}

export interface SocketFuzzerOptions {
  /** ws://host:port of the node. */
  readonly base: string;
  readonly vsn: 1 | 2;
  readonly roomTopic: string;
  readonly joinParams: Record<string, unknown>;
  /** For a fuzzer that moderates its room: it may kick itself (1000), and this undoes what keeps it out (a closed or shrunk room). */
  readonly heal?: () => Promise<void>;
}

export class SocketFuzzer {
  readonly tally: Record<string, number> = {};
  /** Problems seen in frames that belong to no step (an `internal` reply, a `phx_error`). */
  readonly problems: string[] = [];
  /** topic -> join_ref of each channel this socket has joined. */
  readonly #joined = new Map<string, unknown>();
  readonly #waiters = new Map<string, (f: Frame) => void>();
  readonly #opts: SocketFuzzerOptions;
  #ws!: WebSocket;
  #closed!: Promise<{ readonly closed: number }>;
  #rejoins = 0;

  private constructor(opts: SocketFuzzerOptions) {
    this.#opts = opts;
  }

  static async open(opts: SocketFuzzerOptions): Promise<SocketFuzzer> {
    const fuzzer = new SocketFuzzer(opts);
    await fuzzer.#connect();
    return fuzzer;
  }

  /** Sends case `i`; resolves with a problem, or null when the server handled it well. */
  async step(i: number, frame: SocketFuzzFrame): Promise<string | null> {
    const sent = this.#encode(i, frame);
    const answer = sent.mustReply && sent.ref !== null ? this.#outcome(sent.ref) : null;
    this.#ws.send(sent.data, { binary: sent.isBinary });
    let outcome: Outcome;
    try {
      if (answer) outcome = await answer;
      else {
        const barrier = `b${i}`;
        const settled = this.#outcome(barrier);
        this.#send([this.#joined.get(this.#opts.roomTopic) ?? null, barrier, this.#opts.roomTopic, 'fuzz_barrier', {}]);
        outcome = await settled;
        if ('reply' in outcome) outcome = { reply: [null, null, null, 'quiet', {}] };
      }
    } catch {
      return `no ${answer ? 'reply' : 'answer to the barrier that followed'} within ${REPLY_TIMEOUT_MS} ms`;
    }
    return this.#judge(sent, outcome);
  }

  /** Closes the socket and waits for the close. */
  async close(): Promise<void> {
    this.#ws.close();
    await within(this.#closed, 5000, 'the fuzzer socket to close').catch(() => this.#ws.terminate());
  }

  async #judge(sent: Encoded, outcome: Outcome): Promise<string | null> {
    if ('closed' in outcome) {
      this.#count(`close:${outcome.closed}`);
      const isKicked = outcome.closed === 1000 && this.#opts.heal !== undefined;
      if (!FRAME_CLOSE_CODES.has(outcome.closed) && !isKicked) return `the socket closed with ${outcome.closed}`;
      await this.#connect();
      return null;
    }
    const [, , , event, payload] = outcome.reply;
    const response = (payload['response'] ?? {}) as Record<string, unknown>;
    this.#count(event === 'quiet' ? 'quiet' : `${String(payload['status'])}:${String(response['reason'] ?? '')}`);
    if (response['reason'] === 'internal') return `an internal error: ${JSON.stringify(response)}`;
    if (typeof sent.topic === 'string' && event === 'phx_reply') {
      if (sent.event === 'phx_join') {
        if (payload['status'] === 'ok') this.#joined.set(sent.topic, sent.joinRef);
        else this.#joined.delete(sent.topic);
      }
      if (sent.event === 'phx_leave') this.#joined.delete(sent.topic);
    }
    if (!this.#joined.has(this.#opts.roomTopic)) return this.#rejoin();
    return null;
  }

  #count(key: string): void {
    this.tally[key] = (this.tally[key] ?? 0) + 1;
  }

  #encode(i: number, frame: SocketFuzzFrame): Encoded {
    const none = { ref: null, mustReply: false, topic: null, event: null, joinRef: null };
    if (frame.kind === 'text') return { ...none, data: frame.text, isBinary: false };
    if (frame.kind === 'bytes') return { ...none, data: Buffer.from(frame.bytes), isBinary: frame.isBinary };
    if (frame.kind === 'binary-push') {
      const data = binaryPush(String(this.#joined.get(this.#opts.roomTopic) ?? ''), `f${i}`, this.#opts.roomTopic, frame.event);
      return { ...none, data, isBinary: true, ref: `f${i}`, mustReply: true };
    }
    const topic = frame.topic.kind === 'room' ? this.#opts.roomTopic : frame.topic.topic;
    const isLifecycle = frame.event === 'phx_join' || frame.event === 'phx_leave';
    const refKind = isLifecycle && frame.ref === 'null' ? 'fresh' : frame.ref;
    const ref = refKind === 'fresh' ? `f${i}` : refKind === 'number' ? 1_000_000 + i : refKind === 'null' ? null : refKind.bad;
    const current = frame.event === 'phx_join' ? `fj${i}` : typeof topic === 'string' ? (this.#joined.get(topic) ?? null) : null;
    const joinRef = frame.joinRef === 'current' ? current : frame.joinRef === 'null' ? null : frame.joinRef.other;
    const isAnswerable = refKind === 'fresh' || refKind === 'number';
    const isUnanswered = typeof topic === 'string' && typeof frame.event === 'string' && ((this.#joined.has(topic) && UNANSWERED_EVENTS.has(frame.event)) || (topic === 'ret' && frame.event === 'change_hub'));
    const data = this.#opts.vsn === 2 ? JSON.stringify([joinRef, ref, topic, frame.event, frame.payload]) : JSON.stringify({ topic, event: frame.event, payload: frame.payload, ref, join_ref: joinRef });
    return { data, isBinary: false, ref: isAnswerable ? String(ref) : null, mustReply: isAnswerable && !isUnanswered, topic, event: frame.event, joinRef };
  }

  #send(frame: Frame): void {
    const [joinRef, ref, topic, event, payload] = frame;
    this.#ws.send(this.#opts.vsn === 2 ? JSON.stringify(frame) : JSON.stringify({ topic, event, payload, ref, join_ref: joinRef }));
  }

  /** The reply to `ref` or the socket's close, whichever comes first; rejects after the timeout. */
  #outcome(ref: string): Promise<Outcome> {
    const reply = new Promise<Outcome>((resolve) => this.#waiters.set(ref, (f) => resolve({ reply: f })));
    return within(Promise.race([reply, this.#closed]), REPLY_TIMEOUT_MS, `the reply to ${ref}`).finally(() => this.#waiters.delete(ref));
  }

  #onMessage(text: string): void {
    const v = JSON.parse(text) as unknown;
    const o = v as Record<string, unknown>;
    const f = (Array.isArray(v) ? v : [o['join_ref'], o['ref'], o['topic'], o['event'], o['payload']]) as unknown as Frame;
    const [joinRef, ref, topic, event, payload] = f;
    if (event === 'phx_error') this.problems.push(`phx_error on ${String(topic)}`);
    if (event === 'phx_close' && typeof topic === 'string' && this.#joined.get(topic) === joinRef) this.#joined.delete(topic);
    if (event !== 'phx_reply') return;
    if ((payload['response'] as Record<string, unknown> | undefined)?.['reason'] === 'internal') this.problems.push(`an internal error: ${text.slice(0, 300)}`);
    const waiter = typeof ref === 'string' ? this.#waiters.get(ref) : undefined;
    waiter?.(f);
  }

  async #connect(): Promise<void> {
    this.#joined.clear();
    const ws = new WebSocket(`${this.#opts.base}/socket/websocket?vsn=${this.#opts.vsn}.0.0`);
    this.#ws = ws;
    this.#closed = new Promise((resolve) => ws.once('close', (code) => resolve({ closed: code })));
    ws.on('error', () => undefined);
    ws.on('message', (data) => this.#onMessage(String(data)));
    await within(new Promise((resolve) => ws.once('open', resolve)), 5000, 'the fuzzer socket to open');
    const problem = await this.#rejoin();
    if (problem) throw new Error(problem);
  }

  async #rejoin(): Promise<string | null> {
    const problem = await this.#tryJoin();
    if (problem === null || !this.#opts.heal) return problem;
    await this.#opts.heal();
    return this.#tryJoin();
  }

  async #tryJoin(): Promise<string | null> {
    const ref = `j${++this.#rejoins}`;
    const answer = this.#outcome(ref);
    this.#send([ref, ref, this.#opts.roomTopic, 'phx_join', this.#opts.joinParams]);
    const outcome = await answer.catch(() => ({ closed: -1 }));
    if ('closed' in outcome) return `the socket closed (${outcome.closed}) while rejoining`;
    if (outcome.reply[4]['status'] !== 'ok') return `rejoining was refused: ${JSON.stringify(outcome.reply[4])}`;
    this.#joined.set(this.#opts.roomTopic, ref);
    return null;
  }
}
