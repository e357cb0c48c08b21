/**
 * The initial schema (parity section 5, in our shape). Forward-only: never
 * edit this file once merged; add a new migration instead. Kept to what
 * PostgreSQL 15 supports, since PGlite runs a newer PostgreSQL.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('accounts')
    .addColumn('account_id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('email', 'text', (c) => c.unique())
    .addColumn('display_name', 'text')
    .addColumn('is_admin', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('state', 'text', (c) => c.notNull().defaultTo('enabled').check(sql`state in ('enabled', 'disabled')`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('hubs')
    .addColumn('hub_id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('hub_sid', 'text', (c) => c.notNull().unique())
    .addColumn('name', 'text', (c) => c.notNull().check(sql`char_length(name) between 1 and 64`))
    .addColumn('slug', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.check(sql`char_length(description) <= 64000`))
    .addColumn('user_data', 'jsonb')
    .addColumn('room_size', 'integer', (c) => c.notNull().check(sql`room_size > 0`))
    .addColumn('member_permissions', 'integer', (c) => c.notNull().check(sql`member_permissions between 0 and 255`))
    .addColumn('entry_mode', 'text', (c) => c.notNull().defaultTo('allow').check(sql`entry_mode in ('allow', 'invite', 'deny')`))
    .addColumn('allow_promotion', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('creator_assignment_token', 'text')
    .addColumn('embed_token', 'text', (c) => c.notNull())
    .addColumn('embedded', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('created_by_account_id', 'bigint', (c) => c.references('accounts.account_id').onDelete('set null'))
    .addColumn('last_active_at', 'timestamptz')
    .addColumn('max_occupant_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('spawned_object_types', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('hubs_public_idx').on('hubs').column('allow_promotion').where(sql.ref('allow_promotion'), '=', true).execute();

  await db.schema
    .createTable('hub_roles')
    .addColumn('hub_id', 'bigint', (c) => c.notNull().references('hubs.hub_id').onDelete('cascade'))
    .addColumn('account_id', 'bigint', (c) => c.notNull().references('accounts.account_id').onDelete('cascade'))
    .addColumn('role', 'text', (c) => c.notNull().check(sql`role in ('owner', 'moderator')`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('hub_roles_pk', ['hub_id', 'account_id'])
    .execute();

  await db.schema
    .createTable('bans')
    .addColumn('ban_id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('hub_id', 'bigint', (c) => c.notNull().references('hubs.hub_id').onDelete('cascade'))
    .addColumn('session_id', 'text')
    .addColumn('account_id', 'bigint', (c) => c.references('accounts.account_id').onDelete('cascade'))
    .addColumn('reason', 'text')
    .addColumn('banned_by_account_id', 'bigint', (c) => c.references('accounts.account_id').onDelete('set null'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz')
    .addCheckConstraint('bans_target', sql`session_id is not null or account_id is not null`)
    .execute();
  await db.schema.createIndex('bans_hub_idx').on('bans').columns(['hub_id', 'session_id']).execute();

  // Pinned objects of the A-Frame client (parity 5.2): one glTF node per NAF networkId.
  await db.schema
    .createTable('room_objects')
    .addColumn('hub_id', 'bigint', (c) => c.notNull().references('hubs.hub_id').onDelete('cascade'))
    .addColumn('object_id', 'text', (c) => c.notNull())
    .addColumn('gltf_node', 'jsonb', (c) => c.notNull())
    .addColumn('account_id', 'bigint', (c) => c.references('accounts.account_id').onDelete('set null'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('room_objects_pk', ['hub_id', 'object_id'])
    .execute();

  // Saved entity state of the bitECS client (parity 5.3).
  await db.schema
    .createTable('entity_states')
    .addColumn('hub_id', 'bigint', (c) => c.notNull().references('hubs.hub_id').onDelete('cascade'))
    .addColumn('nid', 'text', (c) => c.notNull())
    .addColumn('create_message', 'jsonb', (c) => c.notNull())
    .addColumn('account_id', 'bigint', (c) => c.references('accounts.account_id').onDelete('set null'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('entity_states_pk', ['hub_id', 'nid'])
    .execute();
  await db.schema
    .createTable('entity_sub_states')
    .addColumn('hub_id', 'bigint', (c) => c.notNull())
    .addColumn('nid', 'text', (c) => c.notNull())
    .addColumn('root_nid', 'text', (c) => c.notNull())
    .addColumn('update_message', 'jsonb', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('entity_sub_states_pk', ['hub_id', 'nid'])
    .addForeignKeyConstraint('entity_sub_states_root_fk', ['hub_id', 'root_nid'], 'entity_states', ['hub_id', 'nid'], (c) => c.onDelete('cascade'))
    .execute();

  await db.schema
    .createTable('chat_messages')
    .addColumn('chat_message_id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('hub_id', 'bigint', (c) => c.notNull().references('hubs.hub_id').onDelete('cascade'))
    .addColumn('session_id', 'text', (c) => c.notNull())
    .addColumn('account_id', 'bigint', (c) => c.references('accounts.account_id').onDelete('set null'))
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('body', 'jsonb')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('chat_messages_hub_idx').on('chat_messages').columns(['hub_id', 'chat_message_id']).execute();

  // Uploads (parity 5.4). The access token is never stored, only a hash to check it against.
  await db.schema
    .createTable('owned_files')
    .addColumn('file_id', 'uuid', (c) => c.primaryKey())
    .addColumn('token_hash', 'text', (c) => c.notNull())
    .addColumn('promotion_token_hash', 'text')
    .addColumn('content_type', 'text', (c) => c.notNull())
    .addColumn('content_length', 'bigint', (c) => c.notNull())
    .addColumn('account_id', 'bigint', (c) => c.references('accounts.account_id').onDelete('set null'))
    .addColumn('state', 'text', (c) => c.notNull().defaultTo('expiring').check(sql`state in ('expiring', 'active', 'inactive')`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('promoted_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('owned_files_expiring_idx').on('owned_files').columns(['state', 'created_at']).execute();

  await db.schema
    .createTable('audit_log')
    .addColumn('audit_id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('hub_id', 'bigint', (c) => c.references('hubs.hub_id').onDelete('set null'))
    .addColumn('actor_account_id', 'bigint', (c) => c.references('accounts.account_id').onDelete('set null'))
    .addColumn('actor_session_id', 'text')
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('target', 'text')
    .addColumn('details', 'jsonb')
    .execute();
  await db.schema.createIndex('audit_log_hub_idx').on('audit_log').columns(['hub_id', 'at']).execute();
}
