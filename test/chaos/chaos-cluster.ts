/**
 * The cluster the chaos suite breaks: one nats-server, one PostgreSQL and
 * `hubmesh serve` processes on them, all started here on random loopback
 * ports and stopped when the test ends, failed or not.
 *
 * The nodes share one database and one data directory, as nodes behind a
 * load balancer share a volume: the node secret, the perms key and the
 * uploads are the same everywhere, so any node verifies any token and
 * serves any upload. A killed node is started again on the port it had, as
 * a service manager restarts a crashed process behind a fixed address.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { onTestFinished } from 'vitest';
import { createAccountWithCli } from '../support/accounts-persist.js';
import type { TestAccount } from '../support/accounts.js';
import { startServe, type ServeProcess } from '../support/processes.js';
import { startNatsServer, startPostgres, type RunningNats, type RunningPostgres } from '../support/services.js';

export interface ClusterOptions {
  readonly nodes: number;
  /** HUBMESH_NODE_DOWN_MS of every node. */
  readonly nodeDownMs: number;
  /** HUBMESH_LEASE_TTL_MS of every node. */
  readonly leaseTtlMs: number;
  readonly binaries: { readonly natsServer: string; readonly initdb: string; readonly pgCtl: string };
}

export type NodeState = 'up' | 'killed' | 'paused';

interface Slot {
  proc: ServeProcess;
  state: NodeState;
  readonly port: number;
}

export class ChaosCluster {
  readonly nats: RunningNats;
  readonly postgres: RunningPostgres;
  readonly #env: Record<string, string>;
  readonly #slots: Slot[] = [];

  private constructor(nats: RunningNats, postgres: RunningPostgres, env: Record<string, string>) {
    this.nats = nats;
    this.postgres = postgres;
    this.#env = env;
  }

  static async start(opts: ClusterOptions): Promise<ChaosCluster> {
    const { natsServer, initdb, pgCtl } = opts.binaries;
    const [nats, postgres, dataDir] = await Promise.all([startNatsServer(natsServer), startPostgres({ initdb, pgCtl }), mkdtemp(join(tmpdir(), 'hubmesh-chaos-'))]);
    // Registered first, so it runs last: after every node is gone.
    onTestFinished(async () => {
      await nats.stop();
      await postgres.stop();
      await rm(dataDir, { recursive: true, force: true });
    });
    const admin = new pg.Client({ connectionString: postgres.url });
    await admin.connect();
    await admin.query('CREATE DATABASE chaos');
    await admin.end();
    const cluster = new ChaosCluster(nats, postgres, {
      NATS_URL: nats.url,
      DATABASE_URL: postgres.urlFor('chaos'),
      HUBMESH_DATA_DIR: dataDir,
      HUBMESH_ROLE: 'relay',
      HUBMESH_LOG_LEVEL: 'warn',
      HUBMESH_NODE_DOWN_MS: String(opts.nodeDownMs),
      HUBMESH_LEASE_TTL_MS: String(opts.leaseTtlMs),
      HUBMESH_PERMISSIVE_ROOMS: 'true',
      // Every client of the suite comes from 127.0.0.1.
      HUBMESH_CREATE_HUB_PER_SEC: '1000',
      HUBMESH_HTTP_RATE_PER_MIN: '1000000',
      HUBMESH_MAX_CONNECTIONS_PER_IP: '100000',
    });
    // The first node migrates the database and writes the shared secrets; the others find both in place.
    await cluster.#add({ HUBMESH_AUTO_MIGRATE: 'true' });
    await Promise.all(Array.from({ length: opts.nodes - 1 }, () => cluster.#add({ HUBMESH_AUTO_MIGRATE: 'false' })));
    return cluster;
  }

  async #add(extra: Record<string, string>): Promise<void> {
    const proc = await startServe({ ...this.#env, ...extra });
    this.#slots.push({ proc, state: 'up', port: Number(new URL(proc.url).port) });
  }

  get size(): number {
    return this.#slots.length;
  }

  url(index: number): string {
    return this.#slot(index).proc.url;
  }

  state(index: number): NodeState {
    return this.#slot(index).state;
  }

  /** Indexes of the nodes running now. */
  upNodes(): number[] {
    return this.#slots.flatMap((s, i) => (s.state === 'up' ? [i] : []));
  }

  /** An admin account made with `hubmesh accounts create`, good on every node. */
  createAdmin(): Promise<TestAccount> {
    return createAccountWithCli({ DATABASE_URL: this.#env['DATABASE_URL']!, HUBMESH_DATA_DIR: this.#env['HUBMESH_DATA_DIR']! });
  }

  /** SIGKILL: the node dies without a word to anyone. Resolves once it has exited. */
  async kill(index: number): Promise<void> {
    const slot = this.#slot(index);
    slot.state = 'killed';
    slot.proc.child.kill('SIGKILL');
    await slot.proc.exited;
  }

  /** Starts a killed node again on its port. */
  async restart(index: number): Promise<void> {
    const slot = this.#slot(index);
    if (slot.state !== 'killed') throw new TypeError(`node ${index} is ${slot.state}, not killed`);
    slot.proc = await startServe({ ...this.#env, HUBMESH_AUTO_MIGRATE: 'false' }, slot.port);
    slot.state = 'up';
  }

  /** SIGSTOP: the node freezes, its sockets open and silent. */
  pause(index: number): void {
    const slot = this.#slot(index);
    slot.state = 'paused';
    slot.proc.child.kill('SIGSTOP');
  }

  resume(index: number): void {
    const slot = this.#slot(index);
    slot.proc.child.kill('SIGCONT');
    slot.state = 'up';
  }

  /** The node's /readyz answer: `ready`, `degraded` (with what is down) or `unavailable`. */
  async readiness(index: number): Promise<{ status: string; checks?: Record<string, string> }> {
    const res = await fetch(`${this.url(index)}/readyz`, { signal: AbortSignal.timeout(5000) });
    return (await res.json()) as { status: string; checks?: Record<string, string> };
  }

  /** The node's resident set size in bytes, from its /metrics. */
  async rssBytes(index: number): Promise<number> {
    const res = await fetch(`${this.url(index)}/metrics`, { signal: AbortSignal.timeout(5000) });
    const m = /^process_resident_memory_bytes (\d+(?:\.\d+)?(?:e\+\d+)?)$/m.exec(await res.text());
    if (!m) throw new Error(`no process_resident_memory_bytes in the metrics of node ${index}`);
    return Number(m[1]);
  }

  /** The last lines each node wrote, to explain a failure. */
  outputTail(lines = 20): string {
    return this.#slots.map((s, i) => `--- node ${i} (${s.state})\n${s.proc.output().split('\n').slice(-lines).join('\n')}`).join('\n');
  }

  #slot(index: number): Slot {
    const slot = this.#slots[index];
    if (!slot) throw new TypeError(`no node ${index}`);
    return slot;
  }
}
