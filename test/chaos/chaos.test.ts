/**
 * The chaos suite: three `hubmesh serve` processes on a real nats-server and
 * PostgreSQL, rooms of official phoenix.js clients, and while traffic flows:
 * a node SIGKILLed, nats-server restarted, PostgreSQL stopped and restarted,
 * a node SIGSTOPped past the heartbeat timeout. After each fault every check
 * of chaos-checks.ts must pass again; each fault is reported with its
 * recovery time (stdout and test-results/chaos-report.json).
 *
 * `npm test` runs the short version (60 clients, every fault once);
 * `npm run chaos` the long one (CHAOS_MODE=long: 300 clients, every fault
 * twice). CHAOS_CLIENTS, CHAOS_ROOMS, CHAOS_ROUNDS and CHAOS_SEED change
 * either.
 */
import { describe, expect, it } from 'vitest';
import { findBinary, needsBinary } from '../support/services.js';
import { formatReport, writeReport } from './chaos-report.js';
import { runChaos, type ChaosSettings } from './chaos-scenario.js';

const natsServer = findBinary('nats-server');
const initdb = findBinary('initdb');
const pgCtl = findBinary('pg_ctl');

const isLong = process.env['CHAOS_MODE'] === 'long';
const numberFrom = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 1) throw new TypeError(`${name} must be a positive integer`);
  return value;
};
const rooms = numberFrom('CHAOS_ROOMS', isLong ? 10 : 4);
const rounds = numberFrom('CHAOS_ROUNDS', isLong ? 2 : 1);
const settings: ChaosSettings = {
  nodes: 3,
  rooms,
  clientsPerRoom: Math.ceil(numberFrom('CHAOS_CLIENTS', isLong ? 300 : 60) / rooms),
  rounds,
  // Short enough to keep the suite quick, long enough that a busy two-core machine does not take a live node for dead.
  nodeDownMs: 2000,
  leaseTtlMs: 3000,
  recoveryTimeoutMs: isLong ? 120_000 : 45_000,
  traffic: {
    tickMs: 100,
    poseEveryMs: isLong ? 2000 : 1000,
    grabsPerSec: isLong ? 20 : 8,
    bouncesPerSec: isLong ? 4 : 2,
    pinEveryMs: isLong ? 3000 : 2000,
    toysPerRoom: 3,
    seed: numberFrom('CHAOS_SEED', 1),
  },
};
const FAULTS_PER_ROUND = 4;
const SETUP_MS = 120_000;

if (needsBinary(natsServer, 'nats-server', 'apt-get install nats-server') && needsBinary(initdb, 'initdb', 'apt-get install postgresql') && needsBinary(pgCtl, 'pg_ctl', 'apt-get install postgresql')) {
  describe('chaos', () => {
    it(
      `recovers from every fault with ${settings.rooms * settings.clientsPerRoom} clients connected`,
      async () => {
        const report = await runChaos(settings, { natsServer, initdb, pgCtl }, (line) => process.stdout.write(`${line}\n`));
        process.stdout.write(formatReport(report));
        await writeReport(report, 'test-results/chaos-report.json');
        expect(report.faults.filter((f) => !f.ok).map((f) => `${f.fault}: ${f.error ?? ''}`)).toEqual([]);
        expect(report.ok).toBe(true);
      },
      SETUP_MS + rounds * FAULTS_PER_ROUND * settings.recoveryTimeoutMs,
    );
  });
}
