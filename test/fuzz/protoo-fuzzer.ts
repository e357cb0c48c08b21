/**
 * One hostile protoo peer of the SFU, sending one fuzz frame at a time (see
 * protoo-frames.ts) and judging each: a request with a fresh id gets its
 * response (ok or error, never `internal`) or the socket is closed with a
 * code for frames that are not protoo; anything else is followed by a
 * barrier request (`getRouterRtpCapabilities`, always answered). The SFU's
 * own requests (`newConsumer`) are answered ok, with an error, or not at all,
 * by turns. Ids the SFU hands out are kept to fill the placeholders of later
 * requests. On every (re)connect the peer first makes its two transports and
 * joins as Hubs does, so most requests meet a joined peer.
 */
import WebSocket from 'ws';
import { audioParameters, videoParameters } from '../support/sfu-client.js';
import { within } from '../support/wait.js';
import { PLACEHOLDER_SLOTS, type ProtooFuzzFrame } from './protoo-frames.js';

type Message = Record<string, unknown>;
type Outcome = { readonly response: Message } | { readonly closed: number };

/** Not protoo (1003, 1007), too large (1009). Nothing a hostile peer sends may get another one put out (4000). */
const FRAME_CLOSE_CODES = new Set([1003, 1007, 1009]);
const RESPONSE_TIMEOUT_MS = 15_000;
const BARRIER_ID_BASE = 1e9;

export class ProtooFuzzer {
  readonly tally: Record<string, number> = {};
  readonly problems: string[] = [];
  readonly #url: string;
  readonly #token: string;
  readonly #known: Record<string, string[]> = { transport: [], producer: [], consumer: [] };
  readonly #waiters = new Map<number, (m: Message) => void>();
  #ws!: WebSocket;
  #closed!: Promise<{ readonly closed: number }>;
  #offers = 0;
  #rtpCapabilities: unknown = {};
  #setupId = 2 * BARRIER_ID_BASE;

  private constructor(url: string, token: string) {
    this.#url = url;
    this.#token = token;
  }

  /** Connects to `url` (`/sfu?roomId=...&peerId=...`) and joins with `token`, the peer's perms token. */
  static async open(url: string, token: string): Promise<ProtooFuzzer> {
    const fuzzer = new ProtooFuzzer(url, token);
    await fuzzer.#connect();
    return fuzzer;
  }

  /** Sends case `i`; resolves with a problem, or null when the SFU handled it well. */
  async step(i: number, frame: ProtooFuzzFrame): Promise<string | null> {
    const isAnswerable = frame.kind === 'request' && frame.id === 'fresh' && typeof frame.method === 'string';
    const id = i + 1;
    const answer = isAnswerable ? this.#outcome(id) : null;
    this.#sendFrame(id, frame);
    let outcome: Outcome;
    try {
      if (answer) outcome = await answer;
      else {
        const barrier = this.#outcome(BARRIER_ID_BASE + i);
        this.#send({ request: true, id: BARRIER_ID_BASE + i, method: 'getRouterRtpCapabilities', data: {} });
        outcome = await barrier;
      }
    } catch {
      return `no ${answer ? 'response' : 'response to the barrier that followed'} within ${RESPONSE_TIMEOUT_MS} ms`;
    }
    if ('closed' in outcome) {
      this.#count(`close:${outcome.closed}`);
      if (!FRAME_CLOSE_CODES.has(outcome.closed)) return `the socket closed with ${outcome.closed}`;
      await this.#connect();
      return null;
    }
    const r = outcome.response;
    if (!answer) this.#count(r['ok'] === true ? 'quiet' : `barrier refused: ${String(r['errorReason'])}`);
    else if (r['ok'] === true) this.#count(`ok:${String(frame.kind === 'request' ? frame.method : '')}`);
    else this.#count(`error:${String(r['errorReason']).split(':')[0]}`);
    if (r['ok'] !== true && (r['errorCode'] === 500 || String(r['errorReason']).startsWith('internal'))) return `an internal error: ${JSON.stringify(r)}`;
    if (!answer && r['ok'] !== true) return `the barrier was refused: ${JSON.stringify(r)}`;
    return null;
  }

  async close(): Promise<void> {
    this.#ws.close();
    await within(this.#closed, 5000, 'the fuzzer socket to close').catch(() => this.#ws.terminate());
  }

  #count(key: string): void {
    this.tally[key] = (this.tally[key] ?? 0) + 1;
  }

  #sendFrame(id: number, frame: ProtooFuzzFrame): void {
    if (frame.kind === 'text') return this.#ws.send(frame.text);
    if (frame.kind === 'bytes') return this.#ws.send(Buffer.from(frame.bytes), { binary: frame.isBinary });
    if (frame.kind === 'message') return this.#ws.send(JSON.stringify(frame.message) ?? 'undefined');
    const data = this.#fill(frame.data);
    this.#ws.send(JSON.stringify({ request: true, id: frame.id === 'fresh' ? id : frame.id.bad, method: frame.method, data }) ?? '');
  }

  /** `value` with each placeholder (`$transport1`) swapped for a known id, when there is one; placeholders sit near the top. */
  #fill(value: unknown, depth = 0): unknown {
    if (depth > 8) return value;
    if (value === '$rtpCapabilities') return this.#rtpCapabilities;
    if (value === '$rtpParameters') return this.#offers % 2 === 0 ? audioParameters(1000 + depth + this.#setupId) : videoParameters(2000 + this.#setupId);
    if (typeof value === 'string') {
      const m = /^\$(transport|producer|consumer)(\d)$/.exec(value);
      const known = m ? this.#known[m[1]!]! : [];
      return m && known.length > 0 ? known[Number(m[2]) % known.length] : value;
    }
    if (Array.isArray(value)) return value.map((v) => this.#fill(v, depth + 1));
    if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.#fill(v, depth + 1)]));
    return value;
  }

  #send(message: Message): void {
    this.#ws.send(JSON.stringify(message));
  }

  #outcome(id: number): Promise<Outcome> {
    const response = new Promise<Outcome>((resolve) => this.#waiters.set(id, (m) => resolve({ response: m })));
    return within(Promise.race([response, this.#closed]), RESPONSE_TIMEOUT_MS, `the response to ${id}`).finally(() => this.#waiters.delete(id));
  }

  #remember(kind: string, id: unknown): void {
    if (typeof id !== 'string') return;
    const list = this.#known[kind]!;
    list.push(id);
    if (list.length > PLACEHOLDER_SLOTS) list.shift();
  }

  #onMessage(text: string): void {
    const m = JSON.parse(text) as Message;
    if (m['response'] === true) {
      const data = (m['data'] ?? {}) as Message;
      if (m['ok'] === true && typeof data['id'] === 'string') this.#remember('iceParameters' in data ? 'transport' : 'producer', data['id']);
      this.#waiters.get(m['id'] as number)?.(m);
      return;
    }
    if (m['request'] === true) {
      const data = (m['data'] ?? {}) as Message;
      if (m['method'] === 'newConsumer') this.#remember('consumer', data['id']);
      // Answer ok, refuse, or stay silent, by turns: the SFU must cope with each.
      const turn = this.#offers++ % 3;
      if (turn === 0) this.#send({ response: true, id: m['id'], ok: true, data: {} });
      if (turn === 1) this.#send({ response: true, id: m['id'], ok: false, errorCode: 400, errorReason: 'fuzz' });
    }
  }

  async #connect(): Promise<void> {
    for (const list of Object.values(this.#known)) list.length = 0;
    const ws = new WebSocket(this.#url, 'protoo');
    this.#ws = ws;
    this.#closed = new Promise((resolve) => ws.once('close', (code) => resolve({ closed: code })));
    ws.on('error', () => undefined);
    ws.on('message', (data) => this.#onMessage(String(data)));
    await within(new Promise((resolve) => ws.once('open', resolve)), 5000, 'the fuzzer socket to open');
    const caps = await this.#setup('getRouterRtpCapabilities', {});
    this.#rtpCapabilities = caps;
    await this.#setup('createWebRtcTransport', { producing: true, consuming: false });
    await this.#setup('createWebRtcTransport', { producing: false, consuming: true });
    await this.#setup('join', { displayName: 'fuzzer', device: { name: 'fuzz' }, rtpCapabilities: caps, token: this.#token });
  }

  /** One request of the set-up, which must succeed. */
  async #setup(method: string, data: Message): Promise<Message> {
    const id = this.#setupId++;
    const outcome = this.#outcome(id);
    this.#send({ request: true, id, method, data });
    const result = await outcome;
    if ('closed' in result || result.response['ok'] !== true) throw new Error(`${method} failed while setting up: ${JSON.stringify(result)}`);
    return result.response['data'] as Message;
  }
}
