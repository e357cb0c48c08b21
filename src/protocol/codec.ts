/**
 * The Phoenix Channels wire codec: V2 JSON arrays, V1 JSON objects, and the
 * header of V2 binary pushes (only to refuse them politely). Frames are
 * decoded once at the edge; a frame that does not decode yields a reason and
 * whatever addressing could be recovered, so the caller can reply or close.
 */
import type { InFrame, Payload, WireVersion } from './frames.js';
import { MAX_JSON_DEPTH, nestsDeeperThan } from './json-depth.js';
import { frameText } from './ws-frame.js';

export type DecodeResult =
  | { readonly ok: true; readonly frame: InFrame }
  | {
      readonly ok: false;
      readonly reason: string;
      readonly ref: string | null;
      readonly joinRef: string | null;
      readonly topic: string | null;
      /** The frame nests deeper than MAX_JSON_DEPTH and was not parsed. */
      readonly isTooDeep?: true;
    };

const MAX_TOPIC_CHARS = 256;
const MAX_EVENT_CHARS = 128;
const MAX_REF_CHARS = 64;

/** Picks the serializer from the `vsn` query parameter as Phoenix does (`~> 2.0.0`, `~> 1.0.0`); a missing vsn is 1.0.0. */
export function wireVersionFromVsn(vsn: string | undefined | null): WireVersion | null {
  if (vsn === undefined || vsn === null || vsn === '') return 1;
  if (/^2\.0\.\d+$/.test(vsn)) return 2;
  if (/^1\.0\.\d+$/.test(vsn)) return 1;
  return null;
}

export function isPayload(value: unknown): value is Payload {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asRef(value: unknown): string | null | undefined {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' && value.length <= MAX_REF_CHARS) return value;
  // phoenix.js sends refs as strings, but other clients send numbers.
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  return undefined;
}

function asName(value: unknown, max: number): string | null {
  return typeof value === 'string' && value.length > 0 && value.length <= max ? value : null;
}

function fail(reason: string, ref: string | null | undefined = null, joinRef: string | null | undefined = null, topic: string | null = null): DecodeResult {
  return { ok: false, reason, ref: ref ?? null, joinRef: joinRef ?? null, topic };
}

function check(joinRefRaw: unknown, refRaw: unknown, topicRaw: unknown, eventRaw: unknown, payload: unknown, text?: string): DecodeResult {
  const joinRef = asRef(joinRefRaw);
  const ref = asRef(refRaw);
  const topic = asName(topicRaw, MAX_TOPIC_CHARS);
  if (joinRef === undefined || ref === undefined) return fail('join_ref and ref must be strings or null', ref, joinRef, topic);
  if (topic === null) return fail(`topic must be a string of 1-${MAX_TOPIC_CHARS} characters`, ref, joinRef);
  const event = asName(eventRaw, MAX_EVENT_CHARS);
  if (event === null) return fail(`event must be a string of 1-${MAX_EVENT_CHARS} characters`, ref, joinRef, topic);
  if (!isPayload(payload)) return fail('payload must be a JSON object', ref, joinRef, topic);
  return { ok: true, frame: { joinRef, ref, topic, event, payload, text } };
}

/** Decodes one text frame in the socket's wire version. */
export function decodeText(text: string, vsn: WireVersion): DecodeResult {
  if (nestsDeeperThan(text, MAX_JSON_DEPTH)) return { ok: false, reason: `frame nests deeper than ${MAX_JSON_DEPTH} levels`, ref: null, joinRef: null, topic: null, isTooDeep: true };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return fail('frame is not valid JSON');
  }
  if (vsn === 2) {
    if (!Array.isArray(value) || value.length !== 5) return fail('a V2 frame is a JSON array [join_ref, ref, topic, event, payload]');
    return check(value[0], value[1], value[2], value[3], value[4], text);
  }
  if (!isPayload(value)) return fail('a V1 frame is a JSON object {topic, event, payload, ref}');
  return check(value['join_ref'], value['ref'], value['topic'], value['event'], value['payload']);
}

/**
 * The text of a V2 frame's payload as the client sent it, so a relay can
 * forward it without encoding it again; undefined for a V1 frame or one with
 * white space between its elements, which the caller then encodes itself.
 * The four elements before the payload are strings, numbers or null (the
 * frame decoded), so skipping them is a scan of their characters.
 */
export function payloadText(frame: InFrame): string | undefined {
  const { text } = frame;
  if (text === undefined || text.charCodeAt(0) !== 0x5b || !text.endsWith('}]')) return undefined;
  let at = 1;
  for (let element = 0; element < 4; element++) {
    if (text.charCodeAt(at) === 0x22) {
      // A string: to its closing quote, past escaped characters.
      at++;
      for (let c = text.charCodeAt(at); c !== 0x22; c = text.charCodeAt(at)) at += c === 0x5c ? 2 : 1;
      at++;
    } else {
      // null or a number: letters, digits, '.', '+' and '-' up to the comma; anything else (white space) gives up.
      while (/[0-9A-Za-z.+-]/.test(text.charAt(at))) at++;
    }
    if (text.charCodeAt(at) !== 0x2c) return undefined;
    at++;
  }
  return text.charCodeAt(at) === 0x7b ? text.slice(at, -1) : undefined;
}

/**
 * Reads the addressing of a V2 binary push (opcode 0, then the sizes of
 * join_ref, ref, topic and event, then those strings), so a binary frame can
 * be refused with a reply. Returns null when the bytes are not such a push.
 */
export function peekBinaryPush(data: Uint8Array): { joinRef: string | null; ref: string | null; topic: string; event: string } | null {
  const HEADER = 5;
  if (data.length < HEADER || data[0] !== 0) return null;
  const sizes = [data[1]!, data[2]!, data[3]!, data[4]!];
  const total = HEADER + sizes.reduce((a, b) => a + b, 0);
  if (data.length < total) return null;
  const fields: string[] = [];
  let at = HEADER;
  for (const size of sizes) {
    fields.push(Buffer.from(data.buffer, data.byteOffset + at, size).toString('utf8'));
    at += size;
  }
  const [joinRef, ref, topic, event] = fields as [string, string, string, string];
  if (topic.length === 0 || event.length === 0) return null;
  return { joinRef: joinRef || null, ref: ref || null, topic, event };
}

/** Encodes one frame as text. `payloadJson` is already-serialized JSON, so a broadcast serializes its payload once. */
export function encodeText(vsn: WireVersion, joinRef: string | null, ref: string | null, topic: string, event: string, payloadJson: string): string {
  if (vsn === 2) return `[${JSON.stringify(joinRef)},${JSON.stringify(ref)},${JSON.stringify(topic)},${JSON.stringify(event)},${payloadJson}]`;
  return `{"topic":${JSON.stringify(topic)},"event":${JSON.stringify(event)},"payload":${payloadJson},"ref":${JSON.stringify(ref)},"join_ref":${JSON.stringify(joinRef)}}`;
}

/**
 * One outbound frame, encoded lazily and at most once per wire version,
 * straight into its websocket frame, so a broadcast to many sockets costs one
 * JSON.stringify and one Buffer per version. `isDroppable` marks unreliable
 * traffic that a socket which has fallen behind may skip.
 */
export class OutFrame {
  #payloadJson: string | undefined;
  #v1: Buffer | undefined;
  #v2: Buffer | undefined;

  constructor(
    readonly joinRef: string | null,
    readonly ref: string | null,
    readonly topic: string,
    readonly event: string,
    readonly payload: Payload,
    readonly isDroppable = false,
    /** JSON.stringify(payload), when the caller has it already (a broadcast relayed from another node). */
    payloadJson?: string,
  ) {
    this.#payloadJson = payloadJson;
  }

  /** A reply `{status, response}` to the client's `ref` (parity 1.2). */
  static reply(joinRef: string | null, ref: string | null, topic: string, status: 'ok' | 'error', response: Payload): OutFrame {
    return new OutFrame(joinRef, ref, topic, 'phx_reply', { status, response });
  }

  /** The frame as one websocket text frame (header and message), the same Buffer on every call. */
  wire(vsn: WireVersion): Buffer {
    if (vsn === 2) return (this.#v2 ??= frameText(encodeText(2, this.joinRef, this.ref, this.topic, this.event, this.payloadJson)));
    return (this.#v1 ??= frameText(encodeText(1, this.joinRef, this.ref, this.topic, this.event, this.payloadJson)));
  }

  /** The message alone, without the websocket header. */
  bytes(vsn: WireVersion): Buffer {
    const wire = this.wire(vsn);
    const lengthByte = wire[1]!;
    return wire.subarray(lengthByte < 126 ? 2 : lengthByte === 126 ? 4 : 10);
  }

  /** JSON.stringify(payload), made once. */
  get payloadJson(): string {
    return (this.#payloadJson ??= JSON.stringify(this.payload));
  }
}
