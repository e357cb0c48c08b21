/**
 * Every migration, in order. Listed here rather than read from the directory
 * so the built server carries them and the order is reviewed, not inferred.
 */
import type { Migration } from 'kysely/migration';
import * as initial from './20261121_0001_initial.js';

export const migrations: Readonly<Record<string, Migration>> = {
  '20261121_0001_initial': initial,
};
