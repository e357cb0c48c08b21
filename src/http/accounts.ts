/**
 * Accounts through the API: `POST /api/v1/accounts` (admins create accounts
 * and get a token for each) and `GET /api/v1/accounts/me`. Authentication
 * runs in `onRequest`, before the body is read or validated, so a caller
 * without a valid admin token learns nothing about the body it would need.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { FromSchema } from 'json-schema-to-ts';
import { AppError } from '../errors.js';
import type { Identity } from '../ports/identity.js';
import type { Account, NewAccount, Store } from '../ports/store.js';
import { bearerAccount } from './auth.js';
import { doc } from './openapi.js';

export interface AccountRoutesOptions {
  readonly store: Store;
  readonly identity: Identity;
}

/** Longest email accepted (RFC 5321 path limits: 64 + 1 + 255). */
const MAX_EMAIL = 320;
/** Longest display name, in characters. */
export const MAX_DISPLAY_NAME = 64;
const EMAIL_PATTERN = '^[^\\s@]+@[^\\s@]+$';
const EMAIL = new RegExp(EMAIL_PATTERN);

const createBodySchema = {
  type: 'object',
  required: ['account'],
  additionalProperties: false,
  properties: {
    account: {
      type: 'object',
      additionalProperties: false,
      properties: {
        email: { type: 'string', maxLength: MAX_EMAIL, pattern: EMAIL_PATTERN },
        display_name: { type: 'string', minLength: 1, maxLength: MAX_DISPLAY_NAME, pattern: '\\S' },
        is_admin: { type: 'boolean' },
      },
    },
  },
} as const;

type CreateBody = FromSchema<typeof createBodySchema>;

/**
 * An email as accounts keep it, or null when it is not one. Lower-cased, so
 * one address cannot hold two accounts (parity: Reticulum's
 * `Account.identifier_hash_for_email` downcases).
 */
export function normalizeEmail(email: string): string | null {
  return email.length <= MAX_EMAIL && EMAIL.test(email) ? email.toLowerCase() : null;
}

/**
 * Stores a new account. A store refusal (BAD_REQUEST) of an account with an
 * email can only be that email, so it gets a message that says so.
 */
export async function createLocalAccount(store: Store, account: NewAccount): Promise<Account> {
  try {
    return await store.createAccount(account);
  } catch (err) {
    if (err instanceof AppError && err.code === 'BAD_REQUEST' && account.email) throw new AppError('BAD_REQUEST', 'an account with this email already exists', { cause: err });
    throw err;
  }
}

function accountView(account: Account): { account_id: number; email: string | null; display_name: string | null; is_admin: boolean } {
  return { account_id: account.accountId, email: account.email, display_name: account.displayName, is_admin: account.isAdmin };
}

export async function accountRoutes(app: FastifyInstance, opts: AccountRoutesOptions): Promise<void> {
  const admins = new WeakMap<FastifyRequest, Account>();
  const requireAdmin = async (req: FastifyRequest): Promise<void> => {
    const account = await bearerAccount(req, opts.identity);
    if (!account.isAdmin) throw new AppError('UNAUTHORIZED', 'only an admin may do this');
    admins.set(req, account);
  };

  app.post<{ Body: CreateBody }>('/api/v1/accounts', { onRequest: requireAdmin, schema: { ...doc('accounts', 'Create an account and a token for it (admins only)', { bearer: true }), body: createBodySchema } }, async (req, reply) => {
    const input = req.body.account;
    const account = await createLocalAccount(opts.store, {
      email: input.email === undefined ? null : normalizeEmail(input.email),
      displayName: input.display_name?.trim() ?? null,
      isAdmin: input.is_admin ?? false,
    });
    const token = await opts.identity.issueAccountToken(account.accountId);
    req.log.info({ accountId: account.accountId, byAccountId: admins.get(req)?.accountId, isAdmin: account.isAdmin }, 'account created');
    return reply.status(201).send({ ...accountView(account), token });
  });

  app.get('/api/v1/accounts/me', { schema: doc('accounts', 'The account a token belongs to', { bearer: true }) }, async (req) => accountView(await bearerAccount(req, opts.identity)));
}
