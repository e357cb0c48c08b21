/**
 * The chaos scenario, for the short run inside `npm test` and the long one of
 * `npm run chaos`: a cluster, rooms full of phoenix.js clients and traffic;
 * then, fault after fault, break something, repair it, and time how long the
 * cluster takes until every check of chaos-checks.ts passes again.
 *
 * Recovery time runs from the fault's injection to the first moment all
 * checks pass. Grabs and bounces (clients leaving and coming back) stop
 * while the checks are polled, as owners and members cannot settle while
 * they move, but only once every client is back in its room; poses and pins
 * flow throughout.
 */
import { createHub } from '../support/node.js';
import { eventually, waitFor } from '../support/wait.js';
import { joinSwarm, type ChaosClient } from './chaos-clients.js';
import { ChaosCluster, type ClusterOptions } from './chaos-cluster.js';
import { checkJoined, runChecks, type CheckResult } from './chaos-checks.js';
import { faultPlan, type Fault, type Marks } from './chaos-faults.js';
import { Traffic, type TrafficOptions } from './chaos-traffic.js';

export interface ChaosSettings {
  readonly nodes: number;
  readonly rooms: number;
  /** Clients per room, its pinner included; they are spread over every node. */
  readonly clientsPerRoom: number;
  /** Each fault this many times. */
  readonly rounds: number;
  readonly nodeDownMs: number;
  readonly leaseTtlMs: number;
  /** The longest a recovery may take before the run fails. */
  readonly recoveryTimeoutMs: number;
  readonly traffic: TrafficOptions;
}

export interface FaultReport {
  readonly fault: string;
  readonly ok: boolean;
  /** From injection until every check passed (or the run gave up). */
  readonly recoveryMs: number;
  readonly marks: Marks;
  readonly checks: readonly CheckResult[];
  /** Pins and uploads acknowledged before the fault. */
  readonly pinsBefore: number;
  readonly uploadsBefore: number;
  readonly error?: string;
}

export interface ChaosReport {
  readonly settings: ChaosSettings;
  readonly clients: number;
  readonly baselineRssMiB: Record<string, number>;
  readonly faults: FaultReport[];
  readonly traffic: Traffic['counts'] & { readonly pinsAcked: number; readonly uploadsAcked: number };
  readonly ok: boolean;
}

/** HUBMESH_MAX_ROOM_SIZE's default. Rooms get room for their clients twice over: a rejoin may come before the node-down that frees the old seat. */
const MAX_ROOM_SIZE = 50;

interface Run {
  readonly settings: ChaosSettings;
  readonly cluster: ChaosCluster;
  readonly clients: readonly ChaosClient[];
  readonly traffic: Traffic;
  readonly baselines: Map<number, number>;
}

/** Builds the cluster and the rooms, joins everyone, starts the traffic and takes each node's memory baseline. */
async function setUp(settings: ChaosSettings, binaries: ClusterOptions['binaries']): Promise<Run> {
  const cluster = await ChaosCluster.start({ nodes: settings.nodes, nodeDownMs: settings.nodeDownMs, leaseTtlMs: settings.leaseTtlMs, binaries });
  const admin = await cluster.createAdmin();
  const urls = Array.from({ length: cluster.size }, (_, i) => cluster.url(i));
  const rooms = await Promise.all(Array.from({ length: settings.rooms }, async (_, r) => ({ sid: await createHub({ url: urls[r % urls.length]! }, `Chaos ${r}`, { room_size: Math.min(MAX_ROOM_SIZE, 2 * settings.clientsPerRoom) }), pinnerToken: admin.token })));
  const clients = await joinSwarm(rooms, settings.clientsPerRoom, urls, settings.recoveryTimeoutMs);
  const upNodes = () => cluster.upNodes().map((index) => ({ index, url: cluster.url(index) }));
  const traffic = new Traffic(clients, upNodes, settings.traffic);
  traffic.spawnToys();
  await waitFor(() => clients.every((c) => [...c.entities.keys()].filter((id) => id.startsWith('toy-')).length === settings.traffic.toysPerRoom), settings.recoveryTimeoutMs, 'every client to see its toys');
  traffic.start();
  // Warm up: every room has pinned something before the memory baseline is taken.
  await waitFor(() => new Set(traffic.pins.map((p) => p.sid)).size === settings.rooms, settings.recoveryTimeoutMs, 'a pin in every room');
  const baselines = new Map<number, number>();
  for (const node of cluster.upNodes()) baselines.set(node, await cluster.rssBytes(node));
  return { settings, cluster, clients, traffic, baselines };
}

/** Injects and repairs one fault, then polls the checks until all pass; never throws. */
async function runFault(run: Run, fault: Fault): Promise<FaultReport> {
  const { cluster, clients, traffic, settings } = run;
  const pins = [...traffic.pins];
  const uploads = [...traffic.uploads];
  const t0 = Date.now();
  let marks: Marks = {};
  let last: CheckResult[] = [];
  try {
    const refusals = () => traffic.counts.pinsRefused + traffic.counts.uploadsRefused;
    marks = await fault.run({ cluster, clients, noticeTimeoutMs: settings.recoveryTimeoutMs, refusals });
    await waitFor(() => checkJoined(clients).ok, settings.recoveryTimeoutMs - (Date.now() - t0), 'every client to rejoin');
    marks['all rejoined'] = Date.now() - t0;
    traffic.isChurning = false;
    const ctx = { cluster, clients, toysPerRoom: settings.traffic.toysPerRoom, pins, uploads, baselines: run.baselines };
    const left = settings.recoveryTimeoutMs - (Date.now() - t0);
    const probe = async () => (last = await runChecks(ctx));
    await eventually(probe, (results) => results.every((r) => r.ok), Math.max(left, 1000), 'every check to pass');
    return { fault: fault.name, ok: true, recoveryMs: Date.now() - t0, marks, checks: last, pinsBefore: pins.length, uploadsBefore: uploads.length };
  } catch (err) {
    const error = `${(err as Error).message}\n${cluster.outputTail()}`;
    return { fault: fault.name, ok: false, recoveryMs: Date.now() - t0, marks, checks: last, pinsBefore: pins.length, uploadsBefore: uploads.length, error };
  } finally {
    traffic.isChurning = true;
  }
}

/**
 * Runs the whole scenario and reports every fault. Stops at the first fault
 * the cluster does not recover from: what comes after would say nothing.
 * Processes are stopped by the test's teardown, failed or not.
 */
export async function runChaos(settings: ChaosSettings, binaries: ClusterOptions['binaries'], progress: (line: string) => void): Promise<ChaosReport> {
  const run = await setUp(settings, binaries);
  progress(`chaos: ${run.clients.length} clients in ${settings.rooms} rooms on ${settings.nodes} nodes; baseline RSS ${[...run.baselines.values()].map((b) => `${(b / 2 ** 20).toFixed(0)} MiB`).join(', ')}`);
  const faults: FaultReport[] = [];
  try {
    for (const fault of faultPlan(settings.nodes, settings.rounds)) {
      const report = await runFault(run, fault);
      faults.push(report);
      progress(`${report.ok ? 'recovered' : 'FAILED'}: ${report.fault} in ${report.recoveryMs} ms`);
      if (!report.ok) break;
    }
  } finally {
    await run.traffic.stop();
  }
  const { traffic } = run;
  return {
    settings,
    clients: run.clients.length,
    baselineRssMiB: Object.fromEntries([...run.baselines].map(([node, b]) => [`node ${node}`, Math.round(b / 2 ** 20)])),
    faults,
    traffic: { ...traffic.counts, pinsAcked: traffic.pins.length, uploadsAcked: traffic.uploads.length },
    ok: faults.length === faultPlan(settings.nodes, settings.rounds).length && faults.every((f) => f.ok),
  };
}
