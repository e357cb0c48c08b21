/**
 * Hostile protoo messages for the SFU's signaling: requests of every method
 * with data drawn from the very schemas the SFU validates with
 * (sfu/schemas.ts) and broken, unknown methods, notifications, responses to
 * requests never made, and frames that are not protoo (text, other JSON,
 * binary, invalid UTF-8).
 *
 * Ids of transports, producers and consumers are drawn as placeholders
 * (`$transport1`) that the fuzzer swaps for ids the SFU really handed it, and
 * RTP parameters and capabilities as `$rtpParameters` / `$rtpCapabilities`,
 * swapped for ones the router accepts, so requests reach past "not found"
 * and "unsupported codec".
 */
import fc from 'fast-check';
import { requestSchemas } from '../../sfu/schemas.js';
import { garbage, hostileArbitrary, nastyString, type JsonSchema } from './schema-arbitrary.js';

export type IdKind = 'fresh' | { readonly bad: unknown };

export type ProtooFuzzFrame =
  | { readonly kind: 'request'; readonly id: IdKind; readonly method: unknown; readonly data: unknown }
  | { readonly kind: 'message'; readonly message: unknown }
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'bytes'; readonly bytes: Uint8Array; readonly isBinary: boolean };

/** The id fields of requests, and the kind of object each names. */
const ID_FIELDS: Readonly<Record<string, string>> = { transportId: 'transport', producerId: 'producer', consumerId: 'consumer' };

/** How many known ids of each kind a placeholder may name. */
export const PLACEHOLDER_SLOTS = 3;

/** `schema` with every id field also taking placeholders, and `whom`/`user_id`/`token` taking the given peers and tokens. */
function withPlaceholders(schema: JsonSchema, peers: readonly string[], tokens: readonly string[]): JsonSchema {
  if (!schema.properties) return schema;
  const properties: Record<string, JsonSchema> = {};
  for (const [key, sub] of Object.entries(schema.properties)) {
    const kind = ID_FIELDS[key];
    if (kind) properties[key] = { anyOf: [{ enum: Array.from({ length: PLACEHOLDER_SLOTS }, (_, n) => `$${kind}${n}`) }, sub] };
    else if (key === 'rtpParameters' || key === 'rtpCapabilities') properties[key] = { anyOf: [{ const: `$${key}` }, sub] };
    else if ((key === 'whom' || key === 'user_id') && peers.length > 0) properties[key] = { anyOf: [{ enum: peers }, sub] };
    else if (key === 'token' && tokens.length > 0) properties[key] = { anyOf: [{ enum: tokens }, sub] };
    else properties[key] = sub;
  }
  return { ...schema, properties };
}

/** Every frame a protoo fuzzer sends; `peers` and `tokens` are real peer ids and join tokens of the room. */
export function protooFrames(peers: readonly string[], tokens: readonly string[]): fc.Arbitrary<ProtooFuzzFrame> {
  const byMethod = Object.entries(requestSchemas as Readonly<Record<string, JsonSchema>>).map(([method, schema]) =>
    hostileArbitrary(withPlaceholders(schema, peers, tokens)).map((data) => ({ method, data })),
  );
  const unknownMethod = fc.record({ method: fc.oneof(fc.string({ maxLength: 20 }), nastyString, fc.constantFrom('newConsumer', 'peerClosed', 'x'.repeat(200))), data: garbage });
  const id: fc.Arbitrary<IdKind> = fc.oneof(
    { weight: 12, arbitrary: fc.constant('fresh' as const) },
    { weight: 1, arbitrary: fc.oneof(fc.string({ maxLength: 5 }), fc.constant(null), fc.boolean(), fc.object({ maxDepth: 1 })).map((bad) => ({ bad })) },
  );
  const request = fc
    .record({ id, call: fc.oneof({ weight: 10, arbitrary: fc.oneof(...byMethod) }, { weight: 1, arbitrary: unknownMethod }) })
    .map(({ id: i, call }) => ({ kind: 'request' as const, id: i, method: call.method as unknown, data: call.data }));
  const message = fc.oneof(
    fc.record({ notification: fc.constant(true), method: fc.oneof(fc.constantFrom('peerClosed', 'activeSpeaker'), fc.string({ maxLength: 10 }), garbage), data: garbage }),
    fc.record({ response: fc.constant(true), id: fc.oneof(fc.nat(100), garbage), ok: fc.oneof(fc.boolean(), garbage), data: garbage, errorCode: garbage, errorReason: garbage }),
    fc.record({ request: fc.oneof(fc.constant(true), garbage), id: fc.oneof(fc.nat(), garbage), method: garbage, data: garbage }, { requiredKeys: [] }),
    garbage,
  );
  return fc.oneof(
    { weight: 14, arbitrary: request },
    { weight: 3, arbitrary: message.map((m) => ({ kind: 'message' as const, message: m })) },
    { weight: 1, arbitrary: fc.oneof(fc.string({ maxLength: 100 }), fc.constantFrom('', '{', '[', 'null', '{"request":true,"id":1,')).map((text) => ({ kind: 'text' as const, text })) },
    { weight: 1, arbitrary: fc.record({ bytes: fc.uint8Array({ maxLength: 64 }), isBinary: fc.boolean() }).map((b) => ({ kind: 'bytes' as const, ...b })) },
  );
}
