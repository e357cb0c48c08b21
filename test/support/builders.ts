/**
 * Small factories shared by the tests. Pure data, no I/O.
 */
import { EntityTable, type Entity } from '../../src/core/entities.js';
import type { Hub } from '../../src/core/hub.js';
import type { Member } from '../../src/core/member.js';
import { guestPermissions, type HubPermissions, RESTRICTIVE_MEMBER_PERMISSIONS } from '../../src/core/permissions.js';

export function makeHub(overrides: Partial<Hub> = {}): Hub {
  return {
    hubSid: 'AbCdEfG',
    name: 'Test Room',
    slug: 'test-room',
    description: null,
    userData: null,
    roomSize: 24,
    memberPermissions: RESTRICTIVE_MEMBER_PERMISSIONS,
    entryMode: 'allow',
    allowPromotion: false,
    creatorAssignmentToken: 'c0ffee00c0ffee00',
    embedToken: 'e1beddede1bedded',
    embedded: false,
    createdByAccountId: null,
    host: null,
    createdAt: new Date(0),
    ...overrides,
  };
}

/** The permissions of a guest in a room with these member-permission bits. */
export function permsFor(memberPermissions: number): HubPermissions {
  return guestPermissions({ memberPermissions, entryMode: 'allow' });
}

export function makeMember(overrides: Partial<Member> = {}): Member {
  return {
    sessionId: 'session-1',
    presence: 'lobby',
    profile: { displayName: 'Cheerful-Fox-123', avatarId: 'basic' },
    context: { mobile: false, embed: false },
    principal: null,
    roles: { owner: false, creator: false, signed_in: false },
    permissions: permsFor(RESTRICTIVE_MEMBER_PERMISSIONS),
    flags: {},
    ...overrides,
  };
}

/**
 * A live entity for the entity table: a NAF media object created and owned by
 * `alice`, as a receiving client holds it (lastOwnerTime -1, parity 3.3).
 * Each call gets its own `components` object.
 */
export function makeEntity(overrides: Partial<Entity> & Pick<Entity, 'networkId'>): Entity {
  return {
    protocol: 'naf',
    owner: 'alice',
    creator: 'alice',
    lastOwnerTime: -1,
    template: '#interactable-media',
    persistent: false,
    parent: null,
    components: {},
    lastTimestamp: 0,
    createMessage: null,
    ...overrides,
  };
}

/** A table holding these entities. */
export function tableWith(...entities: Entity[]): EntityTable {
  const table = new EntityTable();
  for (const e of entities) table.add(e);
  return table;
}

/** The entity `networkId` of `table`; throws when it is not there. */
export function entityIn(table: EntityTable, networkId: string): Entity {
  const entity = table.get(networkId);
  if (!entity) throw new Error(`no entity ${networkId}`);
  return entity;
}
