/**
 * Uploads and downloads (parity 5.4).
 *
 * `POST /api/v1/media` takes a multipart `media` file, sniffs its type from
 * its first bytes, encrypts it as it streams in (src/core/file-crypto.ts) and
 * answers `{file_id, origin, meta: {access_token, promotion_token,
 * expected_content_type}}`. `promotion_mode=with_token` adds a promotion
 * token, which promoting the file will require.
 *
 * `GET`/`HEAD /files/:id[.ext]` with `?token=` or `Authorization: Token ...`
 * serves it, one byte range at a time if asked. A wrong or missing token is
 * 403, the same as for a file that does not exist: the answer says nothing
 * about existence.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { decryptRange, encryptStream, encryptedSpan, fileKey, hashToken, HEADER_BYTES, isTokenValid } from '../core/file-crypto.js';
import { extensionFor, sniffContentType, SNIFF_BYTES } from '../core/sniff.js';
import { AppError } from '../errors.js';
import type { FileStore } from '../ports/file-store.js';
import type { Store } from '../ports/store.js';
import { doc } from './openapi.js';

export interface MediaOptions {
  readonly store: Store;
  readonly files: FileStore;
  readonly secret: string;
  readonly maxUploadBytes: number;
  baseUrl(): string;
}

const FILE_NAME = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(\.[a-z0-9]{1,8})?$/;

/** Passes `source` through, noting its first SNIFF_BYTES bytes. */
async function* sniffing(source: AsyncIterable<Uint8Array>, head: { bytes: Buffer }): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    if (head.bytes.length < SNIFF_BYTES) head.bytes = Buffer.concat([head.bytes, chunk]).subarray(0, SNIFF_BYTES);
    yield chunk;
  }
}

/**
 * Passes a stream of the client's multipart body through. An error from it
 * that is not already a catalogued or an HTTP client error (busboy's "Unexpected
 * end of multipart data", a malformed part header) is the client's doing: a
 * bad request, not a 500.
 */
async function* fromClient<T>(source: AsyncIterable<T>): AsyncGenerator<T> {
  try {
    yield* source;
  } catch (err) {
    const status = (err as { statusCode?: unknown }).statusCode;
    if (err instanceof AppError || (typeof status === 'number' && status >= 400 && status < 500)) throw err;
    throw new AppError('BAD_REQUEST', 'the multipart body is malformed', { cause: err });
  }
}

async function upload(opts: MediaOptions, req: FastifyRequest) {
  const fileId = randomUUID();
  const accessToken = randomBytes(16).toString('hex');
  const fields: Record<string, string> = {};
  let stored: { length: number; contentType: string } | undefined;
  try {
    for await (const part of fromClient(req.parts({ limits: { fileSize: opts.maxUploadBytes, files: 1, fields: 8, fieldSize: 1024 } }))) {
      if (part.type === 'field') {
        if (typeof part.value === 'string') fields[part.fieldname] = part.value;
        continue;
      }
      if (part.fieldname !== 'media' || stored) {
        part.file.resume();
        continue;
      }
      const head = { bytes: Buffer.alloc(0) };
      let length = 0;
      const counted = async function* () {
        for await (const chunk of sniffing(fromClient(part.file), head)) {
          length += chunk.length;
          yield chunk;
        }
      };
      await opts.files.write(fileId, encryptStream(fileKey(opts.secret, accessToken, fileId), counted()));
      if (part.file.truncated) throw Object.assign(new Error('file too large'), { code: 'FST_REQ_FILE_TOO_LARGE' });
      stored = { length, contentType: sniffContentType(head.bytes) };
    }
  } catch (err) {
    // Whatever was written is dropped: a refused upload leaves nothing behind.
    await opts.files.delete(fileId).catch(() => undefined);
    if ((err as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE') throw new AppError('PAYLOAD_TOO_LARGE', `uploads are limited to ${opts.maxUploadBytes} bytes`, { cause: err });
    throw err;
  }
  if (!stored) throw new AppError('BAD_REQUEST', 'the upload needs a multipart file field named media');
  const promotionToken = fields['promotion_mode'] === 'with_token' ? randomBytes(16).toString('hex') : null;
  try {
    await opts.store.createFile({
      fileId,
      tokenHash: hashToken(accessToken),
      promotionTokenHash: promotionToken === null ? null : hashToken(promotionToken),
      contentType: stored.contentType,
      contentLength: stored.length,
      state: 'expiring',
      createdAt: new Date(),
    });
  } catch (err) {
    // No record, no file: nothing half-written remains.
    await opts.files.delete(fileId).catch(() => undefined);
    throw err;
  }
  req.log.info({ fileId, bytes: stored.length }, 'file uploaded');
  return {
    file_id: fileId,
    origin: `${opts.baseUrl()}/files/${fileId}${extensionFor(stored.contentType)}`,
    meta: { access_token: accessToken, promotion_token: promotionToken, expected_content_type: stored.contentType },
  };
}

function presentedToken(req: FastifyRequest<{ Querystring: { token?: string } }>): string | undefined {
  const header = req.headers.authorization;
  if (typeof header === 'string' && /^token\s+/i.test(header)) return header.replace(/^token\s+/i, '').trim();
  return typeof req.query.token === 'string' ? req.query.token : undefined;
}

/** Parses a single `bytes=` range against `length`; null for no range; throws for one that cannot be served. */
function parseRange(header: string | undefined, length: number): { start: number; end: number } | null {
  if (header === undefined) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) throw new AppError('RANGE_NOT_SATISFIABLE', 'only one byte range of the form bytes=a-b is served');
  let start: number;
  let end: number;
  if (m[1] === '') {
    start = Math.max(0, length - Number(m[2]));
    end = length;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? length : Math.min(length, Number(m[2]) + 1);
  }
  if (start >= length || end <= start) throw new AppError('RANGE_NOT_SATISFIABLE', `the file has ${length} bytes`, { details: { length } });
  return { start, end };
}

async function download(opts: MediaOptions, req: FastifyRequest<{ Params: { name: string }; Querystring: { token?: string } }>, reply: FastifyReply) {
  const forbidden = () => new AppError('FORBIDDEN', 'a valid token is needed to read this file');
  const m = FILE_NAME.exec(req.params.name);
  const token = presentedToken(req);
  if (!m || token === undefined) throw forbidden();
  const fileId = m[1]!;
  const file = await opts.store.getFile(fileId);
  if (!file || !isTokenValid(token, file.tokenHash)) throw forbidden();

  let range: { start: number; end: number } | null;
  try {
    range = parseRange(req.headers.range, file.contentLength);
  } catch (err) {
    if (err instanceof AppError && err.code === 'RANGE_NOT_SATISFIABLE') reply.header('content-range', `bytes */${file.contentLength}`);
    throw err;
  }
  const start = range?.start ?? 0;
  const end = range?.end ?? file.contentLength;
  reply
    .header('content-type', file.contentType)
    .header('accept-ranges', 'bytes')
    .header('cache-control', 'private, max-age=31536000, immutable')
    .header('x-content-type-options', 'nosniff')
    .header('content-length', String(end - start));
  if (range) reply.status(206).header('content-range', `bytes ${start}-${end - 1}/${file.contentLength}`);
  if (req.method === 'HEAD') return reply.send();

  const key = fileKey(opts.secret, token, fileId);
  const headerBytes: Buffer[] = [];
  for await (const chunk of await opts.files.read(fileId, 0, HEADER_BYTES)) headerBytes.push(Buffer.from(chunk));
  const span = encryptedSpan(file.contentLength, start, end);
  const body = decryptRange(key, Buffer.concat(headerBytes), await opts.files.read(fileId, span.from, span.to), file.contentLength, start, end);
  return reply.send(Readable.from(body));
}

export async function mediaRoutes(app: FastifyInstance, opts: MediaOptions): Promise<void> {
  await app.register(multipart);
  app.post('/api/v1/media', { schema: doc('media', 'Upload a file (multipart field media); answers its id and access token') }, async (req) => upload(opts, req));
  app.route<{ Params: { name: string }; Querystring: { token?: string } }>({
    method: ['GET', 'HEAD'],
    url: '/files/:name',
    exposeHeadRoute: false,
    handler: (req, reply) => download(opts, req, reply),
  });
}
