/**
 * JSON request bodies: parsed as fastify parses them, except that a body
 * nesting deeper than MAX_JSON_DEPTH is refused (422 `bad_request`) before
 * it is parsed, as the socket and the SFU refuse such frames. JSON.parse
 * takes any depth, but what handles a body later recurses (structuredClone
 * in the store, JSON.stringify of a room view) and overflows the stack on a
 * few thousand levels.
 */
import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors.js';
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../protocol/json-depth.js';

/** Replaces the `application/json` parser of `app`; call before any plugin or route is registered. */
export function installJsonBodyParser(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser(app.initialConfig.onProtoPoisoning ?? 'error', app.initialConfig.onConstructorPoisoning ?? 'ignore');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const text = body as string;
    if (nestsDeeperThan(text, MAX_JSON_DEPTH)) return done(new AppError('BAD_REQUEST', `the body nests deeper than ${MAX_JSON_DEPTH} levels`), undefined);
    parse(req, text, done);
  });
}
