/**
 * Server-side arbitration of entity messages (parity 3.9). A NAF message
 * (`u`, `um`, `r`) or bitECS message (`nn`) is checked entry by entry
 * against the room's entity table with the clients' own rules; accepted
 * entries update the table, rejected ones are cut out. The result is the
 * message to relay (the original object when nothing was cut), or null.
 *
 * An entry is dropped only when the clients would reject it anyway
 * (`outdated`), when it is a component update from someone who does not own
 * the entity (`not_owner`, as the issue asks of `um` and `nn`), when it
 * removes someone else's entity (`not_owner`), when it would create more
 * entities than a session may have (`entity_limit`), when it is about an
 * entity that was removed (`removed`: a resend in flight would bring it back
 * at the clients that saw the removal), or when it is not
 * shaped like an entity update at all (`invalid`). Entries about entities
 * the server has not seen are relayed untouched: it cannot judge them.
 */
import type { Payload } from '../protocol/frames.js';
import { isPayload } from '../protocol/codec.js';
import { EntityTable, mergeComponents, nafAccepts, nnAccepts, NN_SERVER_OWNER, type Entity } from './entities.js';

export type DropReason = 'outdated' | 'not_owner' | 'entity_limit' | 'removed' | 'invalid';

export interface ArbiterContext {
  /** The sender's session id. */
  readonly sender: string;
  /** Whether a session is in the room now (NAF `canSync` lets a creator update while the owner is away). */
  isPresent(sessionId: string): boolean;
  readonly maxEntitiesPerSession: number;
}

export interface Arbitration {
  /** What to relay; the very same object as the input when nothing was cut. Null when nothing is left. */
  readonly message: Payload | null;
  readonly drops: readonly DropReason[];
  /**
   * The sender must get the relayed message too. Set for a removal of a live
   * entity: a first sync that someone else resent may have reached the sender
   * after it removed the entity locally and brought it back there; its own
   * `r` removes it again.
   */
  readonly isEcho?: boolean;
  /**
   * Entities the sender removed locally but may not remove: it is sent their
   * state again, or it alone would go on without them.
   */
  readonly restore?: readonly string[];
}

const MAX_ID_CHARS = 128;
const isId = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= MAX_ID_CHARS;
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

type EntryVerdict = 'accept' | DropReason;

/** May `sender` update an entity currently owned by `owner`? The owner may; so may the creator while the owner is away. */
function isEffectiveOwner(entity: Entity, claimedOwner: string, ctx: ArbiterContext): boolean {
  if (claimedOwner === ctx.sender) return true;
  return ctx.sender === entity.creator && claimedOwner === entity.owner && !ctx.isPresent(entity.owner);
}

/** One NAF sync entry `{networkId, owner, creator, lastOwnerTime, template, persistent, parent, components, isFirstSync}`. */
function applyNafEntry(table: EntityTable, entry: unknown, ctx: ArbiterContext, isComponentUpdate: boolean): EntryVerdict {
  if (!isPayload(entry) || !isId(entry['networkId']) || !isId(entry['owner']) || !isTime(entry['lastOwnerTime'])) return 'invalid';
  const claim = { owner: entry['owner'], lastOwnerTime: entry['lastOwnerTime'] };
  const entity = table.get(entry['networkId']);
  if (!entity) {
    if (table.isRemovedFor(entry['networkId'], ctx.sender)) return 'removed';
    // Clients instantiate from first syncs only; anything else about an unknown entity is theirs to stash or drop.
    if (entry['isFirstSync'] !== true) return 'accept';
    const creator = isId(entry['creator']) ? entry['creator'] : claim.owner;
    // Counted against the sender: a persistent first sync keeps whatever creator it names.
    if (table.countBy(ctx.sender) >= ctx.maxEntitiesPerSession) return 'entity_limit';
    const components: Record<string, unknown> = {};
    mergeComponents(components, entry['components']);
    table.add({
      networkId: entry['networkId'],
      protocol: 'naf',
      owner: claim.owner,
      creator,
      // A receiving client creates the entity at -1 and keeps it there, the owner being unchanged (parity 3.3).
      lastOwnerTime: -1,
      template: typeof entry['template'] === 'string' ? entry['template'] : '',
      persistent: entry['persistent'] === true,
      parent: typeof entry['parent'] === 'string' ? entry['parent'] : null,
      components,
      lastTimestamp: 0,
      createMessage: null,
    }, ctx.sender);
    return 'accept';
  }
  if (entity.protocol !== 'naf') return 'invalid';
  if (!nafAccepts(entity, claim)) return 'outdated';
  if (isComponentUpdate && !isEffectiveOwner(entity, claim.owner, ctx)) return 'not_owner';
  if (claim.owner !== entity.owner) {
    entity.owner = claim.owner;
    entity.lastOwnerTime = claim.lastOwnerTime;
  }
  if (typeof entry['persistent'] === 'boolean') entity.persistent = entry['persistent'];
  if (entry['parent'] === null || typeof entry['parent'] === 'string') entity.parent = entry['parent'];
  mergeComponents(entity.components, entry['components']);
  return 'accept';
}

/** `r`: only the owner or the creator may remove an entity, and only the creator an avatar (parity 3.7). */
function applyNafRemove(table: EntityTable, data: unknown, ctx: ArbiterContext): EntryVerdict {
  if (!isPayload(data) || !isId(data['networkId'])) return 'invalid';
  const entity = table.get(data['networkId']);
  if (!entity) return 'accept';
  if (entity.protocol !== 'naf') return 'invalid';
  const isAvatar = entity.template.endsWith('-avatar');
  const mayRemove = ctx.sender === entity.creator || (!isAvatar && ctx.sender === entity.owner);
  if (!mayRemove) return 'not_owner';
  table.delete(entity.networkId);
  return 'accept';
}

function arbitrateNaf(table: EntityTable, message: Payload, ctx: ArbiterContext, claimed: Payload | undefined): Arbitration {
  const { dataType, data } = message;
  if (dataType === 'u') {
    const claimedData = claimed === undefined ? undefined : claimed['data'];
    const existing = isPayload(data) && typeof data['networkId'] === 'string' ? table.get(data['networkId']) : undefined;
    if (isPayload(claimedData) && existing) {
      // A first sync of an entity that exists (NAF completeSync for a newcomer): Reticulum's owner and
      // creator rewrite would tell everyone but the sender a different owner, so it is judged and relayed
      // as the full sync it is, from the owner it names, with the creator everyone knows.
      const verdict = applyNafEntry(table, claimedData, ctx, true);
      if (verdict !== 'accept') return { message: null, drops: [verdict] };
      return { message: { ...message, data: { ...claimedData, creator: existing.creator } }, drops: [] };
    }
    const verdict = applyNafEntry(table, data, ctx, false);
    return verdict === 'accept' ? { message, drops: [] } : { message: null, drops: [verdict] };
  }
  if (dataType === 'r') {
    const wasLive = isPayload(data) && typeof data['networkId'] === 'string' && table.get(data['networkId']) !== undefined;
    const verdict = applyNafRemove(table, data, ctx);
    if (verdict === 'accept') return { message, drops: [], isEcho: wasLive };
    return { message: null, drops: [verdict], restore: verdict === 'not_owner' ? [(data as Payload)['networkId'] as string] : [] };
  }
  // um: cut out the entries that fail, keep the rest in order.
  if (!isPayload(data) || !Array.isArray(data['d'])) return { message: null, drops: ['invalid'] };
  const entries = data['d'] as unknown[];
  const drops: DropReason[] = [];
  const kept = entries.filter((entry) => {
    const verdict = applyNafEntry(table, entry, ctx, true);
    if (verdict !== 'accept') drops.push(verdict);
    return verdict === 'accept';
  });
  if (drops.length === 0) return { message, drops };
  if (kept.length === 0) return { message: null, drops };
  return { message: { ...message, data: { ...data, d: kept } }, drops };
}

function applyNnCreate(table: EntityTable, create: unknown, ctx: ArbiterContext): EntryVerdict {
  if (!isPayload(create) || !isId(create['networkId'])) return 'invalid';
  if (table.get(create['networkId'])) return 'accept';
  if (table.isRemovedFor(create['networkId'], ctx.sender)) return 'removed';
  if (table.countBy(ctx.sender) >= ctx.maxEntitiesPerSession) return 'entity_limit';
  table.add({
    networkId: create['networkId'],
    protocol: 'nn',
    owner: NN_SERVER_OWNER,
    creator: ctx.sender,
    lastOwnerTime: 0,
    template: typeof create['prefabName'] === 'string' ? create['prefabName'] : '',
    persistent: false,
    parent: null,
    components: {},
    lastTimestamp: 0,
    createMessage: create,
  }, ctx.sender);
  return 'accept';
}

function applyNnUpdate(table: EntityTable, update: unknown, ctx: ArbiterContext): EntryVerdict {
  if (!isPayload(update) || !isId(update['nid']) || !isId(update['owner']) || !isTime(update['lastOwnerTime'])) return 'invalid';
  const entity = table.get(update['nid']);
  if (!entity) return table.isRemovedFor(update['nid'], ctx.sender) ? 'removed' : 'accept';
  if (entity.protocol !== 'nn') return 'invalid';
  const claim = { owner: update['owner'], lastOwnerTime: update['lastOwnerTime'] };
  if (!nnAccepts(entity, claim)) return 'outdated';
  if (claim.owner !== ctx.sender) return 'not_owner';
  entity.owner = claim.owner;
  entity.lastOwnerTime = claim.lastOwnerTime;
  if (isTime(update['timestamp'])) entity.lastTimestamp = update['timestamp'];
  const ids = update['componentIds'];
  const data = update['data'];
  if (Array.isArray(ids) && Array.isArray(data)) {
    ids.forEach((id, i) => {
      if (data[i] !== undefined && data[i] !== null) entity.components[String(id)] = data[i];
    });
  } else {
    mergeComponents(entity.components, data);
  }
  return 'accept';
}

function applyNnDelete(table: EntityTable, nid: unknown, ctx: ArbiterContext): EntryVerdict {
  if (!isId(nid)) return 'invalid';
  const entity = table.get(nid);
  if (!entity) return 'accept';
  if (entity.protocol !== 'nn') return 'invalid';
  if (ctx.sender !== entity.creator && ctx.sender !== entity.owner) return 'not_owner';
  table.delete(nid);
  return 'accept';
}

function arbitrateNn(table: EntityTable, message: Payload, ctx: ArbiterContext): Arbitration {
  const data = message['data'];
  if (!isPayload(data)) return { message: null, drops: ['invalid'] };
  const drops: DropReason[] = [];
  const restore: string[] = [];
  let isCut = false;
  const next: Payload = { ...data };
  const parts: [string, (item: unknown) => EntryVerdict][] = [
    ['creates', (c) => applyNnCreate(table, c, ctx)],
    [
      'deletes',
      (d) => {
        const verdict = applyNnDelete(table, d, ctx);
        if (verdict === 'not_owner') restore.push(d as string);
        return verdict;
      },
    ],
    ['updates', (u) => applyNnUpdate(table, u, ctx)],
  ];
  // Shape first: nothing may touch the table for a message that is then refused whole.
  if (parts.some(([key]) => data[key] !== undefined && !Array.isArray(data[key]))) return { message: null, drops: ['invalid'] };
  for (const [key, apply] of parts) {
    const items = data[key];
    if (!Array.isArray(items)) continue;
    const kept = items.filter((item) => {
      const verdict = apply(item);
      if (verdict !== 'accept') drops.push(verdict);
      return verdict === 'accept';
    });
    if (kept.length !== items.length) isCut = true;
    next[key] = kept;
  }
  if (!isCut) return { message, drops };
  const isEmpty = ['creates', 'deletes', 'updates'].every((k) => !Array.isArray(next[k]) || (next[k] as unknown[]).length === 0);
  return { message: isEmpty ? null : { ...message, data: next }, drops, restore };
}

/**
 * Arbitrates one NAF payload `{dataType, data, clientId?}` that Reticulum's
 * rules let through; `claimed` is the instantiation as sent, before those
 * rules rewrote its owner and creator (see `NafDecision`). Types other than
 * `u`, `um`, `r` and `nn` (drawings, custom types) pass untouched.
 */
export function arbitrate(table: EntityTable, message: Payload, ctx: ArbiterContext, claimed?: Payload): Arbitration {
  switch (message['dataType']) {
    case 'u':
    case 'um':
    case 'r':
      return arbitrateNaf(table, message, ctx, claimed);
    case 'nn':
      return arbitrateNn(table, message, ctx);
    default:
      return { message, drops: [] };
  }
}

/**
 * Applies an entity message another node already decided (its leave
 * resolution: `r` removals and `um` handovers) without judging it again: the
 * values in it are what every client was told, so this node's table must hold
 * exactly them.
 */
export function applyDecided(table: EntityTable, message: Payload, from: string): void {
  const data = message['data'];
  if (message['dataType'] === 'r') {
    if (isPayload(data) && isId(data['networkId'])) table.delete(data['networkId'], from);
    return;
  }
  const entries = message['dataType'] === 'um' && isPayload(data) && Array.isArray(data['d']) ? (data['d'] as unknown[]) : message['dataType'] === 'u' ? [data] : [];
  for (const entry of entries) {
    if (!isPayload(entry) || !isId(entry['networkId']) || !isId(entry['owner']) || !isTime(entry['lastOwnerTime'])) continue;
    const entity = table.get(entry['networkId']);
    if (!entity || entity.protocol !== 'naf') continue;
    entity.owner = entry['owner'];
    entity.lastOwnerTime = entry['lastOwnerTime'];
    mergeComponents(entity.components, entry['components']);
  }
}
