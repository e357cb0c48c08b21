/**
 * The faults of the chaos suite. Each one breaks something while traffic
 * flows, waits until the cluster has visibly noticed (so the fault really
 * happened, for as long as it takes to matter), then undoes it the way an
 * operator or a service manager would. The scenario then waits for the
 * cluster to recover by itself.
 */
import { eventually, waitFor } from '../support/wait.js';
import type { ChaosClient } from './chaos-clients.js';
import type { ChaosCluster } from './chaos-cluster.js';
import { checkPresence } from './chaos-checks.js';

export interface FaultContext {
  readonly cluster: ChaosCluster;
  readonly clients: readonly ChaosClient[];
  /** How long waiting for the cluster to notice may take. */
  readonly noticeTimeoutMs: number;
  /** Pins and uploads the cluster has refused so far. */
  refusals(): number;
}

/** Moments of a fault, in ms after it was injected. */
export type Marks = Record<string, number>;

export interface Fault {
  readonly name: string;
  /** Breaks, waits for the cluster to notice, repairs; resolves with what happened when. */
  run(ctx: FaultContext): Promise<Marks>;
}

const since = (t0: number) => Date.now() - t0;

/** Resolves once every running node's /readyz says `what` is down: the outage is felt everywhere. */
async function everyNodeSays(ctx: FaultContext, what: 'bus' | 'store'): Promise<void> {
  const probe = async () => {
    const answers = await Promise.all(ctx.cluster.upNodes().map((node) => ctx.cluster.readiness(node).catch(() => undefined)));
    return answers.every((ready) => ready?.checks?.[what] === 'down');
  };
  await eventually(probe, (isDown) => isDown, ctx.noticeTimeoutMs, `every node to report the ${what} down`);
}

/** SIGKILL a node; once the others have let its members go, start it again on its port. */
export function killNode(node: number): Fault {
  return {
    name: `SIGKILL node ${node}, then restart it`,
    async run(ctx) {
      const t0 = Date.now();
      await ctx.cluster.kill(node);
      // Its clients lose their sockets at once; then the others' presence must let them go.
      const orphans = ctx.clients.filter((c) => c.spec.node === node);
      await waitFor(() => orphans.every((c) => !c.isJoined), ctx.noticeTimeoutMs, `the clients of node ${node} to see their sockets close`);
      await waitFor(() => checkPresence(ctx.clients).ok, ctx.noticeTimeoutMs, `the members of node ${node} to leave everywhere`);
      const membersGone = since(t0);
      await ctx.cluster.restart(node);
      return { 'members gone': membersGone, restarted: since(t0) };
    },
  };
}

/** Kills nats-server; once every node reports the bus down, starts it again with its store. */
export function restartNats(): Fault {
  return {
    name: 'restart nats-server',
    async run(ctx) {
      const t0 = Date.now();
      await ctx.cluster.nats.kill();
      await everyNodeSays(ctx, 'bus');
      const noticed = since(t0);
      await ctx.cluster.nats.resume();
      return { 'bus down seen': noticed, 'nats back': since(t0) };
    },
  };
}

/** Stops PostgreSQL as a crash would; once every node reports the store down, starts it again. */
export function restartPostgres(): Fault {
  return {
    name: 'stop and restart PostgreSQL',
    async run(ctx) {
      const t0 = Date.now();
      const refusedBefore = ctx.refusals();
      await ctx.cluster.postgres.pause();
      await everyNodeSays(ctx, 'store');
      const noticed = since(t0);
      // Down until the pins and uploads flowing meanwhile have felt it.
      await waitFor(() => ctx.refusals() > refusedBefore, ctx.noticeTimeoutMs, 'a pin or an upload to be refused');
      const refused = since(t0);
      await ctx.cluster.postgres.resume();
      return { 'store down seen': noticed, 'first refusal': refused, 'postgres back': since(t0) };
    },
  };
}

/** SIGSTOP a node past HUBMESH_NODE_DOWN_MS: the others take it for dead; then SIGCONT. */
export function pauseNode(node: number): Fault {
  return {
    name: `SIGSTOP node ${node} past the heartbeat timeout, then SIGCONT`,
    async run(ctx) {
      const t0 = Date.now();
      ctx.cluster.pause(node);
      const frozen = new Set(ctx.clients.filter((c) => c.spec.node === node && c.sessionId !== undefined).map((c) => c.sessionId!));
      const others = ctx.clients.filter((c) => c.spec.node !== node && c.isJoined);
      try {
        await waitFor(() => others.every((c) => c.presentSessions().every((s) => !frozen.has(s))), ctx.noticeTimeoutMs, `node ${node} to be taken for dead`);
      } catch (err) {
        ctx.cluster.resume(node);
        throw err;
      }
      const takenForDead = since(t0);
      ctx.cluster.resume(node);
      return { 'taken for dead': takenForDead, resumed: since(t0) };
    },
  };
}

/** Every fault once, on nodes taken in turn, `rounds` times over. */
export function faultPlan(nodes: number, rounds: number): Fault[] {
  const plan: Fault[] = [];
  for (let round = 0; round < rounds; round++) {
    plan.push(killNode((2 + round) % nodes), restartNats(), restartPostgres(), pauseNode((1 + round) % nodes));
  }
  return plan;
}
