/**
 * What must hold again after every fault of the chaos suite:
 * - every running node says it is ready (/readyz: bus and database up);
 * - no client stuck: every client is joined again (phoenix.js rejoins after
 *   a close or a channel error, the server's way of telling it to);
 * - presence: every client lists exactly the joined clients of its room, so
 *   every node's view is right (each node feeds its own clients' Presence);
 * - owners: every client of a room sees the same entities with the same
 *   owners, each owner in the room or the unclaimed `scene`;
 * - pins and uploads acknowledged before the fault: in every running node's
 *   objects.gltf, and readable with their token;
 * - memory: each running node's RSS within MEMORY_SLACK of its baseline.
 */
import { UNCLAIMED_OWNER } from '../../src/core/entity-lifecycle.js';
import type { ChaosClient } from './chaos-clients.js';
import type { ChaosCluster } from './chaos-cluster.js';
import type { AckedPin, AckedUpload } from './chaos-traffic.js';

export interface CheckResult {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

const MiB = 1024 * 1024;
/**
 * How far above its baseline a node's RSS may stay. V8 keeps heap it grew
 * into and hands it back lazily, and reconnect storms grow it, so the bound
 * is generous: it catches a leak per client or per fault, not noise.
 */
export const MEMORY_SLACK = { bytes: 64 * MiB, ratio: 0.5 } as const;
export const memoryLimit = (baseline: number) => baseline + Math.max(MEMORY_SLACK.bytes, baseline * MEMORY_SLACK.ratio);

const sample = (items: readonly string[]) => items.slice(0, 3).join('; ') + (items.length > 3 ? `; and ${items.length - 3} more` : '');

function byRoom(clients: readonly ChaosClient[]): Map<number, ChaosClient[]> {
  const rooms = new Map<number, ChaosClient[]>();
  for (const c of clients) rooms.set(c.spec.room, [...(rooms.get(c.spec.room) ?? []), c]);
  return rooms;
}

export function checkJoined(clients: readonly ChaosClient[]): CheckResult {
  const stuck = clients.filter((c) => !c.isJoined).map((c) => `client ${c.spec.index} (node ${c.spec.node}, channel ${c.channel.state})`);
  const rejoins = clients.reduce((n, c) => n + c.joins - 1, 0);
  return { name: 'clients joined', ok: stuck.length === 0, detail: stuck.length === 0 ? `all ${clients.length} joined (${rejoins} rejoins so far)` : `not joined: ${sample(stuck)}` };
}

export function checkPresence(clients: readonly ChaosClient[]): CheckResult {
  const wrong: string[] = [];
  for (const [room, members] of byRoom(clients)) {
    const expected = members.flatMap((c) => (c.isJoined ? [c.sessionId!] : [])).sort().join(',');
    for (const c of members) {
      if (!c.isJoined) continue;
      const seen = c.presentSessions().sort();
      if (seen.join(',') === expected) continue;
      const want = new Set(expected.split(','));
      const extra = seen.filter((s) => !want.has(s));
      const missing = [...want].filter((s) => !seen.includes(s));
      wrong.push(`room ${room}: client ${c.spec.index} on node ${c.spec.node} lists ${seen.length} of ${want.size}${extra.length > 0 ? `, extra ${extra.join(' ')}` : ''}${missing.length > 0 ? `, missing ${missing.join(' ')}` : ''}`);
    }
  }
  return { name: 'presence', ok: wrong.length === 0, detail: wrong.length === 0 ? `${clients.length} clients each list exactly their room's members` : sample(wrong) };
}

/** The first entity two clients see differently, for the report. */
function firstDifference(a: ChaosClient, b: ChaosClient): string {
  for (const id of new Set([...a.entities.keys(), ...b.entities.keys()])) {
    const [x, y] = [a.entities.get(id), b.entities.get(id)];
    if (x?.owner !== y?.owner) return `${id} owned by ${x ? `${x.owner} since ${x.lastOwnerTime}` : '(none)'} / ${y ? `${y.owner} since ${y.lastOwnerTime}` : '(none)'}`;
  }
  return 'none';
}
const describeClient = (c: ChaosClient) => `client ${c.spec.index} on node ${c.spec.node} (session ${c.sessionId}, ${c.joins} joins)`;

export function checkOwners(clients: readonly ChaosClient[], toysPerRoom: number): CheckResult {
  const wrong: string[] = [];
  let entities = 0;
  for (const [room, members] of byRoom(clients)) {
    const joined = members.filter((c) => c.isJoined);
    const present = new Set(joined.map((c) => c.sessionId!));
    const first = joined[0];
    if (!first) continue;
    const view = (c: ChaosClient) => [...c.entities].map(([id, e]) => `${id}=${e.owner}`).sort().join(',');
    const reference = view(first);
    entities += first.entities.size;
    const toys = [...first.entities.keys()].filter((id) => id.startsWith('toy-')).length;
    if (toys !== toysPerRoom) wrong.push(`room ${room}: client ${first.spec.index} sees ${toys} of ${toysPerRoom} toys`);
    for (const [id, e] of first.entities) if (e.owner !== UNCLAIMED_OWNER && !present.has(e.owner)) wrong.push(`room ${room}: ${id} owned by ${e.owner}, who is not in the room`);
    for (const c of joined.slice(1)) if (view(c) !== reference) wrong.push(`room ${room}: ${describeClient(c)} disagrees with ${describeClient(first)}: ${firstDifference(first, c)}`);
  }
  return { name: 'entity owners', ok: wrong.length === 0, detail: wrong.length === 0 ? `${entities} entities, one owner each, the same at every client` : sample(wrong) };
}

export async function checkPins(cluster: ChaosCluster, pins: readonly AckedPin[]): Promise<CheckResult> {
  const missing: string[] = [];
  const sids = [...new Set(pins.map((p) => p.sid))];
  const nodes = cluster.upNodes();
  for (const node of nodes) {
    for (const sid of sids) {
      const res = await fetch(`${cluster.url(node)}/${sid}/objects.gltf`, { signal: AbortSignal.timeout(5000) });
      const names = new Set(res.ok ? ((await res.json()) as { nodes: { name: string }[] }).nodes.map((n) => n.name) : []);
      for (const pin of pins) if (pin.sid === sid && !names.has(pin.objectId)) missing.push(`${pin.objectId} of ${sid} on node ${node} (${res.status})`);
    }
  }
  return { name: 'pins', ok: missing.length === 0, detail: missing.length === 0 ? `${pins.length} pins in objects.gltf on ${nodes.length} nodes` : `missing: ${sample(missing)}` };
}

export async function checkUploads(cluster: ChaosCluster, uploads: readonly AckedUpload[]): Promise<CheckResult> {
  const nodes = cluster.upNodes();
  const unreadable: string[] = [];
  await Promise.all(
    uploads.map(async (u, i) => {
      const node = nodes[i % nodes.length]!;
      const res = await fetch(`${cluster.url(node)}/files/${u.fileId}?token=${u.accessToken}`, { signal: AbortSignal.timeout(5000) });
      const body = await res.text();
      if (res.status !== 200 || body !== u.body) unreadable.push(`${u.fileId} on node ${node} (${res.status})`);
    }),
  );
  return { name: 'uploads', ok: unreadable.length === 0, detail: unreadable.length === 0 ? `${uploads.length} uploads readable` : `unreadable: ${sample(unreadable)}` };
}

/** Every running node ready again: on the bus and with its database (/readyz). */
export async function checkReady(cluster: ChaosCluster): Promise<CheckResult> {
  const nodes = cluster.upNodes();
  const answers = await Promise.all(nodes.map((node) => cluster.readiness(node).catch((err: unknown) => ({ status: String(err) }))));
  const notReady = answers.flatMap((a, i) => (a.status === 'ready' ? [] : [`node ${nodes[i]}: ${JSON.stringify(a)}`]));
  return { name: 'nodes ready', ok: notReady.length === 0, detail: notReady.length === 0 ? `${nodes.length} nodes ready` : sample(notReady) };
}

export async function checkMemory(cluster: ChaosCluster, baselines: ReadonlyMap<number, number>): Promise<CheckResult> {
  const parts: string[] = [];
  let ok = true;
  for (const node of cluster.upNodes()) {
    const baseline = baselines.get(node);
    if (baseline === undefined) continue;
    const rss = await cluster.rssBytes(node);
    const limit = memoryLimit(baseline);
    if (rss > limit) ok = false;
    parts.push(`node ${node} ${(baseline / MiB).toFixed(0)}->${(rss / MiB).toFixed(0)} MiB (limit ${(limit / MiB).toFixed(0)})`);
  }
  return { name: 'memory', ok, detail: parts.join(', ') };
}

export interface CheckContext {
  readonly cluster: ChaosCluster;
  readonly clients: readonly ChaosClient[];
  readonly toysPerRoom: number;
  readonly pins: readonly AckedPin[];
  readonly uploads: readonly AckedUpload[];
  readonly baselines: ReadonlyMap<number, number>;
}

/** Runs every check; the heavier ones over HTTP only once the nodes are ready and the clients agree, so that polling stays cheap. */
export async function runChecks(ctx: CheckContext): Promise<CheckResult[]> {
  const ready = await checkReady(ctx.cluster);
  const local = [ready, checkJoined(ctx.clients), checkPresence(ctx.clients), checkOwners(ctx.clients, ctx.toysPerRoom)];
  if (local.some((r) => !r.ok)) return local;
  return [...local, await checkPins(ctx.cluster, ctx.pins), await checkUploads(ctx.cluster, ctx.uploads), await checkMemory(ctx.cluster, ctx.baselines)];
}
