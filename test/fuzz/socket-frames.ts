/**
 * Hostile client frames for the Phoenix socket. A frame is drawn as a
 * description (which topic, event, payload, what kind of refs) and encoded
 * only when sent, because the refs that make it answerable (a fresh ref, the
 * socket's current join ref) are known only then. Besides well-addressed
 * frames with broken payloads there are frames that are not Phoenix at all:
 * random text, JSON of the wrong shape, truncated JSON, invalid UTF-8, random
 * bytes and V2 binary pushes.
 */
import fc from 'fast-check';
import { hubEventSchemas, joinSchema, retEventSchemas, type KnownIds } from './hub-schemas.js';
import { garbage, hostileArbitrary, nastyString, type JsonSchema } from './schema-arbitrary.js';

/** Where a frame goes: the room the fuzzer is in, another real room, a room that does not exist, `ret`, `phoenix`, or anything. */
export type TopicKind = { readonly kind: 'room' } | { readonly kind: 'named'; readonly topic: unknown };

/** `fresh`: a ref never used before (a string, or a number for `number`); the others cannot be matched to a reply. */
export type RefKind = 'fresh' | 'number' | 'null' | { readonly bad: unknown };

export type JoinRefKind = 'current' | 'null' | { readonly other: unknown };

export type SocketFuzzFrame =
  | { readonly kind: 'phoenix'; readonly topic: TopicKind; readonly event: unknown; readonly payload: unknown; readonly ref: RefKind; readonly joinRef: JoinRefKind }
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'bytes'; readonly bytes: Uint8Array; readonly isBinary: boolean }
  | { readonly kind: 'binary-push'; readonly event: string };

type EventDraw = { readonly event: unknown; readonly payload: unknown };

function eventsOf(schemas: Record<string, JsonSchema>): fc.Arbitrary<EventDraw> {
  return fc.oneof(...Object.entries(schemas).map(([event, schema]) => hostileArbitrary(schema).map((payload) => ({ event, payload }))));
}

const oddEvent: fc.Arbitrary<EventDraw> = fc.record({
  event: fc.oneof(fc.string({ maxLength: 20 }), nastyString, fc.constantFrom('phx_reply', 'phx_close', 'phx_error', 'heartbeat', 'presence_diff', 'x'.repeat(129)), garbage),
  payload: fc.oneof(fc.object({ maxDepth: 2 }), garbage),
});

const ref: fc.Arbitrary<RefKind> = fc.oneof(
  { weight: 16, arbitrary: fc.constant('fresh' as const) },
  { weight: 2, arbitrary: fc.constantFrom('number' as const, 'null' as const) },
  { weight: 1, arbitrary: fc.oneof(fc.constant('r'.repeat(65)), fc.double(), fc.object({ maxDepth: 1 }), fc.boolean(), fc.array(fc.nat())).map((bad) => ({ bad })) },
);

const joinRef: fc.Arbitrary<JoinRefKind> = fc.oneof(
  { weight: 12, arbitrary: fc.constant('current' as const) },
  { weight: 2, arbitrary: fc.constant('null' as const) },
  { weight: 1, arbitrary: fc.oneof(fc.string({ maxLength: 6 }), fc.integer(), garbage).map((other) => ({ other })) },
);

/** Phoenix-shaped frames: mostly events of the joined room with payloads drawn from their schemas and broken. */
function phoenixFrames(ids: KnownIds): fc.Arbitrary<SocketFuzzFrame> {
  const join = hostileArbitrary(joinSchema(ids));
  const roomEvents = fc.oneof(
    { weight: 12, arbitrary: eventsOf(hubEventSchemas(ids)) },
    { weight: 1, arbitrary: join.map((payload) => ({ event: 'phx_join', payload })) },
    { weight: 1, arbitrary: fc.constant({ event: 'phx_leave', payload: {} }) },
    { weight: 1, arbitrary: oddEvent },
  );
  const otherRoom = fc.oneof(fc.constantFrom(...ids.hubSids), fc.string({ maxLength: 12 }), fc.constant('AbCdEfG')).map((sid) => `hub:${sid}`);
  const otherTopic = fc.oneof(fc.string({ maxLength: 20 }), nastyString, fc.constantFrom('hub:', 'link:ABCD', 'auth:x', 'hub', ':', 'h'.repeat(257)), garbage);
  const addressed = fc.oneof(
    { weight: 14, arbitrary: roomEvents.map((e) => ({ topic: { kind: 'room' } as TopicKind, ...e })) },
    { weight: 2, arbitrary: eventsOf(retEventSchemas(ids)).map((e) => ({ topic: { kind: 'named', topic: 'ret' } as TopicKind, ...e })) },
    { weight: 1, arbitrary: fc.oneof(fc.constant({ event: 'heartbeat', payload: {} }), oddEvent).map((e) => ({ topic: { kind: 'named', topic: 'phoenix' } as TopicKind, ...e })) },
    { weight: 1, arbitrary: fc.record({ topic: otherRoom, draw: fc.oneof(join.map((payload) => ({ event: 'phx_join', payload })), roomEvents) }).map(({ topic, draw }) => ({ topic: { kind: 'named', topic } as TopicKind, ...draw })) },
    { weight: 1, arbitrary: fc.record({ topic: otherTopic, draw: fc.oneof(join.map((payload) => ({ event: 'phx_join', payload })), oddEvent) }).map(({ topic, draw }) => ({ topic: { kind: 'named', topic } as TopicKind, ...draw })) },
  );
  return fc.record({ addressed, ref, joinRef }).map(({ addressed: a, ref: r, joinRef: j }) => ({ kind: 'phoenix', ...a, ref: r, joinRef: j }));
}

/** Text that is not a Phoenix frame: random strings, other JSON, five-element arrays of anything, truncated frames. */
const junkText: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.json({ maxDepth: 3 }),
  fc.tuple(garbage, garbage, garbage, garbage, garbage).map((t) => JSON.stringify(t)),
  fc.record({ topic: garbage, event: garbage, payload: garbage, ref: garbage }).map((o) => JSON.stringify(o)),
  fc.tuple(fc.nat(), fc.constantFrom('[null,"1","phoenix","heartbeat",{}]', '{"topic":"phoenix","event":"heartbeat","payload":{},"ref":"1"}')).map(([at, text]) => text.slice(0, at % text.length)),
  fc.constantFrom('', ' ', '[]', '{}', 'null', '[null,null,null,null,null]', '[1,2,3,4,5,6]', '"\\ud800"'),
);

/** Everything one socket fuzzer sends. */
export function socketFrames(ids: KnownIds): fc.Arbitrary<SocketFuzzFrame> {
  return fc.oneof(
    { weight: 16, arbitrary: phoenixFrames(ids) },
    { weight: 2, arbitrary: junkText.map((text) => ({ kind: 'text' as const, text })) },
    { weight: 1, arbitrary: fc.record({ bytes: fc.uint8Array({ maxLength: 64 }), isBinary: fc.boolean() }).map((b) => ({ kind: 'bytes' as const, ...b })) },
    { weight: 1, arbitrary: fc.oneof(fc.constantFrom('naf', 'phx_join', 'message'), fc.string({ minLength: 1, maxLength: 10 })).map((event) => ({ kind: 'binary-push' as const, event })) },
  );
}

/** A V2 binary push: opcode 0, the four sizes, then join_ref, ref, topic, event and a payload. */
export function binaryPush(joinRef: string, ref: string, topic: string, event: string): Buffer {
  const fields = [joinRef, ref, topic, event].map((s) => Buffer.from(s));
  if (fields.some((f) => f.length > 255)) throw new RangeError('a binary push field is at most 255 bytes');
  return Buffer.concat([Buffer.from([0, ...fields.map((f) => f.length)]), ...fields, Buffer.from([1, 2, 3])]);
}
