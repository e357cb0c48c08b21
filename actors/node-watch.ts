/**
 * Which nodes of the cluster are alive. Each node publishes a heartbeat on
 * `mesh.hb` every fifth of `nodeDownMs`; a node not heard from for
 * `nodeDownMs` (killed, cut off, paused) is declared down once, and its
 * members leave every room (the registry does that). The watch also carries
 * cluster-wide disconnects (kick) on `mesh.disconnect`.
 *
 * Close cascade: `close()` stops both timers and both subscriptions.
 */
import type { Logger } from 'pino';
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
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class NodeWatch {
  readonly #deps: NodeWatchDeps;
  readonly #lastHeard = new Map<string, number>();
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
    this.#subs.push(await bus.subscribe('mesh.hb', (msg) => this.saw(decoder.decode(msg.data))));
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
    this.#deps.bus.publish('mesh.hb', encoder.encode(this.#deps.nodeId)).catch((err: unknown) => {
      this.#deps.metrics.inc('mesh_heartbeat_errors_total');
      this.#deps.log.debug({ err }, 'heartbeat failed');
    });
  }

  #check(): void {
    const cutoff = this.#deps.clock.now() - this.#deps.nodeDownMs;
    for (const [nodeId, at] of this.#lastHeard) {
      if (at >= cutoff) continue;
      this.#lastHeard.delete(nodeId);
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
