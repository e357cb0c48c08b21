/**
 * Open connections per client address, for the per-address cap on
 * websockets (HUBMESH_MAX_CONNECTIONS_PER_IP). The caller takes a slot when
 * an upgrade arrives and gives it back when that socket closes, however the
 * upgrade ended, so the count never leaks.
 *
 * The client address is the peer's, unless the peer is a trusted proxy: then
 * it is the right-most address of X-Forwarded-For that is not itself a trusted
 * proxy (what each proxy appended, read back from the nearest one), as
 * fastify's `trustProxy` reads `req.ip`.
 */

export interface AddressLimitOptions {
  /** Connections one address may hold at once. */
  readonly maxPerAddress: number;
  /** Whether a peer address is a proxy whose X-Forwarded-For is believed. */
  isTrustedProxy(address: string): boolean;
}

/** `::ffff:1.2.3.4` and `1.2.3.4` are one client. */
function normalize(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

export class AddressLimit {
  readonly #opts: AddressLimitOptions;
  readonly #open = new Map<string, number>();

  constructor(opts: AddressLimitOptions) {
    if (!Number.isInteger(opts.maxPerAddress) || opts.maxPerAddress < 1) throw new TypeError('maxPerAddress must be a positive integer');
    this.#opts = opts;
  }

  get maxPerAddress(): number {
    return this.#opts.maxPerAddress;
  }

  /** The client behind a connection from `peer` carrying `forwardedFor` (the X-Forwarded-For header, if any). */
  clientAddress(peer: string | undefined, forwardedFor: string | readonly string[] | undefined): string {
    let address = normalize(peer ?? 'unknown');
    if (forwardedFor === undefined || !this.#opts.isTrustedProxy(address)) return address;
    const hops = (typeof forwardedFor === 'string' ? forwardedFor : forwardedFor.join(',')).split(',');
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = normalize(hops[i]!.trim());
      if (hop === '') break;
      address = hop;
      if (!this.#opts.isTrustedProxy(hop)) break;
    }
    return address;
  }

  /** Takes a slot for `address`; false (and nothing taken) when it already holds the most it may. */
  tryAcquire(address: string): boolean {
    const open = this.#open.get(address) ?? 0;
    if (open >= this.#opts.maxPerAddress) return false;
    this.#open.set(address, open + 1);
    return true;
  }

  /** Gives back a slot taken with `tryAcquire`. */
  release(address: string): void {
    const open = this.#open.get(address) ?? 0;
    if (open <= 1) this.#open.delete(address);
    else this.#open.set(address, open - 1);
  }

  /** Connections `address` holds now. */
  count(address: string): number {
    return this.#open.get(address) ?? 0;
  }
}
