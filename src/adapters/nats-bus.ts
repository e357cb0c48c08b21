/**
 * The bus over NATS. Each node is one connection with `noEcho`, so the server
 * never hands a node its own publishes, which is the local-delivery rule of
 * src/ports/bus.ts. NATS keeps each connection's publishes in order.
 * `close()` drains: subscriptions finish what they have, then the connection
 * closes.
 */
import { randomUUID } from 'node:crypto';
import { connect, RequestError, TimeoutError, type NatsConnection } from '@nats-io/transport-node';
import { assertSubject } from '../core/subjects.js';
import { AppError } from '../errors.js';
import type { Bus, BusHandler, BusSubscription } from '../ports/bus.js';
import { NatsLeases } from './nats-leases.js';

export interface NatsBusOptions {
  /** Comma-separated server URLs, e.g. `nats://127.0.0.1:4222`. */
  readonly servers: string;
  readonly nodeId?: string;
  /** Gives up connecting after this long (ms). */
  readonly connectTimeoutMs?: number;
  /** Waits this long between reconnect attempts to the same server (ms). */
  readonly reconnectWaitMs?: number;
}

export class NatsBus implements Bus {
  readonly #nc: NatsConnection;
  readonly #onReconnect: (() => void)[] = [];
  #isConnected = true;
  #closing: Promise<void> | undefined;

  private constructor(
    nc: NatsConnection,
    readonly nodeId: string,
  ) {
    this.#nc = nc;
    void this.#watchStatus();
  }

  async #watchStatus(): Promise<void> {
    for await (const status of this.#nc.status()) {
      if (status.type === 'disconnect') this.#isConnected = false;
      if (status.type === 'reconnect') {
        this.#isConnected = true;
        for (const handler of this.#onReconnect) {
          try {
            handler();
          } catch {
            // One failing handler must not keep the others from running.
          }
        }
      }
    }
  }

  get isConnected(): boolean {
    return this.#isConnected && !this.#nc.isClosed();
  }

  onReconnect(handler: () => void): void {
    this.#onReconnect.push(handler);
  }

  /** Connects; rejects when no server answers within the timeout. */
  static async connect(opts: NatsBusOptions): Promise<NatsBus> {
    const nodeId = opts.nodeId ?? randomUUID();
    const nc = await connect({
      servers: opts.servers.split(',').map((s) => s.trim()),
      name: `hubmesh-${nodeId}`,
      noEcho: true,
      timeout: opts.connectTimeoutMs ?? 5000,
      maxReconnectAttempts: -1,
      reconnectTimeWait: opts.reconnectWaitMs ?? 1000,
    });
    return new NatsBus(nc, nodeId);
  }

  #check(): void {
    if (this.#closing) throw new AppError('CLOSED', 'bus is closed');
  }

  /** Leases in JetStream KV on this connection (the server must run with JetStream). */
  openLeases(ttlMs: number, bucket?: string): Promise<NatsLeases> {
    this.#check();
    return NatsLeases.open(this.#nc, ttlMs, bucket);
  }

  async publish(subject: string, data: Uint8Array): Promise<void> {
    this.#check();
    assertSubject(subject, false);
    this.#nc.publish(subject, data);
  }

  async subscribe(pattern: string, handler: BusHandler): Promise<BusSubscription> {
    this.#check();
    assertSubject(pattern, true);
    const sub = this.#nc.subscribe(pattern, {
      callback: (err, msg) => {
        if (err) return;
        let hasResponded = false;
        const respond = msg.reply
          ? (data: Uint8Array) => {
              if (hasResponded || this.#nc.isClosed()) return;
              hasResponded = true;
              msg.respond(data);
            }
          : undefined;
        try {
          handler({ subject: msg.subject, data: msg.data, ...(respond ? { respond } : {}) });
        } catch {
          // A failing handler must not disturb delivery to anyone else (ports/bus.ts).
        }
      },
    });
    // Live on the server before we say so.
    await this.#nc.flush();
    return {
      unsubscribe: async () => {
        if (!sub.isClosed() && !this.#nc.isClosed()) sub.unsubscribe();
      },
    };
  }

  async request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    this.#check();
    assertSubject(subject, false);
    try {
      return (await this.#nc.request(subject, data, { timeout: timeoutMs })).data;
    } catch (err) {
      if (err instanceof RequestError && err.isNoResponders()) throw new AppError('NO_RESPONDERS', `nobody serves ${subject}`, { cause: err });
      if (err instanceof TimeoutError || (err instanceof RequestError && err.cause instanceof TimeoutError)) {
        throw new AppError('TIMEOUT', `no response on ${subject} within ${timeoutMs} ms`, { cause: err });
      }
      throw err;
    }
  }

  async close(): Promise<void> {
    this.#closing ??= this.#nc.isClosed() ? Promise.resolve() : this.#nc.drain();
    await this.#closing;
  }
}
