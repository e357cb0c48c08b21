/**
 * Which nodes of the cluster are alive. Each node publishes a heartbeat on
 * `mesh.hb` every fifth of `nodeDownMs`; a node not heard from for
 * `nodeDownMs` (killed, cut off, paused) is declared down once, and its
 * members leave every room (the registry does that). The watch also carries
 * cluster-wide disconnects (kick) on `mesh.disconnect`. A heartbeat carries
 * the member counts of the rooms live on its node, so any node can rank
 * public rooms by how full they are across the cluster (`order=hot`).
 *
 * Close cascade: `close()` stops both timers and both subscriptions.
 */
import type { Logger } from 'pino';
import { decodeJson, encodeJson } from '../src/core/bus-json.js';
import { isPayload } from '../src/protocol/codec.js';
import type { Bus, BusSubscription } from '../src/ports/bus.js';
import type { Clock, Timer } from '../src/ports/clock.js';
import type { Metrics } from '../src/ports/metrics.js';

export interface NodeWatchDeps {
  readonly bus: Bus;
  readonly nodeId: string;
  readonly clock: Clock;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly nodeDownMs: number;
  /** A node stopped heart-beating. */
  nodeDown(nodeId: string): void;
  /** A node taken for dead was heard again (a partition healed). */
  nodeBack(nodeId: string): void;
  /** Some node asked every node to disconnect this session's sockets. */
  disconnect(sessionId: string): void;
  /** Member counts of the rooms live on this node, by sid. */
  roomCounts(): Record<string, number>;
}

interface Beat {
  readonly n: string;
  readonly c: Record<string, number>;
}

function decodeBeat(bytes: Uint8Array): Beat | null {
  const v = decodeJson(bytes);
  return isPayload(v) && typeof v['n'] === 'string' && typeof v['c'] === 'object' && v['c'] !== null ? (v as unknown as Beat) : null;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class NodeWatch {
  readonly #deps: NodeWatchDeps;
  readonly #lastHeard = new Map<string, number>();
  /** node -> the room counts of its last heartbeat. */
  readonly #counts = new Map<string, Record<string, number>>();
  /** Nodes declared down; hearing one again means it was cut off, not dead. */
  readonly #down = new Set<string>();
  readonly #timers: Timer[] = [];
  readonly #subs: BusSubscription[] = [];
  #closed = false;

  private constructor(deps: NodeWatchDeps) {
    this.#deps = deps;
  }

  static async start(deps: NodeWatchDeps): Promise<NodeWatch> {
    const watch = new NodeWatch(deps);
    await watch.#start();
    return watch;
  }

  async #start(): Promise<void> {
    const { bus, clock, nodeDownMs } = this.#deps;
    this.#subs.push(
      await bus.subscribe('mesh.hb', (msg) => {
        const beat = decodeBeat(msg.data);
        if (!beat) return;
        this.#counts.set(beat.n, beat.c);
        this.saw(beat.n);
      }),
    );
    this.#subs.push(await bus.subscribe('mesh.disconnect', (msg) => this.#deps.disconnect(decoder.decode(msg.data))));
    const beatMs = Math.max(50, Math.floor(nodeDownMs / 5));
    this.#beat();
    this.#timers.push(clock.setInterval(() => this.#beat(), beatMs));
    this.#timers.push(clock.setInterval(() => this.#check(), beatMs));
  }

  /** Nodes heard from within the last `nodeDownMs`, this one not included. */
  get liveNodes(): string[] {
    return [...this.#lastHeard.keys()];
  }

  /**
   * Member counts of rooms across the cluster, as of each node's last
   * heartbeat, and this node's now. Every node holding a room sees all its
   * members, so the largest count of a room is its count.
   */
  clusterCounts(): Map<string, number> {
    const out = new Map<string, number>();
    for (const counts of [...this.#counts.values(), this.#deps.roomCounts()]) {
      for (const [sid, n] of Object.entries(counts)) if (typeof n === 'number' && n > (out.get(sid) ?? -1)) out.set(sid, n);
    }
    return out;
  }

  /** Asks every node, this one included by the caller, to disconnect a session. */
  async disconnectEverywhere(sessionId: string): Promise<void> {
    await this.#deps.bus.publish('mesh.disconnect', encoder.encode(sessionId));
  }

  /**
   * Node `nodeId` showed signs of life (a heartbeat, or anything it published
   * in a room). A node new to us gets our heartbeat at once, so nodes that
   * start together learn of each other without waiting a beat.
   */
  saw(nodeId: string): void {
    if (nodeId === '' || nodeId === this.#deps.nodeId || this.#closed) return;
    const isNew = !this.#lastHeard.has(nodeId);
    this.#lastHeard.set(nodeId, this.#deps.clock.now());
    if (!isNew) return;
    this.#deps.log.info({ nodeId }, 'node up');
    this.#beat();
    if (this.#down.delete(nodeId)) this.#deps.nodeBack(nodeId);
  }

  #beat(): void {
    if (this.#closed) return;
    const beat: Beat = { n: this.#deps.nodeId, c: this.#deps.roomCounts() };
    this.#deps.bus.publish('mesh.hb', encodeJson(beat)).catch((err: unknown) => {
      this.#deps.metrics.inc('mesh_heartbeat_errors_total');
      this.#deps.log.debug({ err }, 'heartbeat failed');
    });
  }

  #check(): void {
    const cutoff = this.#deps.clock.now() - this.#deps.nodeDownMs;
    for (const [nodeId, at] of this.#lastHeard) {
      if (at >= cutoff) continue;
      this.#lastHeard.delete(nodeId);
      this.#counts.delete(nodeId);
      this.#down.add(nodeId);
      this.#deps.metrics.inc('mesh_nodes_down_total');
      this.#deps.log.warn({ nodeId }, 'node down');
      this.#deps.nodeDown(nodeId);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#timers) t.cancel();
    await Promise.all(this.#subs.map((s) => s.unsubscribe().catch(() => undefined)));
  }
}
