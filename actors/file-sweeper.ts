/**
 * Deletes uploads that nothing promoted within the upload TTL (parity 5.4:
 * Reticulum's daily `Storage.vacuum`), every quarter of the TTL (at most
 * hourly). Blob first, then record: a sweep cut short leaves a record
 * without a blob, which the next sweep finishes.
 *
 * Close cascade: `close()` stops the timer and waits for a sweep under way.
 */
import type { Logger } from 'pino';
import type { Clock, Timer } from '../src/ports/clock.js';
import type { FileStore } from '../src/ports/file-store.js';
import type { Metrics } from '../src/ports/metrics.js';
import type { Store } from '../src/ports/store.js';

export interface FileSweeperDeps {
  readonly store: Store;
  readonly files: FileStore;
  readonly clock: Clock;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly ttlMs: number;
}

const BATCH = 100;
const MAX_INTERVAL_MS = 60 * 60 * 1000;

export class FileSweeper {
  readonly #deps: FileSweeperDeps;
  readonly #timer: Timer;
  #running: Promise<number> | undefined;
  #closed = false;

  constructor(deps: FileSweeperDeps) {
    this.#deps = deps;
    const intervalMs = Math.max(1000, Math.min(MAX_INTERVAL_MS, Math.floor(deps.ttlMs / 4)));
    this.#timer = deps.clock.setInterval(() => {
      this.sweep().catch((err: unknown) => deps.log.warn({ err }, 'upload sweep failed'));
    }, intervalMs);
  }

  /** Deletes every expired upload now; resolves to how many. One sweep at a time. */
  sweep(): Promise<number> {
    this.#running ??= this.#sweep().finally(() => (this.#running = undefined));
    return this.#running;
  }

  async #sweep(): Promise<number> {
    const { store, files, clock, metrics, log, ttlMs } = this.#deps;
    let deleted = 0;
    for (;;) {
      if (this.#closed) return deleted;
      const ids = await store.listExpiredFiles(new Date(clock.now() - ttlMs), BATCH);
      for (const id of ids) {
        await files.delete(id);
        await store.deleteFile(id);
        deleted++;
      }
      if (ids.length < BATCH) break;
    }
    if (deleted > 0) {
      metrics.inc('files_expired_total', undefined, deleted);
      log.info({ deleted }, 'expired uploads deleted');
    }
    return deleted;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#timer.cancel();
    await this.#running?.catch(() => undefined);
  }
}
