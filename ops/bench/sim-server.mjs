// The server side of `npm run bench:sim`: one node, rooms in memory,
// permissive rooms (a guest may spawn the `-media` cubes the bench throws),
// and limits wide enough for one client to make, grab and hand over hundreds
// of cubes at once. Prints `LISTEN <url>` when ready; for each line `REPORT`
// on stdin prints `REPORT <json>` with the node's simulation counters; shuts
// down in order on SIGTERM or when stdin closes (the bench went away).
//
//   node ops/bench/sim-server.mjs [--max-bodies 2000]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { MemoryStore } from '../../dist/src/adapters/memory-store.js';
import { loadConfig } from '../../dist/src/config.js';
import { startNode } from '../../dist/src/main.js';
import { LATENESS_BUCKETS_MS } from '../../dist/actors/hub/sims.js';

const { values: o } = parseArgs({ options: { 'max-bodies': { type: 'string', default: '2000' } } });
const SIMULATION = 'physics';
const dir = await mkdtemp(join(tmpdir(), 'hubmesh-bench-sim-'));
const config = loadConfig({
  HUBMESH_PORT: '0',
  HUBMESH_DATA_DIR: dir,
  HUBMESH_DRAIN_GRACE_MS: '0',
  HUBMESH_LOG_LEVEL: 'warn',
  HUBMESH_PERMISSIVE_ROOMS: 'true',
  HUBMESH_SIM_MAX_BODIES: o['max-bodies'],
  HUBMESH_MAX_ENTITIES_PER_SESSION: o['max-bodies'],
  // One client sends a first sync, a grab and a hand-over per cube, hundreds in a burst.
  HUBMESH_RATE_PER_SEC: '100000',
  HUBMESH_RATE_BURST: '100000',
});
// Logs go to stderr: stdout carries only the LISTEN and REPORT lines.
const node = await startNode(config, { store: new MemoryStore(), logger: pino({ level: 'warn' }, pino.destination(2)) });

const DROP_REASONS = ['outdated', 'not_owner', 'entity_limit', 'removed', 'invalid'];
function report() {
  const m = (name, labels) => node.metrics.get(name, labels);
  const sim = { simulation: SIMULATION };
  return {
    lateness: Object.fromEntries([...LATENESS_BUCKETS_MS.map(String), '+Inf'].map((le) => [le, m('sim_tick_lateness_ms', { ...sim, le })])),
    ticks: m('sim_ticks_total', sim),
    skipped: m('sim_ticks_skipped_total', sim),
    overBudget: m('sim_over_budget_total', sim),
    crashes: m('sim_crashes_total', sim),
    simDropped: Object.fromEntries(DROP_REASONS.map((reason) => [reason, m('sim_dropped_total', { reason })])),
    hubDropped: Object.fromEntries([...DROP_REASONS, 'template_not_permitted', 'um_first_sync', 'target_absent'].map((reason) => [reason, m('hub_dropped_total', { reason })])),
    slowConsumerDrops: m('ws_dropped_total', { reason: 'slow_consumer' }),
    framesIn: m('ws_frames_in_total'),
  };
}

let isClosing = false;
async function shutdown() {
  if (isClosing) return;
  isClosing = true;
  await node.close();
  await rm(dir, { recursive: true, force: true });
  process.exit(0);
}

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (line.trim() === 'REPORT') process.stdout.write(`REPORT ${JSON.stringify(report())}\n`);
});
lines.on('close', () => void shutdown());
process.once('SIGTERM', () => void shutdown());
process.stdout.write(`LISTEN ${node.url}\n`);
