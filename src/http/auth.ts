/**
 * Bearer authentication for HTTP routes. Every refusal of a token reads the
 * same, and none echoes it, so the API cannot be used to probe which check a
 * token fails.
 */
import type { FastifyRequest } from 'fastify';
import { AppError } from '../errors.js';
import type { Identity } from '../ports/identity.js';
import type { Account } from '../ports/store.js';

/** `Authorization: Bearer <token>`; the scheme is case-insensitive (RFC 9110 section 11.1). */
const BEARER = /^Bearer[ \t]+([^\s]+)[ \t]*$/i;

/**
 * The enabled account the request's bearer token names. Rejects with
 * AppError('UNAUTHENTICATED') when there is no such token, AppError
 * ('UNAUTHORIZED') for a disabled account, and with whatever `identity`
 * rejects with (AppError('STORE_UNAVAILABLE') in an outage).
 */
export async function bearerAccount(req: FastifyRequest, identity: Identity): Promise<Account> {
  const token = BEARER.exec(req.headers.authorization ?? '')?.[1];
  const account = token === undefined ? null : await identity.authenticate(token);
  if (!account) throw new AppError('UNAUTHENTICATED', 'a valid bearer token is needed');
  if (account.state !== 'enabled') throw new AppError('UNAUTHORIZED', 'this account is disabled');
  return account;
}
