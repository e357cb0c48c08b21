/**
 * Websocket framing of server-to-client text messages (RFC 6455 5.2: FIN,
 * opcode 1, unmasked). Server frames carry no mask, so one frame's bytes
 * serve every recipient: a broadcast is framed once and the same Buffer is
 * written to every socket.
 */

/** The bytes of the header before a payload of `length` bytes. */
export function frameHeaderLength(length: number): number {
  return length < 126 ? 2 : length < 65536 ? 4 : 10;
}

/** Writes the header of a final text frame of `length` bytes at the start of `out`. */
export function writeTextHeader(out: Buffer, length: number): void {
  out[0] = 0x81;
  if (length < 126) {
    out[1] = length;
  } else if (length < 65536) {
    out[1] = 126;
    out.writeUInt16BE(length, 2);
  } else {
    out[1] = 127;
    out.writeBigUInt64BE(BigInt(length), 2);
  }
}

/** `text` as one websocket text frame, encoded straight into its buffer. */
export function frameText(text: string): Buffer {
  const length = Buffer.byteLength(text);
  const headerLength = frameHeaderLength(length);
  const out = Buffer.allocUnsafe(headerLength + length);
  writeTextHeader(out, length);
  out.write(text, headerLength);
  return out;
}
