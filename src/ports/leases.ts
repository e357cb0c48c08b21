/**
 * Leases: for each key at most one holder at a time, for a limited time (the
 * adapter's TTL) unless renewed. A room's home node holds the room's lease.
 *
 * Semantics, checked by test/contract/leases.ts:
 * - `claim` takes the key for `holder` if nobody holds it or the lease ran
 *   out, and resolves to whoever holds it afterwards: `holder`, or the other.
 * - `renew` resolves to true and starts a fresh TTL when `holder` still holds
 *   the key; to false when it lost it (expired, or someone else holds it).
 * - `release` gives the key up if `holder` holds it; idempotent.
 * - After `close()` (idempotent) every call rejects with AppError('CLOSED').
 */
export interface Leases {
  claim(key: string, holder: string): Promise<string>;
  renew(key: string, holder: string): Promise<boolean>;
  release(key: string, holder: string): Promise<void>;
  close(): Promise<void>;
}
