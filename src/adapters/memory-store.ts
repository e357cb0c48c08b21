import type { Hub } from '../core/hub.js';
import { AppError } from '../errors.js';
import type { HubPatch, Store, StoredFile } from '../ports/store.js';

/** Rooms in a Map: nothing survives the process. See ports/store.ts for the semantics. */
export class MemoryStore implements Store {
  readonly #hubs = new Map<string, Hub>();
  readonly #files = new Map<string, StoredFile>();
  #closed = false;

  #check(): void {
    if (this.#closed) throw new AppError('CLOSED', 'store is closed');
  }

  async createHub(hub: Hub): Promise<void> {
    this.#check();
    if (this.#hubs.has(hub.hubSid)) throw new AppError('BAD_REQUEST', `hub ${hub.hubSid} already exists`);
    this.#hubs.set(hub.hubSid, structuredClone(hub));
  }

  async getHub(hubSid: string): Promise<Hub | undefined> {
    this.#check();
    const hub = this.#hubs.get(hubSid);
    return hub ? structuredClone(hub) : undefined;
  }

  async updateHub(hubSid: string, patch: HubPatch): Promise<Hub | undefined> {
    this.#check();
    const hub = this.#hubs.get(hubSid);
    if (!hub) return undefined;
    const changes = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as HubPatch;
    const next = { ...hub, ...structuredClone(changes) };
    this.#hubs.set(hubSid, next);
    return structuredClone(next);
  }

  async listPublicHubs(limit: number): Promise<Hub[]> {
    this.#check();
    return [...this.#hubs.values()]
      .filter((h) => h.allowPromotion)
      .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())
      .slice(0, limit)
      .map((h) => structuredClone(h));
  }

  async createFile(file: StoredFile): Promise<void> {
    this.#check();
    if (this.#files.has(file.fileId)) throw new AppError('BAD_REQUEST', `file ${file.fileId} already exists`);
    this.#files.set(file.fileId, structuredClone(file));
  }

  async getFile(fileId: string): Promise<StoredFile | undefined> {
    this.#check();
    const file = this.#files.get(fileId);
    return file ? structuredClone(file) : undefined;
  }

  async promoteFile(fileId: string): Promise<boolean> {
    this.#check();
    const file = this.#files.get(fileId);
    if (!file) return false;
    if (file.state === 'expiring') this.#files.set(fileId, { ...file, state: 'active' });
    return true;
  }

  async listExpiredFiles(createdBefore: Date, limit: number): Promise<string[]> {
    this.#check();
    return [...this.#files.values()]
      .filter((f) => f.state === 'expiring' && f.createdAt < createdBefore)
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())
      .slice(0, limit)
      .map((f) => f.fileId);
  }

  async deleteFile(fileId: string): Promise<void> {
    this.#check();
    this.#files.delete(fileId);
  }

  async ping(_timeoutMs: number): Promise<void> {
    this.#check();
  }

  async close(): Promise<void> {
    this.#closed = true;
  }
}
