/**
 * What rooms and nodes put on the bus is JSON text. Decoding never throws: a
 * node never trusts the bus blindly, and each decoder checks the shape of
 * what it gets.
 */
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeJson(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

/** The value `bytes` hold as JSON, or undefined when they hold no JSON. */
export function decodeJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(decoder.decode(bytes)) as unknown;
  } catch {
    return undefined;
  }
}
