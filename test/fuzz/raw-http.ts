/**
 * Raw bytes to the node's HTTP port, for what `inject` cannot send: broken
 * request lines and headers, conflicting lengths, bad chunking, bytes that
 * are not HTTP at all. The client sends, half-closes, and reads whatever
 * comes back until the server closes.
 */
import fc from 'fast-check';
import { connect } from 'node:net';
import { nastyString } from './schema-arbitrary.js';

const headerValue = fc.oneof(fc.string({ maxLength: 30 }), nastyString, fc.constantFrom('0', '-1', '99999999999', 'chunked', 'gzip, chunked', 'a'.repeat(20_000)));

/** Requests that are broken at the HTTP level, and bytes that are not HTTP. */
export const rawRequests: fc.Arbitrary<Buffer> = fc.oneof(
  fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
  fc
    .record({
      line: fc.oneof(fc.constantFrom('GET / HTTP/1.1', 'POST /api/v1/hubs HTTP/1.1', 'GET /healthz HTTP/1.0', 'GET  HTTP/1.1', 'GET /healthz HTTP/9.9', 'BREW /pot HTCPCP/1.0', 'GET /\u0000 HTTP/1.1'), fc.string({ maxLength: 40 })),
      headers: fc.array(fc.tuple(fc.oneof(fc.constantFrom('host', 'content-length', 'transfer-encoding', 'content-type', 'expect', 'connection', 'upgrade'), fc.string({ maxLength: 10 })), headerValue), { maxLength: 6 }),
      body: fc.oneof(fc.string({ maxLength: 80 }), fc.constantFrom('5\r\nhello\r\n0\r\n\r\n', 'zz\r\n', '{"hub":{"name":"x"}}')),
    })
    .map(({ line, headers, body }) => Buffer.from(`${line}\r\n${headers.map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n${body}`)),
);

/** What the server sent back before closing: empty when it closed without a word. */
export function rawExchange(host: string, port: number, bytes: Buffer, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server neither answered nor closed within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
    socket.end(bytes);
  });
}

/** The status codes of every response in `text` (a pipelined exchange may hold several). */
export function statusesOf(text: string): number[] {
  return [...text.matchAll(/HTTP\/1\.[01] (\d{3})/g)].map((m) => Number(m[1]));
}
