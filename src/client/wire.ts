/**
 * Reading and writing the `hub:<sid>` payloads the client handles. Server
 * payloads are untrusted here too: a field of the wrong type becomes a
 * neutral value rather than a crash in the page.
 */
import type { Payload } from '../protocol/frames.js';
import type { HubPermissionName, HubView, NafMessage, Person, PersonRoles } from './types.js';

/** A JSON object, as Phoenix payloads are. */
export function isPayload(value: unknown): value is Payload {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The `{reason, message}` of an error reply, with `fallback` when it has none. */
export function reasonOf(response: unknown, fallback: string): { reason: string; message: string } {
  const r = isPayload(response) ? response : {};
  const reason = typeof r['reason'] === 'string' ? r['reason'] : fallback;
  return { reason, message: typeof r['message'] === 'string' ? r['message'] : reason };
}

/** The reason text of a websocket close event, browser or `ws`; empty when it has none. */
export function closeReasonOf(event: unknown): string {
  return isPayload(event) && typeof event['reason'] === 'string' ? event['reason'] : '';
}

/** The code of a websocket close event, browser or `ws`. */
export function closeCodeOf(event: unknown): number | null {
  return isPayload(event) && typeof event['code'] === 'number' ? event['code'] : null;
}

const str = (value: unknown): string => (typeof value === 'string' ? value : '');
const num = (value: unknown): number | null => (typeof value === 'number' ? value : null);

function readHubView(raw: unknown): HubView {
  const view = isPayload(raw) ? raw : {};
  const mode = view['entry_mode'];
  return {
    hubId: str(view['hub_id']),
    name: str(view['name']),
    slug: str(view['slug']),
    url: str(view['url']),
    entryMode: mode === 'invite' || mode === 'deny' ? mode : 'allow',
    roomSize: num(view['room_size']) ?? 0,
    host: typeof view['host'] === 'string' ? view['host'] : null,
    port: num(view['port']),
    raw: view,
  };
}

/** The first room of a join reply or `hub_refresh` (`hubs: [view]`). */
export function firstHub(payload: Payload): HubView {
  const hubs = payload['hubs'];
  return readHubView(Array.isArray(hubs) ? hubs[0] : undefined);
}

function readFlags(raw: unknown): Readonly<Partial<Record<HubPermissionName, boolean>>> {
  const out: Partial<Record<string, boolean>> = {};
  if (isPayload(raw)) for (const [k, v] of Object.entries(raw)) if (typeof v === 'boolean') out[k] = v;
  return out;
}

export function readPerson(sessionId: string, meta: unknown): Person {
  const m = isPayload(meta) ? meta : {};
  const roles = readFlags(m['roles']) as Partial<Record<keyof PersonRoles, boolean>>;
  return {
    sessionId,
    presence: m['presence'] === 'room' ? 'room' : 'lobby',
    profile: isPayload(m['profile']) ? m['profile'] : {},
    roles: { owner: roles.owner === true, creator: roles.creator === true, signed_in: roles.signed_in === true },
    permissions: readFlags(m['permissions']),
    meta: m,
  };
}

/** A received `naf` payload, or null when it is not one. */
export function readNaf(payload: Payload): NafMessage | null {
  const { dataType } = payload;
  if (typeof dataType !== 'string') return null;
  return { dataType, data: payload['data'], fromSessionId: str(payload['from_session_id']) };
}

/** A received `nafr` payload: its `naf` string parsed, or null when it does not hold a NAF message. */
export function readNafr(payload: Payload): NafMessage | null {
  if (typeof payload['naf'] !== 'string') return null;
  let inner: unknown;
  try {
    inner = JSON.parse(payload['naf']);
  } catch {
    return null;
  }
  if (!isPayload(inner)) return null;
  return readNaf({ ...inner, from_session_id: payload['from_session_id'] });
}

function hasFirstSync(dataType: string, data: unknown): boolean {
  if (!isPayload(data)) return false;
  if (dataType === 'um') return Array.isArray(data['d']) && data['d'].some((e: unknown) => isPayload(e) && e['isFirstSync'] === true);
  return data['isFirstSync'] === true;
}

function withoutFirstSync(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutFirstSync);
  if (!isPayload(value)) return value;
  const out: Payload = {};
  for (const [k, v] of Object.entries(value)) if (k !== 'isFirstSync') out[k] = withoutFirstSync(v);
  return out;
}

/**
 * The event and payload for an outgoing NAF message, as the Hubs adapter
 * sends them (parity 2.9): a first sync goes as `naf` so the server can
 * check it; anything else goes as `nafr`, a string the server relays
 * without parsing, with the `isFirstSync` keys stripped.
 */
export function encodeNaf(dataType: string, data: unknown): { event: 'naf' | 'nafr'; payload: Payload } {
  if (hasFirstSync(dataType, data)) return { event: 'naf', payload: { dataType, data } };
  return { event: 'nafr', payload: { naf: JSON.stringify({ dataType, data: withoutFirstSync(data) }) } };
}

/** The claims of a JWT, read without verifying it (the server verifies; the page only reads). */
export function readJwtClaims(token: string): Payload {
  const part = token.split('.')[1];
  if (part === undefined) return {};
  try {
    const json = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
    const claims: unknown = JSON.parse(json);
    return isPayload(claims) ? claims : {};
  } catch {
    return {};
  }
}
