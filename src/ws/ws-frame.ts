/**
 * Websocket framing of server-to-client text messages (RFC 6455 5.2: FIN,
 * opcode 1, unmasked). A broadcast's encoded bytes are framed once and the
 * same Buffer is written to every socket.
 */
const framed = new WeakMap<Buffer, Buffer>();

export function frameText(payload: Buffer): Buffer {
  const cached = framed.get(payload);
  if (cached) return cached;
  const len = payload.length;
  const headerLen = len < 126 ? 2 : len < 65536 ? 4 : 10;
  const out = Buffer.allocUnsafe(headerLen + len);
  out[0] = 0x81;
  if (len < 126) {
    out[1] = len;
  } else if (len < 65536) {
    out[1] = 126;
    out.writeUInt16BE(len, 2);
  } else {
    out[1] = 127;
    out.writeBigUInt64BE(BigInt(len), 2);
  }
  payload.copy(out, headerLen);
  framed.set(payload, out);
  return out;
}
