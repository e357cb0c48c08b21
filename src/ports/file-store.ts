/**
 * Where upload blobs live: opaque bytes by file id (encryption happens
 * before). Adapters: LocalFiles (a directory); an S3 one can follow.
 *
 * Semantics:
 * - `write` consumes `source` and resolves with the bytes written; the blob is
 *   visible to `read` only once complete: if `source` fails or the process
 *   dies midway, nothing is left under the id.
 * - `read` streams bytes [from, to) of a blob, and rejects with
 *   AppError('NOT_FOUND') when there is none.
 * - `delete` is idempotent.
 * - After `close()` (idempotent) every call rejects with AppError('CLOSED').
 */
export interface FileStore {
  write(fileId: string, source: AsyncIterable<Uint8Array>): Promise<number>;
  read(fileId: string, from: number, to: number): Promise<AsyncIterable<Uint8Array>>;
  delete(fileId: string): Promise<void>;
  close(): Promise<void>;
}
