/**
 * protoo framing (parity 7.1), the request schemas, and a ProtooPeer over an
 * in-memory socket driven by a manual clock: no sockets, no timers.
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.js';
import type { Clock, Timer } from '../../src/ports/clock.js';
import { encodeError, encodeNotification, encodeOk, encodeRequest, errorFields, parseMessage, ProtooPeer, type BadFrame, type Handled, type ProtooRequest } from '../../sfu/protoo.js';
import { checkRequest } from '../../sfu/schemas.js';

describe('parseMessage', () => {
  it.each([
    ['{"request":true,"id":1,"method":"join","data":{"a":1}}', { request: true, id: 1, method: 'join', data: { a: 1 } }],
    ['{"request":true,"id":2,"method":"getRouterRtpCapabilities"}', { request: true, id: 2, method: 'getRouterRtpCapabilities', data: {} }],
    ['{"response":true,"id":3,"ok":true}', { response: true, id: 3, ok: true, data: {} }],
    ['{"response":true,"id":4,"ok":false,"errorCode":500,"errorReason":"boom"}', { response: true, id: 4, ok: false, errorCode: 500, errorReason: 'boom' }],
    ['{"notification":true,"method":"x","data":null}', { notification: true, method: 'x', data: {} }],
  ])('reads %s', (text, message) => {
    expect(parseMessage(text)).toEqual({ ok: true, message });
  });

  it.each([
    ['not json', 'json'],
    ['[1,2]', 'shape'],
    ['"request"', 'shape'],
    ['{"request":true,"method":"join"}', 'shape'],
    ['{"request":true,"id":"1","method":"join"}', 'shape'],
    ['{"request":true,"id":1,"method":7}', 'shape'],
    ['{"response":true,"ok":true}', 'shape'],
    ['{"notification":true}', 'shape'],
    ['{"hello":"world"}', 'shape'],
  ])('refuses %s (%s)', (text, problem) => {
    expect(parseMessage(text)).toEqual({ ok: false, problem });
  });

  it('writes what it reads', () => {
    for (const text of [encodeRequest(9, 'newConsumer', { id: 'c' }), encodeOk(9, { id: 'p' }), encodeError(9, 403, 'unauthorized: no'), encodeNotification('peerClosed', { peerId: 'p' })]) {
      const parsed = parseMessage(text);
      expect(parsed.ok).toBe(true);
      expect(JSON.parse(text)).toMatchObject(parsed.ok ? parsed.message : {});
    }
    expect(JSON.parse(encodeOk(1, undefined))).toEqual({ response: true, id: 1, ok: true, data: {} });
  });
});

describe('errorFields', () => {
  it('puts the catalogue status in errorCode and the stable reason first in errorReason', () => {
    expect(errorFields(new AppError('TOO_MANY_PRODUCERS', 'at most 4'))).toEqual({ errorCode: 429, errorReason: 'too_many_producers: at most 4' });
    expect(errorFields(new Error('secret detail'))).toEqual({ errorCode: 500, errorReason: 'internal: internal error' });
  });
});

describe('checkRequest', () => {
  it('accepts what mediasoup-client sends and names the first problem otherwise', () => {
    expect(() => checkRequest('createWebRtcTransport', { producing: true, consuming: false, forceTcp: false, sctpCapabilities: { numStreams: { OS: 1024, MIS: 1024 } } })).not.toThrow();
    expect(() => checkRequest('connectWebRtcTransport', { transportId: 't', dtlsParameters: { role: 'client', fingerprints: [{ algorithm: 'sha-256', value: 'AB' }] } })).not.toThrow();
    expect(() => checkRequest('produce', { transportId: 't', kind: 'audio', rtpParameters: { codecs: [{ mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 2, parameters: { useinbandfec: 1 } }], encodings: [{ ssrc: 1, dtx: false }], rtcp: { cname: 'x' } }, appData: {} })).not.toThrow();
    expect(() => checkRequest('produce', { transportId: 't', kind: 'audio', rtpParameters: { codecs: [] } })).toThrow(/^produce: data\/rtpParameters\/codecs must NOT have fewer than 1 items$/);
    expect(() => checkRequest('join', { token: 'x' })).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
    expect(() => checkRequest('block', { whom: '' })).toThrow(AppError);
    expect(() => checkRequest('refreshConsumers', 'nope')).toThrow(AppError);
  });
});

class ManualClock implements Clock {
  #now = 0;
  readonly #timers = new Set<{ at: number; fn: () => void }>();
  now(): number {
    return this.#now;
  }
  setTimeout(fn: () => void, ms: number): Timer {
    const t = { at: this.#now + ms, fn };
    this.#timers.add(t);
    return { cancel: () => this.#timers.delete(t) };
  }
  setInterval(): Timer {
    throw new TypeError('not used here');
  }
  advance(ms: number): void {
    this.#now += ms;
    for (const t of [...this.#timers]) if (t.at <= this.#now && this.#timers.delete(t)) t.fn();
  }
}

/** A socket in memory: what the peer sent, and a way to deliver frames and closes to it. */
class MemorySocket extends EventEmitter {
  readyState = 1;
  readonly sent: unknown[] = [];
  closedWith: number | undefined;
  send(data: string): void {
    this.sent.push(JSON.parse(data));
  }
  close(code?: number): void {
    this.closedWith = code;
    this.readyState = 3;
    this.emit('close');
  }
  terminate(): void {
    this.close(1006);
  }
  ping(): void {}
  deliver(data: string | Buffer, isBinary = false): void {
    this.emit('message', Buffer.isBuffer(data) ? data : Buffer.from(data), isBinary);
  }
}

function peerOn(handle: (req: ProtooRequest) => Promise<Handled>) {
  const socket = new MemorySocket();
  const clock = new ManualClock();
  const bad: BadFrame[] = [];
  const peer = new ProtooPeer(socket, { clock, handle, badFrame: (k) => void bad.push(k), afterFailed: () => undefined });
  return { socket, clock, bad, peer };
}

const settle = () => new Promise((r) => setImmediate(r));

describe('ProtooPeer', () => {
  it('answers requests, then runs their follow-up; errors become error responses', async () => {
    const order: string[] = [];
    const { socket } = peerOn(async (req) => {
      if (req.method === 'fail') throw new AppError('NOT_JOINED', 'join first');
      return { data: { echo: req.data }, after: async () => void order.push(`after ${socket.sent.length}`) };
    });
    socket.deliver(encodeRequest(1, 'echo', { x: 1 }));
    socket.deliver(encodeRequest(2, 'fail', {}));
    await settle();
    expect(socket.sent).toEqual([
      { response: true, id: 1, ok: true, data: { echo: { x: 1 } } },
      { response: true, id: 2, ok: false, errorCode: 409, errorReason: 'not_joined: join first' },
    ]);
    expect(order).toEqual(['after 1']);
  });

  it('counts frames that are not protoo; closes the socket on non-JSON and binary', async () => {
    const a = peerOn(async () => ({}));
    a.socket.deliver('{"hello":1}');
    expect(a.socket.closedWith).toBeUndefined();
    a.socket.deliver('garbage');
    expect(a.socket.closedWith).toBe(1007);
    const b = peerOn(async () => ({}));
    b.socket.deliver(Buffer.from([1, 2]), true);
    expect(b.socket.closedWith).toBe(1003);
    expect([...a.bad, ...b.bad]).toEqual(['shape', 'json', 'binary']);
  });

  it('resolves its requests with the answer, and rejects on an error answer, a timeout or a close', async () => {
    const { socket, clock, peer } = peerOn(async () => ({}));
    const accepted = peer.request('newConsumer', { id: 'c1' }, 1000);
    const refused = peer.request('newConsumer', { id: 'c2' }, 1000);
    const late = peer.request('newConsumer', { id: 'c3' }, 1000);
    const [r1, r2] = socket.sent as { id: number }[];
    socket.deliver(encodeOk(r1!.id, { fine: true }));
    socket.deliver(encodeError(r2!.id, 500, 'nope'));
    await expect(accepted).resolves.toEqual({ fine: true });
    await expect(refused).rejects.toMatchObject({ code: 'BAD_REQUEST', message: 'the client refused newConsumer: nope' });
    clock.advance(1000);
    await expect(late).rejects.toMatchObject({ code: 'TIMEOUT' });
    const pending = peer.request('newConsumer', {}, 1000);
    peer.close();
    await expect(pending).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(peer.request('x', {}, 1000)).rejects.toMatchObject({ code: 'CLOSED' });
    expect(socket.closedWith).toBe(4000);
  });
});
