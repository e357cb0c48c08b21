/**
 * The one HTTP error boundary: AppErrors keep their catalogued status; request
 * validation and unparsable bodies are 422; other client errors keep their
 * status; anything else is a logged 500. Bodies are `{code, message}`.
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import { AppError, ErrorCode } from '../errors.js';

const BAD_BODY_CODES = new Set(['FST_ERR_CTP_INVALID_JSON_BODY', 'FST_ERR_CTP_EMPTY_JSON_BODY', 'FST_ERR_VALIDATION']);

export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | AppError, req, reply) => {
    if (err instanceof AppError) {
      if (err.http >= 500) req.log.error({ err }, 'request failed');
      return reply.status(err.http).send({ code: err.reason, message: err.message });
    }
    if (err.validation || BAD_BODY_CODES.has(err.code) || (err.code ?? '').startsWith('FST_ERR_CTP_INVALID')) {
      return reply.status(ErrorCode.BAD_REQUEST.http).send({ code: ErrorCode.BAD_REQUEST.reason, message: err.message });
    }
    if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
      return reply.status(err.statusCode).send({ code: err.code ?? 'bad_request', message: err.message });
    }
    req.log.error({ err }, 'request failed');
    return reply.status(500).send({ code: ErrorCode.INTERNAL.reason, message: 'internal error' });
  });
  app.setNotFoundHandler((_req, reply) => reply.status(404).send({ code: 'not_found', message: 'no such route' }));
}
