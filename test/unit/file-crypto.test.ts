import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CHUNK_BYTES, decryptRange, encryptedLength, encryptedSpan, encryptStream, fileKey, FileIntegrityError, hashToken, HEADER_BYTES, isTokenValid } from '../../src/core/file-crypto.js';
import { extensionFor, sniffContentType } from '../../src/core/sniff.js';

async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of it) parts.push(Buffer.from(p));
  return Buffer.concat(parts);
}

async function* pieces(buf: Buffer, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

const key = fileKey('s'.repeat(48), 'token', '00000000-0000-4000-8000-000000000001');

async function seal(plain: Buffer, pieceSize = 7000): Promise<Buffer> {
  return collect(encryptStream(key, pieces(plain, pieceSize)));
}

async function open(sealed: Buffer, length: number, start: number, end: number, k = key): Promise<Buffer> {
  const span = encryptedSpan(length, start, end);
  return collect(decryptRange(k, sealed.subarray(0, HEADER_BYTES), pieces(sealed.subarray(span.from, span.to), 5000), length, start, end));
}

describe('file encryption', () => {
  it('round-trips any length and any range, and the sealed size is as computed', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 3 * CHUNK_BYTES + 17 }), fc.nat(), fc.nat(), async (length, a, b) => {
        const plain = randomBytes(length);
        const sealed = await seal(plain);
        expect(sealed.length).toBe(encryptedLength(length));
        const start = length === 0 ? 0 : a % length;
        const end = length === 0 ? 0 : start + 1 + (b % (length - start));
        expect((await open(sealed, length, start, end)).equals(plain.subarray(start, end))).toBe(true);
      }),
      { numRuns: 40 },
    );
  });

  it('never writes the plaintext', async () => {
    const marker = Buffer.from('PLAINTEXT-MARKER-PLAINTEXT-MARKER');
    const sealed = await seal(Buffer.concat([marker, randomBytes(100), marker]));
    expect(sealed.includes(marker)).toBe(false);
  });

  it('refuses a wrong key, an altered byte, swapped chunks and a cut-off file', async () => {
    const length = 2 * CHUNK_BYTES + 10;
    const plain = randomBytes(length);
    const sealed = await seal(plain);
    const wrongKey = fileKey('s'.repeat(48), 'other token', '00000000-0000-4000-8000-000000000001');
    await expect(open(sealed, length, 0, length, wrongKey)).rejects.toBeInstanceOf(FileIntegrityError);
    const altered = Buffer.from(sealed);
    altered[HEADER_BYTES + 5]! ^= 1;
    await expect(open(altered, length, 0, length)).rejects.toBeInstanceOf(FileIntegrityError);
    const chunk = CHUNK_BYTES + 16;
    const swapped = Buffer.concat([sealed.subarray(0, HEADER_BYTES), sealed.subarray(HEADER_BYTES + chunk, HEADER_BYTES + 2 * chunk), sealed.subarray(HEADER_BYTES, HEADER_BYTES + chunk), sealed.subarray(HEADER_BYTES + 2 * chunk)]);
    await expect(open(swapped, length, 0, length)).rejects.toBeInstanceOf(FileIntegrityError);
    // Claiming the file ends after two whole chunks: the second chunk was not sealed as the last.
    await expect(open(sealed.subarray(0, HEADER_BYTES + 2 * chunk), 2 * CHUNK_BYTES, 0, 2 * CHUNK_BYTES)).rejects.toBeInstanceOf(FileIntegrityError);
  });

  it('derives a different key per token and per file', () => {
    expect(fileKey('s', 't', 'f1').equals(fileKey('s', 't', 'f2'))).toBe(false);
    expect(fileKey('s', 't1', 'f').equals(fileKey('s', 't2', 'f'))).toBe(false);
    expect(fileKey('s1', 't', 'f').equals(fileKey('s2', 't', 'f'))).toBe(false);
  });

  it('checks tokens against their hash only', () => {
    const hash = hashToken('abc');
    expect(hash).not.toContain('abc');
    expect(isTokenValid('abc', hash)).toBe(true);
    expect(isTokenValid('abd', hash)).toBe(false);
    expect(isTokenValid('abc', 'nothex')).toBe(false);
  });
});

describe('content sniffing', () => {
  it.each([
    ['image/png', [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0]],
    ['image/jpeg', [0xff, 0xd8, 0xff, 0xe0]],
    ['image/gif', [...Buffer.from('GIF89a')]],
    ['image/webp', [...Buffer.from('RIFF'), 1, 2, 3, 4, ...Buffer.from('WEBP')]],
    ['model/gltf-binary', [...Buffer.from('glTF'), 2, 0, 0, 0]],
    ['video/mp4', [0, 0, 0, 0x20, ...Buffer.from('ftypisom')]],
    ['application/octet-stream', [...Buffer.from('<html>')]],
    ['application/octet-stream', []],
  ])('%s', (type, bytes) => {
    expect(sniffContentType(Uint8Array.from(bytes))).toBe(type);
  });

  it('names extensions only for known types', () => {
    expect(extensionFor('image/png')).toBe('.png');
    expect(extensionFor('application/octet-stream')).toBe('');
  });
});
