/**
 * What protects the HTTP server itself from slow and abusive clients, for
 * fastify and for the plain server of an SFU-only process alike:
 *
 * - trusted proxies (HUBMESH_TRUSTED_PROXIES): whose X-Forwarded-For names
 *   the client, for `req.ip` and for the per-address websocket cap;
 * - headers and request timeouts (slowloris): a request whose headers, or
 *   whole body, do not arrive in time gets 408 and the connection closes.
 *   Node checks them every `connectionsCheckingInterval`, fixed when the
 *   server is made, so it is derived from the headers timeout here;
 * - client errors (those timeouts, oversized headers, unparsable requests)
 *   answered with `{code, message}` and counted in
 *   `http_refused_total{reason}`.
 */
import { BlockList, isIP } from 'node:net';
import { STATUS_CODES, type ServerOptions } from 'node:http';
import type { Duplex } from 'node:stream';
import { ErrorCode } from '../errors.js';
import type { Metrics } from '../ports/metrics.js';

/**
 * A matcher for a comma-separated list of addresses and CIDR ranges (IPv4 or
 * IPv6). Throws TypeError naming the first entry that is neither.
 */
export function trustedProxies(list: string): (address: string) => boolean {
  const entries = list.split(',').map((e) => e.trim()).filter((e) => e !== '');
  if (entries.length === 0) return () => false;
  const blocks = new BlockList();
  for (const entry of entries) {
    const [ip = '', bits] = entry.split('/');
    const family = isIP(ip);
    const prefix = bits === undefined ? (family === 6 ? 128 : 32) : Number(bits);
    if (family === 0 || !Number.isInteger(prefix) || prefix < 0 || prefix > (family === 6 ? 128 : 32)) throw new TypeError(`${JSON.stringify(entry)} is not an address or a CIDR range`);
    blocks.addSubnet(ip, prefix, family === 6 ? 'ipv6' : 'ipv4');
  }
  return (address) => {
    const family = isIP(address);
    return family !== 0 && blocks.check(address, family === 6 ? 'ipv6' : 'ipv4');
  };
}

export interface TimeoutSettings {
  readonly httpHeadersTimeoutMs: number;
  readonly httpRequestTimeoutMs: number;
}

/** Options for `http.createServer` (fastify's `http` option) that enforce the timeouts. */
export function serverTimeouts(settings: TimeoutSettings): ServerOptions {
  return {
    headersTimeout: settings.httpHeadersTimeoutMs,
    requestTimeout: settings.httpRequestTimeoutMs,
    // Checked this often, so a slow client is cut within a quarter of the timeout past it.
    connectionsCheckingInterval: Math.max(25, Math.min(1000, Math.floor(settings.httpHeadersTimeoutMs / 4))),
  };
}

const CLIENT_ERRORS: Readonly<Record<string, { status: number; reason: string; message: string }>> = {
  ERR_HTTP_REQUEST_TIMEOUT: { ...ErrorCode.REQUEST_TIMEOUT, status: ErrorCode.REQUEST_TIMEOUT.http, message: 'the request did not arrive in time' },
  HPE_HEADER_OVERFLOW: { ...ErrorCode.HEADERS_TOO_LARGE, status: ErrorCode.HEADERS_TOO_LARGE.http, message: 'the request headers are too large' },
};
// Not BAD_REQUEST's 422: the bytes are not even HTTP.
const NOT_HTTP = { status: 400, reason: ErrorCode.BAD_REQUEST.reason, message: 'the request is not valid HTTP' };

/**
 * The server's `clientError` listener: counts the refusal and answers it
 * (unless the connection is already gone), then closes the connection.
 */
export function answerClientError(metrics: Metrics): (err: Error & { code?: string }, socket: Duplex) => void {
  return (err, socket) => {
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    const refusal = CLIENT_ERRORS[err.code ?? ''] ?? NOT_HTTP;
    metrics.inc('http_refused_total', { reason: refusal.reason });
    if (!socket.writable) return void socket.destroy();
    const body = JSON.stringify({ code: refusal.reason, message: refusal.message });
    socket.end(`HTTP/1.1 ${refusal.status} ${STATUS_CODES[refusal.status] ?? ''}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  };
}
