/**
 * Encryption of uploads at rest. Each file is sealed with AES-256-GCM under
 * a key derived (HKDF-SHA256) from the server secret and the file's access
 * token, which the server never stores (only a hash, to check it). In chunks
 * of CHUNK_BYTES, each with its own nonce and tag, so a byte range can be
 * read without decrypting the whole file, and with the chunk index and a
 * last-chunk flag in the authenticated data, so chunks cannot be reordered,
 * dropped or cut off unnoticed.
 *
 * Layout: a 16-byte header (magic `HMF1`, version, reserved, 8-byte nonce
 * prefix), then per chunk the ciphertext and a 16-byte tag. Chunk i's nonce is
 * the prefix followed by i as 4 bytes big-endian. An empty file is one empty
 * chunk.
 */
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';

export const CHUNK_BYTES = 64 * 1024;
export const HEADER_BYTES = 16;
const TAG_BYTES = 16;
const MAGIC = Buffer.from('HMF1');
const VERSION = 1;

/** The key for one file. */
export function fileKey(secret: string, accessToken: string, fileId: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, accessToken, `hubmesh-file-v1:${fileId}`, 32));
}

/** What the server keeps of a token: enough to check one, not to derive a key. */
export function hashToken(token: string): string {
  return createHash('sha256').update(`hubmesh-file-token:${token}`).digest('hex');
}

/** Compares a presented token with a stored hash in constant time. */
export function isTokenValid(token: string, storedHash: string): boolean {
  const a = Buffer.from(hashToken(token), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

function aad(header: Buffer, index: number, isLast: boolean): Buffer {
  const tail = Buffer.alloc(5);
  tail.writeUInt32BE(index, 0);
  tail[4] = isLast ? 1 : 0;
  return Buffer.concat([header, tail]);
}

function nonce(header: Buffer, index: number): Buffer {
  const n = Buffer.alloc(12);
  header.copy(n, 0, 8, 16);
  n.writeUInt32BE(index, 8);
  return n;
}

/** Encrypts `source` as it streams; the plaintext is never held whole. */
export async function* encryptStream(key: Buffer, source: AsyncIterable<Uint8Array>): AsyncGenerator<Buffer> {
  const header = Buffer.concat([MAGIC, Buffer.from([VERSION, 0, 0, 0]), randomBytes(8)]);
  yield header;
  let pending = Buffer.alloc(0);
  let index = 0;
  const seal = (plain: Buffer, isLast: boolean): Buffer => {
    const cipher = createCipheriv('aes-256-gcm', key, nonce(header, index));
    cipher.setAAD(aad(header, index, isLast));
    const out = Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    index++;
    return out;
  };
  for await (const chunk of source) {
    pending = pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([pending, chunk]);
    // Keep at least one byte back: only at the end do we know which chunk is last.
    while (pending.length > CHUNK_BYTES) {
      yield seal(pending.subarray(0, CHUNK_BYTES), false);
      pending = pending.subarray(CHUNK_BYTES);
    }
  }
  yield seal(pending, true);
}

/** Bytes of the encrypted file for a plaintext of `length` bytes. */
export function encryptedLength(length: number): number {
  const chunks = Math.max(1, Math.ceil(length / CHUNK_BYTES));
  return HEADER_BYTES + length + chunks * TAG_BYTES;
}

/** The encrypted byte span holding plaintext bytes [start, end) of a file of `length` bytes. */
export function encryptedSpan(length: number, start: number, end: number): { from: number; to: number; firstChunk: number } {
  const firstChunk = Math.floor(start / CHUNK_BYTES);
  const lastChunk = Math.max(firstChunk, Math.ceil(end / CHUNK_BYTES) - 1);
  const sealed = CHUNK_BYTES + TAG_BYTES;
  return { from: HEADER_BYTES + firstChunk * sealed, to: Math.min(encryptedLength(length), HEADER_BYTES + (lastChunk + 1) * sealed), firstChunk };
}

export class FileIntegrityError extends Error {
  override readonly name = 'FileIntegrityError';
}

/**
 * Decrypts plaintext bytes [start, end) of a file of `length` bytes, given its
 * header and the encrypted span from `encryptedSpan`. Throws
 * FileIntegrityError on a wrong key or altered bytes.
 */
export async function* decryptRange(
  key: Buffer,
  header: Buffer,
  span: AsyncIterable<Uint8Array>,
  length: number,
  start: number,
  end: number,
): AsyncGenerator<Buffer> {
  if (header.length !== HEADER_BYTES || !header.subarray(0, 4).equals(MAGIC) || header[4] !== VERSION) throw new FileIntegrityError('not a hubmesh file');
  const chunks = Math.max(1, Math.ceil(length / CHUNK_BYTES));
  let index = Math.floor(start / CHUNK_BYTES);
  let pending = Buffer.alloc(0);
  const open = (sealed: Buffer): Buffer => {
    const isLast = index === chunks - 1;
    const decipher = createDecipheriv('aes-256-gcm', key, nonce(header, index));
    decipher.setAAD(aad(header, index, isLast));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    try {
      const plain = Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES)), decipher.final()]);
      const chunkStart = index * CHUNK_BYTES;
      index++;
      return plain.subarray(Math.max(0, start - chunkStart), Math.max(0, Math.min(plain.length, end - chunkStart)));
    } catch (err) {
      throw new FileIntegrityError('file does not decrypt', { cause: err });
    }
  };
  const sealedLength = (i: number) => (i === chunks - 1 ? length - i * CHUNK_BYTES : CHUNK_BYTES) + TAG_BYTES;
  for await (const piece of span) {
    pending = pending.length === 0 ? Buffer.from(piece) : Buffer.concat([pending, piece]);
    while (index < chunks && pending.length >= sealedLength(index)) {
      const size = sealedLength(index);
      const plain = open(pending.subarray(0, size));
      pending = pending.subarray(size);
      if (plain.length > 0) yield plain;
      if (index * CHUNK_BYTES >= end) return;
    }
  }
  if (index * CHUNK_BYTES < end && index < chunks) throw new FileIntegrityError('file is shorter than recorded');
}
