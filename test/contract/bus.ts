/**
 * The Bus port's contract (src/ports/bus.ts), run against every adapter:
 * each sentence of the port's doc comment is a test here.
 */
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.js';
import type { Bus, BusMessage } from '../../src/ports/bus.js';
import { waitFor } from '../support/wait.js';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

/** `makeCluster(n)` returns n connected nodes, closed by the caller's teardown. */
export function busContract(name: string, makeCluster: (n: number) => Promise<Bus[]>): void {
  describe(`Bus contract: ${name}`, () => {
    it('delivers to other nodes and never back to the publisher', async () => {
      const [a, b, c] = await makeCluster(3);
      const got = { a: [] as string[], b: [] as string[], c: [] as string[] };
      await a!.subscribe('room.x', (m) => got.a.push(dec(m.data)));
      await b!.subscribe('room.x', (m) => {
        got.b.push(dec(m.data));
        if (dec(m.data) === 'hello') void b!.publish('room.x', enc('ack'));
      });
      await c!.subscribe('room.x', (m) => got.c.push(dec(m.data)));
      await a!.publish('room.x', enc('hello'));
      await waitFor(() => got.a.length === 1 && got.c.length === 2, 5000, 'deliveries');
      // Had a's own message come back to it, it would have come before b's answer.
      expect(got.a).toEqual(['ack']);
      expect(got.b).toEqual(['hello']);
      expect(got.c).toEqual(['hello', 'ack']);
    });

    it('keeps one publisher\'s messages in order at each subscription', async () => {
      const [a, b] = await makeCluster(2);
      const got: number[] = [];
      await b!.subscribe('seq.*', (m) => got.push(Number(dec(m.data))));
      for (let i = 0; i < 500; i++) await a!.publish(`seq.${i % 3}`, enc(String(i)));
      await waitFor(() => got.length === 500, 5000, '500 messages');
      expect(got).toEqual(Array.from({ length: 500 }, (_, i) => i));
    });

    it('matches * to one token and a final > to one or more', async () => {
      const [a, b] = await makeCluster(2);
      const one: string[] = [];
      const rest: string[] = [];
      await b!.subscribe('hub.*.naf', (m) => one.push(m.subject));
      await b!.subscribe('hub.>', (m) => rest.push(m.subject));
      for (const s of ['hub.abc.naf', 'hub.abc.presence.join', 'hub.abc', 'hub', 'other.abc.naf']) await a!.publish(s, enc(s));
      await a!.publish('hub.end', enc('end'));
      await waitFor(() => rest.includes('hub.end'), 5000, 'the end marker');
      expect(one).toEqual(['hub.abc.naf']);
      expect(rest).toEqual(['hub.abc.naf', 'hub.abc.presence.join', 'hub.abc', 'hub.end']);
    });

    it('refuses malformed subjects and patterns with a TypeError', async () => {
      const [a] = await makeCluster(1);
      await expect(a!.publish('hub.*', enc('x'))).rejects.toBeInstanceOf(TypeError);
      await expect(a!.publish('hub..x', enc('x'))).rejects.toBeInstanceOf(TypeError);
      await expect(a!.subscribe('hub.>.x', () => undefined)).rejects.toBeInstanceOf(TypeError);
      await expect(a!.request('', enc('x'), 100)).rejects.toBeInstanceOf(TypeError);
    });

    it('stops delivering to a subscription once it is unsubscribed, twice harmlessly', async () => {
      const [a, b] = await makeCluster(2);
      const gone: string[] = [];
      const kept: string[] = [];
      const sub = await b!.subscribe('gone', (m) => gone.push(dec(m.data)));
      await b!.subscribe('kept', (m) => kept.push(dec(m.data)));
      await a!.publish('gone', enc('1'));
      await waitFor(() => gone.length === 1, 5000, 'first');
      await sub.unsubscribe();
      await sub.unsubscribe();
      await a!.publish('gone', enc('2'));
      await a!.publish('kept', enc('marker'));
      await waitFor(() => kept.length === 1, 5000, 'marker');
      expect(gone).toEqual(['1']);
    });

    it('answers a request with the first response', async () => {
      const [a, b, c] = await makeCluster(3);
      await b!.subscribe('svc.echo', (m) => m.respond?.(enc(`b:${dec(m.data)}`)));
      await c!.subscribe('svc.echo', (m) => setTimeout(() => m.respond?.(enc('late')), 200));
      expect(dec(await a!.request('svc.echo', enc('ping'), 2000))).toBe('b:ping');
    });

    it('has no respond on plain publishes, and ignores a second response', async () => {
      const [a, b] = await makeCluster(2);
      const msgs: BusMessage[] = [];
      await b!.subscribe('svc.twice', (m) => {
        msgs.push(m);
        m.respond?.(enc('first'));
        m.respond?.(enc('second'));
      });
      expect(dec(await a!.request('svc.twice', enc('?'), 2000))).toBe('first');
      await a!.publish('svc.twice', enc('plain'));
      await waitFor(() => msgs.length === 2, 5000, 'the publish');
      expect(msgs[1]!.respond).toBeUndefined();
    });

    it('rejects a request nobody on another node serves with NO_RESPONDERS', async () => {
      const [a] = await makeCluster(2);
      await a!.subscribe('svc.self', (m) => m.respond?.(enc('me')));
      const err = await a!.request('svc.self', enc('?'), 5000).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).code).toBe('NO_RESPONDERS');
    });

    it('rejects a request nobody answers in time with TIMEOUT', async () => {
      const [a, b] = await makeCluster(2);
      await b!.subscribe('svc.silent', () => undefined);
      const started = Date.now();
      const err = await a!.request('svc.silent', enc('?'), 200).catch((e: unknown) => e);
      expect((err as AppError).code).toBe('TIMEOUT');
      expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    });

    it('keeps delivering to others when a handler throws', async () => {
      const [a, b] = await makeCluster(2);
      const got: string[] = [];
      await b!.subscribe('t', () => {
        throw new Error('handler bug');
      });
      await b!.subscribe('t', (m) => got.push(dec(m.data)));
      await a!.publish('t', enc('1'));
      await a!.publish('t', enc('2'));
      await waitFor(() => got.length === 2, 5000, 'both');
      expect(got).toEqual(['1', '2']);
    });

    it('closes idempotently; afterwards calls reject with CLOSED and no handler runs', async () => {
      const [a, b, c] = await makeCluster(3);
      const atB: string[] = [];
      const atC: string[] = [];
      await b!.subscribe('after', (m) => atB.push(dec(m.data)));
      await c!.subscribe('after', (m) => atC.push(dec(m.data)));
      await b!.close();
      await b!.close();
      await a!.publish('after', enc('x'));
      await waitFor(() => atC.length === 1, 5000, 'c');
      expect(atB).toEqual([]);
      for (const call of [() => b!.publish('after', enc('x')), () => b!.subscribe('after', () => undefined), () => b!.request('after', enc('x'), 100)]) {
        const err = await call().catch((e: unknown) => e);
        expect((err as AppError).code).toBe('CLOSED');
      }
    });
  });
}
