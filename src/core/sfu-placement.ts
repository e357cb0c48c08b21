/**
 * SFU placement (parity 7.5): SFU processes announce themselves and their load
 * on the bus, and every room is assigned one of them. The assignment is
 * recorded with the room and handed to clients as `host`/`port` in the join
 * reply and `get_host`, with `host_changed` when it moves.
 *
 * A room records its SFU as one string, `name:port` (`[v6]:port` for an IPv6
 * literal), in `hubs.host`: Reticulum keeps the dialog host there too
 * (parity 5.1), and an address rather than an SFU's id survives the SFU
 * restarting on the same address.
 */
import { decodeJson, encodeJson } from './bus-json.js';

/** Subject SFU processes publish their announcement on. */
export const SFU_ANNOUNCE_SUBJECT = 'sfu.announce';

/** What an SFU process says about itself every `sfuAnnounceMs`. */
export interface SfuAnnouncement {
  /** Stable for the life of the process. */
  readonly id: string;
  /** Where clients open its signaling websocket: `ws(s)://host:port/` (or `/sfu`). */
  readonly host: string;
  readonly port: number;
  /** Joined peers, live consumers and the consumer cap: its load. */
  readonly peers: number;
  readonly consumers: number;
  readonly maxConsumers: number;
  /** Rooms with at least one peer. */
  readonly rooms: number;
  /** False while the process drains: it takes no new rooms. */
  readonly accepting: boolean;
}

/** Where a room's clients reach its SFU, as the join reply, `get_host` and `host_changed` carry it (parity 2.5, 2.10). */
export interface SfuAddress {
  readonly host: string;
  readonly port: number;
}

const MAX_NAME = 253;
/** A host name or IP literal: no scheme, path, brackets or spaces. */
const NAME = /^[^\s/[\]@?#]+$/;

function isName(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0 && v.length <= MAX_NAME && NAME.test(v);
}

function isPort(v: unknown): v is number {
  return Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 65535;
}

const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/** Whether `v` is a well-formed announcement (a name and port clients can reach, non-negative counts). */
export function isSfuAnnouncement(v: unknown): v is SfuAnnouncement {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const a = v as Record<string, unknown>;
  return (
    typeof a['id'] === 'string' &&
    a['id'] !== '' &&
    isName(a['host']) &&
    isPort(a['port']) &&
    isCount(a['peers']) &&
    isCount(a['consumers']) &&
    isCount(a['maxConsumers']) &&
    isCount(a['rooms']) &&
    typeof a['accepting'] === 'boolean'
  );
}


/** The announcement as it goes on the bus: JSON. */
export function encodeSfuAnnouncement(a: SfuAnnouncement): Uint8Array {
  const { id, host, port, peers, consumers, maxConsumers, rooms, accepting } = a;
  return encodeJson({ id, host, port, peers, consumers, maxConsumers, rooms, accepting });
}

/** Decodes an announcement from the bus; null for anything malformed. Unknown fields are dropped. */
export function decodeSfuAnnouncement(bytes: Uint8Array): SfuAnnouncement | null {
  const v = decodeJson(bytes);
  if (!isSfuAnnouncement(v)) return null;
  const { id, host, port, peers, consumers, maxConsumers, rooms, accepting } = v;
  return { id, host, port, peers, consumers, maxConsumers, rooms, accepting };
}

/** The recorded form of an address: `name:port`, with an IPv6 literal in brackets. */
export function formatSfuHost(a: SfuAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** Reads a recorded address back; null for anything `formatSfuHost` would not have written. */
export function parseSfuHost(recorded: string): SfuAddress | null {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(recorded);
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (!isName(host) || !isPort(port) || (m?.[1] !== undefined && !host.includes(':'))) return null;
  return { host, port };
}

/** What clients see of a recorded host: both null when the room has none (or it cannot be read). */
export function hostFields(recorded: string | null): { host: string | null; port: number | null } {
  const address = recorded === null ? null : parseSfuHost(recorded);
  return address ? { host: address.host, port: address.port } : { host: null, port: null };
}

/** Consumers an SFU can still take. */
export function spareConsumers(a: SfuAnnouncement): number {
  return Math.max(0, a.maxConsumers - a.consumers);
}

/**
 * Chooses an SFU for a room: among those that accept rooms and have spare
 * consumers, a weighted random pick by spare consumers, so emptier SFUs fill
 * first without every room landing on the single emptiest one (parity 7.5:
 * Reticulum's RoomAssigner weights hosts by their CCU). `random` returns a
 * number in [0, 1). The order of `sfus` does not matter. Undefined when none
 * qualifies.
 */
export function pickSfu(sfus: Iterable<SfuAnnouncement>, random: () => number): SfuAnnouncement | undefined {
  const candidates = [...sfus].filter((a) => a.accepting && spareConsumers(a) > 0).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const total = candidates.reduce((sum, a) => sum + spareConsumers(a), 0);
  let r = random() * total;
  for (const a of candidates) {
    r -= spareConsumers(a);
    if (r < 0) return a;
  }
  return candidates.at(-1);
}
