/**
 * Accounts and bearer calls for tests: accounts in a node's store with tokens
 * the node accepts (signed with the node's own secret, as `hubmesh accounts
 * create` does), rooms created by an account, and HTTP calls with a token.
 */
import { decodeJwt } from 'jose';
import { JoseTokens } from '../../src/adapters/jose-tokens.js';
import type { HubmeshNode } from '../../src/main.js';
import type { Store } from '../../src/ports/store.js';
import { loadSecrets } from '../../src/secrets.js';
import type { NodeAddress } from './clients.js';

export interface TestAccount {
  readonly accountId: number;
  /** A bearer token for it, good for `Authorization`, `auth_token` and `sign_in`. */
  readonly token: string;
}

export interface AccountOptions {
  readonly email?: string;
  readonly displayName?: string;
  readonly isAdmin?: boolean;
  /** Disabled after it is made, as an operator would. */
  readonly isDisabled?: boolean;
  /** Rooms it gets an owner row in; a room already live keeps the owners it loaded at start. */
  readonly ownerOf?: readonly string[];
}

export interface AccountMaker {
  /** Stores a new account and signs a token for it. */
  (opts?: AccountOptions): Promise<TestAccount>;
  /** The node's own token signer, for session tokens and tokens of accounts that do not exist. */
  readonly tokens: JoseTokens;
}

/**
 * Makes accounts in `store` (the one the node was started with) with tokens
 * the node accepts. `secret` is the node's HUBMESH_SECRET when the test set
 * one; otherwise the node's data dir holds it.
 */
export async function accountMaker(node: Pick<HubmeshNode, 'dataDir'>, store: Store, secret?: string): Promise<AccountMaker> {
  const secrets = await loadSecrets(node.dataDir, secret);
  const tokens = new JoseTokens(secrets.secret, secrets.permsKeyPem);
  const make = async (opts: AccountOptions = {}): Promise<TestAccount> => {
    const account = await store.createAccount({ email: opts.email ?? null, displayName: opts.displayName ?? null, isAdmin: opts.isAdmin ?? false });
    if (opts.isDisabled === true) await store.updateAccount(account.accountId, { state: 'disabled' });
    for (const sid of opts.ownerOf ?? []) {
      if (!(await store.addOwner(sid, account.accountId))) throw new Error(`could not make account ${account.accountId} an owner of ${sid}`);
    }
    return { accountId: account.accountId, token: await tokens.signAccountToken(account.accountId) };
  };
  return Object.assign(make, { tokens });
}

export interface ApiResult {
  readonly status: number;
  /** The parsed JSON body; null for an empty one. */
  readonly body: Record<string, unknown> | null;
}

/** One HTTP call to a node, with `Authorization: Bearer <token>` when a token is given. */
export async function api(node: NodeAddress, method: string, path: string, init: { token?: string; body?: unknown } = {}): Promise<ApiResult> {
  const headers: Record<string, string> = {};
  if (init.token !== undefined) headers['authorization'] = `Bearer ${init.token}`;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${node.url}${path}`, { method, headers, body: init.body === undefined ? undefined : JSON.stringify(init.body) });
  const text = await res.text();
  return { status: res.status, body: text === '' ? null : (JSON.parse(text) as Record<string, unknown>) };
}

/** An account made through `POST /api/v1/accounts` by an admin, as an operator would. */
export async function apiAccount(node: NodeAddress, adminToken: string, account: Record<string, unknown> = {}): Promise<TestAccount> {
  const res = await api(node, 'POST', '/api/v1/accounts', { token: adminToken, body: { account } });
  if (res.status !== 201 || !res.body) throw new Error(`account create failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { accountId: res.body['account_id'] as number, token: res.body['token'] as string };
}

export interface CreatedHub {
  readonly sid: string;
  readonly creatorAssignmentToken: string;
}

/** Creates a room over HTTP; with `token`, that account is its creator. */
export async function createHubAs(node: NodeAddress, token: string | undefined, hub: Record<string, unknown> = {}): Promise<CreatedHub> {
  const res = await api(node, 'POST', '/api/v1/hubs', { token, body: { hub: { name: 'Room', ...hub } } });
  if (res.status !== 200 || !res.body) throw new Error(`create hub failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { sid: res.body['hub_id'] as string, creatorAssignmentToken: res.body['creator_assignment_token'] as string };
}

export function permsClaims(token: unknown): Record<string, unknown> {
  if (typeof token !== 'string') throw new Error(`not a perms token: ${JSON.stringify(token)}`);
  return decodeJwt(token);
}
