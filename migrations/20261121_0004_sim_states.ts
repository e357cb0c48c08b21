/**
 * Snapshots of a room's server-side simulations (src/sim), one per room and
 * simulation name, replaced as the simulation runs, so a room's new home (or
 * the room started again) resumes where it was. Forward-only; PostgreSQL 15
 * compatible, as 0001.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('sim_states')
    .addColumn('hub_id', 'bigint', (c) => c.notNull().references('hubs.hub_id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull().check(sql`char_length(name) between 1 and 64`))
    .addColumn('state', 'jsonb', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('sim_states_pk', ['hub_id', 'name'])
    .execute();
}
