/**
 * Where rooms are kept. Issue 5 adds the PostgreSQL and PGlite adapters and
 * the rest of the schema; every adapter passes test/contract/store.ts.
 *
 * Semantics:
 * - `createHub` resolves once the room is stored; it rejects with
 *   AppError('BAD_REQUEST') when the sid is already taken, and stores nothing.
 * - `getHub` resolves to the room, or `undefined` when there is none.
 * - After `close()` (idempotent) every call rejects with AppError('CLOSED').
 */
import type { Hub } from '../core/hub.js';

export interface Store {
  createHub(hub: Hub): Promise<void>;
  getHub(hubSid: string): Promise<Hub | undefined>;
  close(): Promise<void>;
}
