/**
 * Upload blobs in a local directory: `<dir>/<id[0:2]>/<id>.blob`, written to
 * a temporary name in the same directory and renamed when complete, so a
 * crash midway leaves no partial blob under the id.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { AppError } from '../errors.js';
import type { FileStore } from '../ports/file-store.js';

const ID = /^[0-9a-f-]{8,64}$/;

export class LocalFiles implements FileStore {
  readonly #dir: string;
  #closed = false;

  constructor(dir: string) {
    this.#dir = dir;
  }

  #path(fileId: string): string {
    if (!ID.test(fileId)) throw new TypeError(`not a file id: ${JSON.stringify(fileId)}`);
    return join(this.#dir, fileId.slice(0, 2), `${fileId}.blob`);
  }

  #check(): void {
    if (this.#closed) throw new AppError('CLOSED', 'file store is closed');
  }

  async write(fileId: string, source: AsyncIterable<Uint8Array>): Promise<number> {
    this.#check();
    const path = this.#path(fileId);
    await mkdir(join(this.#dir, fileId.slice(0, 2)), { recursive: true, mode: 0o700 });
    const temp = `${path}.${randomBytes(6).toString('hex')}.partial`;
    let written = 0;
    const counted = async function* () {
      for await (const chunk of source) {
        written += chunk.length;
        yield chunk;
      }
    };
    try {
      await pipeline(Readable.from(counted()), createWriteStream(temp, { mode: 0o600, flags: 'wx' }));
      await rename(temp, path);
      return written;
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
  }

  async read(fileId: string, from: number, to: number): Promise<AsyncIterable<Uint8Array>> {
    this.#check();
    const path = this.#path(fileId);
    const size = await stat(path).then(
      (s) => s.size,
      () => undefined,
    );
    if (size === undefined) throw new AppError('NOT_FOUND', 'no such file');
    if (to <= from) return Readable.from([]);
    return createReadStream(path, { start: from, end: Math.min(to, size) - 1 });
  }

  async delete(fileId: string): Promise<void> {
    this.#check();
    await rm(this.#path(fileId), { force: true });
  }

  async close(): Promise<void> {
    this.#closed = true;
  }
}
