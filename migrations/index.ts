/**
 * Every migration, in order. Listed here rather than read from the directory
 * so the built server carries them and the order is reviewed, not inferred.
 */
import type { Migration } from 'kysely/migration';
import * as initial from './20261121_0001_initial.js';
import * as accountsRolesPins from './20261121_0002_accounts_roles_pins.js';
import * as hubHost from './20261121_0003_hub_host.js';
import * as simStates from './20261121_0004_sim_states.js';

export const migrations: Readonly<Record<string, Migration>> = {
  '20261121_0001_initial': initial,
  '20261121_0002_accounts_roles_pins': accountsRolesPins,
  '20261121_0003_hub_host': hubHost,
  '20261121_0004_sim_states': simStates,
};
