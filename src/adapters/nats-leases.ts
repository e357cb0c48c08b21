/**
 * Leases in a JetStream key-value bucket: `create` is the compare-and-set
 * that takes a free key, `update` at the read revision renews, and the
 * bucket's TTL lets a lease that nobody renews run out. Semantics:
 * src/ports/leases.ts.
 */
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { AppError } from '../errors.js';
import type { Leases } from '../ports/leases.js';

const BUCKET = 'hubmesh_leases';
const encoder = new TextEncoder();

export class NatsLeases implements Leases {
  readonly #kv: KV;
  #closed = false;

  private constructor(kv: KV) {
    this.#kv = kv;
  }

  /** Opens (creating if needed) the lease bucket, `hubmesh_leases` unless named, with a TTL of `ttlMs`. */
  static async open(nc: NatsConnection, ttlMs: number, bucket = BUCKET): Promise<NatsLeases> {
    const kvm = new Kvm(nc);
    const opts = { ttl: ttlMs, history: 1 };
    // Nodes starting together race to create the bucket's stream; the loser sees the winner's and opens it.
    const kv = await kvm.create(bucket, opts).catch(() => kvm.create(bucket, opts));
    return new NatsLeases(kv);
  }

  #check(): void {
    if (this.#closed) throw new AppError('CLOSED', 'leases are closed');
  }

  async #holder(key: string): Promise<{ holder: string; revision: number } | undefined> {
    const entry = await this.#kv.get(key);
    return entry && entry.operation === 'PUT' ? { holder: entry.string(), revision: entry.revision } : undefined;
  }

  async claim(key: string, holder: string): Promise<string> {
    this.#check();
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await this.#kv.create(key, encoder.encode(holder));
        return holder;
      } catch {
        // Taken: find out by whom (it may have expired or been released in between, then try again).
        const current = await this.#holder(key);
        if (current) return current.holder;
      }
    }
    throw new AppError('TIMEOUT', `could not settle who holds ${key}`);
  }

  async renew(key: string, holder: string): Promise<boolean> {
    this.#check();
    const current = await this.#holder(key);
    if (current?.holder !== holder) return false;
    try {
      await this.#kv.update(key, encoder.encode(holder), current.revision);
      return true;
    } catch {
      return false;
    }
  }

  async release(key: string, holder: string): Promise<void> {
    this.#check();
    const current = await this.#holder(key);
    if (current?.holder !== holder) return;
    await this.#kv.delete(key, { previousSeq: current.revision }).catch(() => undefined);
  }

  async close(): Promise<void> {
    this.#closed = true;
  }
}
