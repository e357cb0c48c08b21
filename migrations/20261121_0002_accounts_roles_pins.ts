/**
 * Sign-in identities, invites, and a deterministic order for pinned objects
 * and saved entities (src/ports/store.ts promises them in the order they were
 * first stored). Forward-only; PostgreSQL 15 compatible, as 0001.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // NULLs are distinct in a unique constraint, so accounts without an OIDC identity never collide.
  await db.schema.alterTable('accounts').addColumn('oidc_issuer', 'text').addColumn('oidc_subject', 'text').execute();
  await db.schema.alterTable('accounts').addUniqueConstraint('accounts_oidc_identity', ['oidc_issuer', 'oidc_subject']).execute();

  // Parity: Ret.HubInvite (one active invite per hub; revoking makes a new one).
  await db.schema
    .createTable('hub_invites')
    .addColumn('hub_invite_id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('hub_id', 'bigint', (c) => c.notNull().references('hubs.hub_id').onDelete('cascade'))
    .addColumn('invite_sid', 'text', (c) => c.notNull().unique())
    .addColumn('state', 'text', (c) => c.notNull().defaultTo('active').check(sql`state in ('active', 'revoked')`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('hub_invites_one_active').on('hub_invites').column('hub_id').unique().where(sql.ref('state'), '=', 'active').execute();

  // The entity the room last knew for a pin, so a restarted room can load it into its entity table.
  await db.schema.alterTable('room_objects').addColumn('entity', 'jsonb').execute();
  // `seq` is insertion order, not a key: created_at alone ties within a transaction.
  for (const table of ['room_objects', 'entity_states', 'entity_sub_states']) {
    await db.schema.alterTable(table).addColumn('seq', 'bigint', (c) => c.notNull().generatedAlwaysAsIdentity()).execute();
  }
}
