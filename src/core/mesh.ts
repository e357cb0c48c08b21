/**
 * What the nodes of a cluster tell each other about a room, on the bus
 * subject `hub.<sid>.m` (see actors/hub-registry.ts). Each node numbers what
 * it publishes per room, so a node that joins a room late can tell which of
 * the envelopes it buffered the state it was sent already contains.
 */
import type { Payload } from '../protocol/frames.js';
import { isPayload } from '../protocol/codec.js';
import { decodeJson, encodeJson } from './bus-json.js';
import type { Entity } from './entities.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export type Envelope =
  /** A relayed broadcast: deliver `event` with `payload` to local members. `sys` marks a decided entity message (leave resolution). */
  | { readonly t: 'b'; readonly n: string; readonly q: number; readonly e: string; readonly p: Payload; readonly f?: string; readonly to?: string; readonly d?: boolean; readonly naf?: boolean; readonly sys?: boolean }
  /** A presence change of one member on node `n`. */
  | { readonly t: 'p'; readonly n: string; readonly q: number; readonly op: 'join' | 'update' | 'leave'; readonly s: string; readonly r: string; readonly pr?: string; readonly m?: Payload }
  /** `s` blocks (`on`) or unblocks `o`. */
  | { readonly t: 'blk'; readonly n: string; readonly q: number; readonly s: string; readonly o: string; readonly on: boolean }
  /**
   * Every member node `n` has in the room now, sent after the bus was away: the others make their view of `n` match.
   * `ents` is its entity table, which the others merge (core/entity-lifecycle.ts `mergeRemoteEntities`).
   */
  | { readonly t: 'sync'; readonly n: string; readonly q: number; readonly e: readonly { readonly s: string; readonly r: string; readonly m: Payload }[]; readonly ents?: readonly unknown[] }
  /** Node `n` may have missed syncs while away: every node answers with its own `sync`. */
  | { readonly t: 'ask'; readonly n: string; readonly q: number };

/** A room as one node holds it, sent to a node that starts holding it too. */
export interface RoomState {
  readonly presence: readonly { readonly node: string; readonly s: string; readonly r: string; readonly m: Payload }[];
  readonly entities: readonly Entity[];
  readonly blocks: readonly (readonly [string, readonly string[]])[];
  /** node -> the last envelope of that node this state contains. */
  readonly seq: Readonly<Record<string, number>>;
  /** The room's SFU as the sending node knows it, which may be newer than the store (actors/hub/host.ts). */
  readonly host?: string | null;
}

type Body<T> = T extends unknown ? Omit<T, 'n' | 'q'> : never;
/** An envelope before the link stamps it with this node and its number. */
export type EnvelopeBody = Body<Envelope>;

/** A decoded envelope; a broadcast keeps its payload's JSON text too. */
export type InEnvelope = Envelope & { readonly pj?: string };

/** Flags of a broadcast's head line. */
const DROPPABLE = 1;
const NAF = 2;
const SYS = 4;

/**
 * The envelopes a node publishes for one room between two flushes go out as
 * one bus message. Its first line is the sending node's id (a JSON string),
 * said once for all of them. Then each envelope is two lines:
 *
 * - a broadcast: `[q, event, from|null, to|null, flags]`, then its payload's
 *   JSON: the very text the sending node encoded for its own sockets, which
 *   the receiving node frames for its sockets without encoding it again;
 * - anything else: the envelope as a JSON object without `n`, then an empty line.
 *
 * JSON.stringify never writes a raw line break. The text grows as envelopes
 * are published, so nothing but a string is kept per envelope.
 */
export class EnvelopeWriter {
  #text = '';
  readonly #header: string;

  constructor(nodeId: string) {
    this.#header = `${JSON.stringify(nodeId)}\n`;
  }

  get isEmpty(): boolean {
    return this.#text === '';
  }

  /** Appends envelope number `q`; `payloadJson` is JSON.stringify of a broadcast's payload, when the caller has it already. */
  add(q: number, body: EnvelopeBody, payloadJson?: string): void {
    if (this.#text === '') this.#text = this.#header;
    if (body.t === 'b') {
      const flags = (body.d === true ? DROPPABLE : 0) | (body.naf === true ? NAF : 0) | (body.sys === true ? SYS : 0);
      this.#text += `${JSON.stringify([q, body.e, body.f ?? null, body.to ?? null, flags])}\n${payloadJson ?? JSON.stringify(body.p)}\n`;
    } else {
      this.#text += `${JSON.stringify({ ...body, q })}\n\n`;
    }
  }

  /** The bus message of everything added since the last take; empties the writer. */
  take(): Uint8Array {
    const bytes = encoder.encode(this.#text);
    this.#text = '';
    return bytes;
  }
}

/** One bus message of `envelopes`, all from node `nodeId` (tests and tools; the link uses EnvelopeWriter). */
export function encodeEnvelopes(nodeId: string, envelopes: readonly { readonly env: EnvelopeBody & { readonly q: number }; readonly payloadJson?: string }[]): Uint8Array {
  const writer = new EnvelopeWriter(nodeId);
  for (const { env, payloadJson } of envelopes) writer.add(env.q, env, payloadJson);
  return writer.take();
}

/**
 * The sending node and the envelopes of one bus message, in order; a
 * malformed envelope is left out and counted in `dropped`. Without a valid
 * first line nothing can be trusted: `node` is null and every envelope dropped.
 */
export function decodeEnvelopes(bytes: Uint8Array): { readonly node: string | null; readonly envelopes: InEnvelope[]; readonly dropped: number } {
  const lines = decoder.decode(bytes).split('\n');
  // Each envelope is two lines after the node's; the text ends with a line break, so the last element is empty.
  const count = Math.floor((lines.length - 1) / 2);
  const malformedEnd = lines.length % 2 === 1 || lines.at(-1) !== '' ? 1 : 0;
  if (lines.length === 1 && lines[0] === '') return { node: null, envelopes: [], dropped: 0 };
  const node = parseJson(lines[0]!);
  if (typeof node !== 'string' || node === '') return { node: null, envelopes: [], dropped: Math.max(1, count) };
  const envelopes: InEnvelope[] = [];
  let dropped = malformedEnd;
  for (let i = 1; i + 1 < lines.length; i += 2) {
    const headText = lines[i]!;
    const payloadJson = lines[i + 1]!;
    const env = headText.charCodeAt(0) === 0x5b /* [ */ ? decodeBroadcast(node, headText, payloadJson) : payloadJson === '' ? checkEnvelope(node, parseJson(headText)) : null;
    if (env) envelopes.push(env);
    else dropped++;
  }
  return { node, envelopes, dropped };
}

const isOptionalId = (v: unknown): boolean => v === null || typeof v === 'string';

/** A broadcast from its head line and payload line; every one has the same shape. */
function decodeBroadcast(node: string, headText: string, payloadJson: string): InEnvelope | null {
  const head = parseJson(headText);
  if (!Array.isArray(head) || head.length !== 5) return null;
  const [q, e, f, to, flags] = head as unknown[];
  if (typeof q !== 'number' || typeof e !== 'string' || !isOptionalId(f) || !isOptionalId(to) || typeof flags !== 'number') return null;
  const p = parseJson(payloadJson);
  if (!isPayload(p)) return null;
  return {
    t: 'b',
    n: node,
    q,
    e,
    p,
    f: (f as string | null) ?? undefined,
    to: (to as string | null) ?? undefined,
    d: (flags & DROPPABLE) !== 0,
    naf: (flags & NAF) !== 0,
    sys: (flags & SYS) !== 0,
    pj: payloadJson,
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** `value` as an envelope when it has an envelope's shape; null otherwise (a node never trusts the bus blindly). */
function checkEnvelope(node: string, head: unknown): Envelope | null {
  if (!isPayload(head)) return null;
  const value: Payload = { ...head, n: node };
  if (typeof value['q'] !== 'number') return null;
  switch (value['t']) {
    case 'p':
      return typeof value['s'] === 'string' && typeof value['r'] === 'string' && ['join', 'update', 'leave'].includes(value['op'] as string) ? (value as unknown as Envelope) : null;
    case 'blk':
      return typeof value['s'] === 'string' && typeof value['o'] === 'string' && typeof value['on'] === 'boolean' ? (value as unknown as Envelope) : null;
    case 'ask':
      return value as unknown as Envelope;
    case 'sync':
      if (value['ents'] !== undefined && !Array.isArray(value['ents'])) return null;
      return Array.isArray(value['e']) && value['e'].every((x: unknown) => isPayload(x) && typeof x['s'] === 'string' && typeof x['r'] === 'string' && isPayload(x['m'])) ? (value as unknown as Envelope) : null;
    default:
      return null;
  }
}

export function encodeState(state: RoomState): Uint8Array {
  return encodeJson(state);
}

export function decodeState(bytes: Uint8Array): RoomState | null {
  const value = decodeJson(bytes);
  if (!isPayload(value) || !Array.isArray(value['presence']) || !Array.isArray(value['entities']) || !Array.isArray(value['blocks']) || !isPayload(value['seq'])) return null;
  return value as unknown as RoomState;
}
