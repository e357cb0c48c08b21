/**
 * The in-process bus: every node of one MemoryBusNetwork lives in this
 * process. The embedded default is a network of one node; tests connect
 * several to run a cluster in one process. Semantics: src/ports/bus.ts.
 *
 * Delivery is asynchronous (a microtask per message, in publish order), so a
 * publisher never re-enters a handler synchronously, as with a real bus.
 */
import { randomUUID } from 'node:crypto';
import { assertSubject, subjectMatches } from '../core/subjects.js';
import { AppError } from '../errors.js';
import type { Bus, BusHandler, BusMessage, BusSubscription } from '../ports/bus.js';

interface Sub {
  readonly node: MemoryBus;
  readonly pattern: string;
  readonly handler: BusHandler;
}

export class MemoryBusNetwork {
  readonly #subs = new Set<Sub>();

  /** A new node on this network. */
  connect(nodeId: string = randomUUID()): MemoryBus {
    return new MemoryBus(this, nodeId);
  }

  /** @internal */
  add(sub: Sub): void {
    this.#subs.add(sub);
  }

  /** @internal */
  remove(sub: Sub): void {
    this.#subs.delete(sub);
  }

  /** @internal Delivers to every matching subscription of every other node; returns how many. */
  deliver(from: MemoryBus, msg: BusMessage): number {
    let n = 0;
    for (const sub of this.#subs) {
      if (sub.node === from || !subjectMatches(sub.pattern, msg.subject)) continue;
      n++;
      queueMicrotask(() => {
        if (!this.#subs.has(sub)) return;
        try {
          sub.handler(msg);
        } catch {
          // A failing handler must not disturb delivery to anyone else (ports/bus.ts).
        }
      });
    }
    return n;
  }
}

export class MemoryBus implements Bus {
  readonly #network: MemoryBusNetwork;
  readonly #subs = new Set<Sub>();
  #closed = false;

  constructor(
    network: MemoryBusNetwork,
    readonly nodeId: string,
  ) {
    this.#network = network;
  }

  #check(): void {
    if (this.#closed) throw new AppError('CLOSED', 'bus is closed');
  }

  async publish(subject: string, data: Uint8Array): Promise<void> {
    this.#check();
    assertSubject(subject, false);
    this.#network.deliver(this, { subject, data });
  }

  async subscribe(pattern: string, handler: BusHandler): Promise<BusSubscription> {
    this.#check();
    assertSubject(pattern, true);
    const sub: Sub = { node: this, pattern, handler };
    this.#subs.add(sub);
    this.#network.add(sub);
    return {
      unsubscribe: async () => {
        this.#subs.delete(sub);
        this.#network.remove(sub);
      },
    };
  }

  async request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    this.#check();
    assertSubject(subject, false);
    return new Promise((resolve, reject) => {
      let isDone = false;
      const timer = setTimeout(() => {
        isDone = true;
        reject(new AppError('TIMEOUT', `no response on ${subject} within ${timeoutMs} ms`));
      }, timeoutMs);
      const respond = (reply: Uint8Array) => {
        if (isDone || this.#closed) return;
        isDone = true;
        clearTimeout(timer);
        resolve(reply);
      };
      if (this.#network.deliver(this, { subject, data, respond }) === 0) {
        isDone = true;
        clearTimeout(timer);
        reject(new AppError('NO_RESPONDERS', `nobody serves ${subject}`));
      }
    });
  }

  /** An in-process bus is reachable until closed; it never drops out and comes back. */
  get isConnected(): boolean {
    return !this.#closed;
  }

  onReconnect(_handler: () => void): void {}

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const sub of this.#subs) this.#network.remove(sub);
    this.#subs.clear();
  }
}
