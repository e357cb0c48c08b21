/**
 * What the nodes of a cluster tell each other about a room, on the bus
 * subject `hub.<sid>.m` (see actors/hub-registry.ts). Each node numbers what
 * it publishes per room, so a node that joins a room late can tell which of
 * the envelopes it buffered the state it was sent already contains.
 */
import type { Payload } from '../protocol/frames.js';
import { isPayload } from '../protocol/codec.js';
import { decodeJson, encodeJson } from './bus-json.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
import type { Entity } from './entities.js';

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


/**
 * The envelopes a node publishes in one event-loop turn for one room go out
 * as one bus message: per envelope a line of JSON with everything but a
 * broadcast's payload, then a line with that payload's JSON (empty for other
 * envelopes). The payload travels as the very text the sending node encoded
 * for its own sockets, and the receiving node frames it for its sockets
 * without encoding it again. JSON.stringify never writes a raw line break.
 */
export interface OutEnvelope {
  readonly env: Envelope;
  /** JSON.stringify of a broadcast's payload, when the sender has it already. */
  readonly payloadJson?: string;
}

/** A decoded envelope; a broadcast keeps its payload's JSON text too. */
export type InEnvelope = Envelope & { readonly pj?: string };

export function encodeEnvelopes(batch: readonly OutEnvelope[]): Uint8Array {
  let text = '';
  for (const { env, payloadJson } of batch) {
    if (env.t === 'b') {
      const { p, ...head } = env;
      text += `${JSON.stringify(head)}\n${payloadJson ?? JSON.stringify(p)}\n`;
    } else {
      text += `${JSON.stringify(env)}\n\n`;
    }
  }
  return encoder.encode(text);
}

/** The envelopes of one bus message, in order; a malformed one is left out and counted in `dropped`. */
export function decodeEnvelopes(bytes: Uint8Array): { readonly envelopes: InEnvelope[]; readonly dropped: number } {
  const lines = decoder.decode(bytes).split('\n');
  const envelopes: InEnvelope[] = [];
  let dropped = 0;
  // Each envelope is two lines; the text ends with a line break, so the last element is empty.
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const head = parseJson(lines[i]!);
    const payloadJson = lines[i + 1]!;
    let env: InEnvelope | null = null;
    if (isPayload(head) && head['t'] === 'b') {
      const p = parseJson(payloadJson);
      env = isPayload(p) ? checkEnvelope({ ...head, p, pj: payloadJson }) : null;
    } else if (payloadJson === '') {
      env = checkEnvelope(head);
    }
    if (env) envelopes.push(env);
    else dropped++;
  }
  if (lines.length % 2 === 0 || lines.at(-1) !== '') dropped++;
  return { envelopes, dropped };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** `value` as an envelope when it has an envelope's shape; null otherwise (a node never trusts the bus blindly). */
function checkEnvelope(value: unknown): Envelope | null {
  if (!isPayload(value) || typeof value['n'] !== 'string' || typeof value['q'] !== 'number') return null;
  switch (value['t']) {
    case 'b':
      return typeof value['e'] === 'string' && isPayload(value['p']) ? (value as unknown as Envelope) : null;
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
