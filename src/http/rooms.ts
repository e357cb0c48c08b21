/**
 * What the HTTP routes need of live rooms, wherever in the cluster they run
 * (the hub registry implements it), and who a caller is in a room.
 */
import type { FastifyRequest } from 'fastify';
import type { RoomCommand } from '../core/control.js';
import type { Hub } from '../core/hub.js';
import { hubPermissions, principalOf, rolesFor, type HubPermissionName, type HubPermissions } from '../core/permissions.js';
import { AppError } from '../errors.js';
import type { Payload } from '../protocol/frames.js';
import type { Identity } from '../ports/identity.js';
import type { Account, AuditEntry, Store } from '../ports/store.js';
import { bearerAccount } from './auth.js';

export interface RoomDirectory {
  /** Live presence counts of a room as seen from this node. */
  counts(hubSid: string): { memberCount: number; lobbyCount: number };
  /** Member counts of live rooms across the cluster. */
  clusterCounts(): Map<string, number>;
  /** Presence of a room across the cluster (Phoenix presence-state shape). */
  members(hubSid: string): Promise<Record<string, { metas: Payload[] }>>;
  /** Applies a room command on every node holding the room. */
  command(hubSid: string, cmd: RoomCommand): void;
}

/** The caller's account when it sent a bearer token (401 for a bad one), or null without one. */
export async function optionalAccount(req: FastifyRequest, identity: Identity): Promise<Account | null> {
  return req.headers.authorization === undefined ? null : bearerAccount(req, identity);
}

/** Accounts already authenticated for a request by `authenticateFirst`. */
const authenticated = new WeakMap<FastifyRequest, Account>();

/**
 * An `onRequest` hook: checks the bearer token before the body is validated,
 * so a caller without a valid token learns nothing about what the route
 * expects (401 before 422).
 */
export function authenticateFirst(identity: Identity): (req: FastifyRequest) => Promise<void> {
  return async (req) => {
    authenticated.set(req, await bearerAccount(req, identity));
  };
}

export interface Caller {
  readonly hub: Hub;
  readonly account: Account;
  readonly permissions: HubPermissions;
}

/**
 * The room `hubSid` and the caller's permissions in it; 401 without a valid
 * bearer token, 404 for a room that does not exist, 403 without `needed`.
 */
export async function callerIn(req: FastifyRequest, deps: { store: Store; identity: Identity }, hubSid: string, needed: HubPermissionName): Promise<Caller> {
  const account = authenticated.get(req) ?? (await bearerAccount(req, deps.identity));
  const hub = await deps.store.getHub(hubSid);
  if (!hub) throw new AppError('HUB_NOT_FOUND', 'No such Hub');
  const principal = principalOf(account);
  const owners = new Set(await deps.store.listOwners(hubSid));
  const permissions = hubPermissions(hub, rolesFor(hub, owners, principal), principal);
  if (!permissions[needed]) throw new AppError('UNAUTHORIZED', `this needs the ${needed} permission in the room`);
  return { hub, account, permissions };
}

/** Records an action `caller` took in its room; it has happened, so a record that cannot be written is logged, not retried. */
export function recordAudit(store: Store, req: FastifyRequest, caller: Pick<Caller, 'hub' | 'account'>, action: string, target: string | null, details: Payload | null = null): void {
  const entry: AuditEntry = { hubSid: caller.hub.hubSid, actorAccountId: caller.account.accountId, actorSessionId: null, action, target, details };
  store.appendAudit(entry).catch((err: unknown) => req.log.warn({ err, action: entry.action }, 'could not write the audit log'));
}
