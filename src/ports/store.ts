/**
 * Where rooms and everything that must outlive a process are kept. Adapters:
 * MemoryStore (tests and tools), PGlite under the data dir (the embedded
 * default) and PostgreSQL; every one passes test/contract/store.ts.
 *
 * Semantics:
 * - `createHub` resolves once the room is stored; it rejects with
 *   AppError('BAD_REQUEST') when the sid is already taken, and stores nothing.
 * - `getHub` resolves to the room, or `undefined` when there is none.
 * - `updateHub` changes only the fields given and resolves to the room as
 *   stored afterwards, or `undefined` when there is no such room.
 * - `listPublicHubs` resolves to at most `limit` rooms that allow promotion,
 *   newest first.
 * - What comes back equals what went in: the same types (numbers, Dates,
 *   JSON objects) from every adapter, and changing it changes nothing stored.
 * - A write the backend cannot make rejects with AppError('PERSIST_FAILED'),
 *   a read with AppError('STORE_UNAVAILABLE'); nothing half-written remains.
 * - `createFile` stores an upload's record; `getFile` resolves to it or
 *   `undefined`; `promoteFile` makes an expiring file active and resolves to
 *   whether the file exists; `listExpiredFiles` resolves to at most `limit`
 *   ids of files still expiring that were created before `createdBefore`,
 *   oldest first; `deleteFile` is idempotent.
 * - `ping` resolves when the backend answers, and rejects with
 *   AppError('STORE_UNAVAILABLE') when it does not within `timeoutMs`.
 * - After `close()` (idempotent) every call rejects with AppError('CLOSED').
 */
import type { Hub } from '../core/hub.js';

/** An upload's record. The access token itself is never stored, only its hash. */
export interface StoredFile {
  /** A UUID. */
  readonly fileId: string;
  readonly tokenHash: string;
  readonly promotionTokenHash: string | null;
  readonly contentType: string;
  readonly contentLength: number;
  /** `expiring` until something (a pin) promotes it; expiring files are swept after the upload TTL. */
  readonly state: 'expiring' | 'active' | 'inactive';
  readonly createdAt: Date;
}

/** The fields of a room that can change after it is created. */
export type HubPatch = Partial<Pick<Hub, 'name' | 'slug' | 'description' | 'userData' | 'roomSize' | 'memberPermissions' | 'allowPromotion' | 'entryMode'>>;

export interface Store {
  createHub(hub: Hub): Promise<void>;
  getHub(hubSid: string): Promise<Hub | undefined>;
  updateHub(hubSid: string, patch: HubPatch): Promise<Hub | undefined>;
  listPublicHubs(limit: number): Promise<Hub[]>;
  createFile(file: StoredFile): Promise<void>;
  getFile(fileId: string): Promise<StoredFile | undefined>;
  promoteFile(fileId: string): Promise<boolean>;
  listExpiredFiles(createdBefore: Date, limit: number): Promise<string[]>;
  deleteFile(fileId: string): Promise<void>;
  ping(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}
