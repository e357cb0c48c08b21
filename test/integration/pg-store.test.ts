/**
 * The SQL store on a real PostgreSQL server this test starts: the same
 * contract as PGlite and MemoryStore, one fresh database per test.
 */
import { afterAll, beforeAll, describe, onTestFinished } from 'vitest';
import pg from 'pg';
import { openPgStore } from '../../src/adapters/pg-store.js';
import { storeContract } from '../contract/store.js';
import { findBinary, needsBinary, startPostgres, type RunningPostgres } from '../support/services.js';

const initdb = findBinary('initdb');
const pgCtl = findBinary('pg_ctl');

if (needsBinary(initdb, 'initdb', 'apt-get install postgresql') && needsBinary(pgCtl, 'pg_ctl', 'apt-get install postgresql')) {
  describe('PostgreSQL store', () => {
    let server: RunningPostgres;
    let n = 0;
    beforeAll(async () => {
      server = await startPostgres({ initdb, pgCtl });
    }, 60_000);
    afterAll(() => server?.stop());

    storeContract('PostgreSQL', async () => {
      const database = `contract_${process.pid}_${n++}`;
      const admin = new pg.Client({ connectionString: server.url });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${database}`);
      await admin.end();
      const store = await openPgStore({ url: server.urlFor(database), poolSize: 2 });
      onTestFinished(() => store.close());
      return store;
    });
  });
}
