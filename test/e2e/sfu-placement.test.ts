/**
 * SFU placement (parity 7.5) with the official phoenix.js client: fake SFUs
 * announce on the bus (or to the node's directory, as a co-located SFU does),
 * rooms are placed on them, and clients learn where from the join reply,
 * `get_host` and `host_changed`.
 */
import type { Channel } from 'phoenix';
import { describe, expect, it, onTestFinished } from 'vitest';
import { MemoryBusNetwork } from '../../src/adapters/memory-bus.js';
import { MemoryLeaseBoard } from '../../src/adapters/memory-leases.js';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import { SystemClock } from '../../src/adapters/system-clock.js';
import { encodeSfuAnnouncement, SFU_ANNOUNCE_SUBJECT, type SfuAnnouncement } from '../../src/core/sfu-placement.js';
import type { HubmeshNode } from '../../src/main.js';
import type { Bus } from '../../src/ports/bus.js';
import { joinHub, nextOn, pushReply } from '../support/clients.js';
import { createHub, startTestNode } from '../support/node.js';
import { eventually, waitFor } from '../support/wait.js';

/** SFUs are gone after three silent periods: 600 ms here. */
const ANNOUNCE_MS = 200;
/** Relay only: the SFUs are the test's fakes, not one of the node's own. */
const ENV = { HUBMESH_SFU_ANNOUNCE_MS: String(ANNOUNCE_MS), HUBMESH_ROLE: 'relay' };

function sfu(id: string, overrides: Partial<SfuAnnouncement> = {}): SfuAnnouncement {
  return { id, host: `${id}.sfu.test`, port: 4443, peers: 0, consumers: 0, maxConsumers: 1000, rooms: 0, accepting: true, ...overrides };
}

/** Fake SFU processes: each one announces through `send` four times a period until it is stopped or the test ends. */
class FakeSfus {
  readonly #live = new Map<string, SfuAnnouncement>();
  readonly #send: (a: SfuAnnouncement) => void;

  constructor(send: (a: SfuAnnouncement) => void) {
    this.#send = send;
    const timer = setInterval(() => this.#announce(), ANNOUNCE_MS / 4);
    onTestFinished(() => clearInterval(timer));
  }

  /** Over the bus, from a connection of its own, as SFU processes do. */
  static onBus(bus: Bus): FakeSfus {
    return new FakeSfus((a) => void bus.publish(SFU_ANNOUNCE_SUBJECT, encodeSfuAnnouncement(a)).catch(() => undefined));
  }

  /** Starts announcing `a` (or announces its new load). */
  announce(a: SfuAnnouncement): void {
    this.#live.set(a.id, a);
    this.#send(a);
  }

  /** The SFU falls silent, as a killed process does. */
  stop(id: string): void {
    this.#live.delete(id);
  }

  #announce(): void {
    for (const a of this.#live.values()) this.#send(a);
  }
}

/** A store whose host writes wait until `release()`: a slow database, for the paths that must not depend on it. */
class HeldHostStore extends MemoryStore {
  release: () => void = () => undefined;
  readonly #held = new Promise<void>((resolve) => {
    this.release = resolve;
  });

  override async setHubHost(hubSid: string, host: string | null, ifHost: string | null): Promise<string | null | undefined> {
    await this.#held;
    return super.setHubHost(hubSid, host, ifHost);
  }
}

const addr = (a: SfuAnnouncement) => ({ host: a.host, port: a.port });
const hostOf = (reply: Record<string, unknown>) => {
  const [hub] = reply['hubs'] as Record<string, unknown>[];
  return { host: hub!['host'], port: hub!['port'] };
};
const knows = (node: HubmeshNode, ...ids: string[]) => () => {
  const known = node.sfus!.sfus.map((a) => a.id);
  return ids.every((id) => known.includes(id));
};

async function getHost(channel: Channel): Promise<Record<string, unknown>> {
  const { status, response } = await pushReply(channel, 'get_host');
  expect(status).toBe('ok');
  return response;
}

/** Every host_changed a channel receives, in order. */
function hostChanges(channel: Channel): Record<string, unknown>[] {
  const got: Record<string, unknown>[] = [];
  channel.on('host_changed', (p: Record<string, unknown>) => {
    got.push(p);
  });
  return got;
}

/** A node on the in-process bus `network`, with its own store unless given one. */
function busNode(network: MemoryBusNetwork, adapters: { store?: MemoryStore; leases?: ReturnType<MemoryLeaseBoard['leases']> } = {}, env: Record<string, string> = {}) {
  return startTestNode({ env: { ...ENV, ...env }, adapters: { store: adapters.store ?? new MemoryStore(), bus: network.connect(), leases: adapters.leases } });
}

describe('SFU placement', () => {
  it('answers host null without any SFU, in the join reply and get_host', async () => {
    const node = await startTestNode({ env: ENV });
    const sid = await createHub(node);
    const { channel, reply } = await joinHub(node, sid, 'alice');
    expect(hostOf(reply)).toEqual({ host: null, port: null });
    expect(await getHost(channel)).toEqual({ host: null, port: null, turn: { enabled: false } });
  });

  it('places rooms of a node that runs both roles on its own SFU', async () => {
    const node = await startTestNode({ env: { HUBMESH_SFU_ANNOUNCE_MS: String(ANNOUNCE_MS), HUBMESH_ROLE: 'all' } });
    const sid = await createHub(node);
    const { reply } = await joinHub(node, sid, 'alice');
    expect(hostOf(reply)).toEqual({ host: '127.0.0.1', port: Number(new URL(node.url).port) });
  });

  it('announces the public host and port clients reach its SFU at, when a TLS terminator fronts it', async () => {
    const node = await startTestNode({ env: { HUBMESH_SFU_ANNOUNCE_MS: String(ANNOUNCE_MS), HUBMESH_ROLE: 'all', HUBMESH_SFU_PUBLIC_HOST: 'sfu.example.org', HUBMESH_SFU_PUBLIC_PORT: '443' } });
    const sid = await createHub(node);
    const { reply } = await joinHub(node, sid, 'alice');
    expect(hostOf(reply)).toEqual({ host: 'sfu.example.org', port: 443 });
  });

  it('places a room on an announced SFU: the join reply, get_host, the store and the room API agree', async () => {
    const network = new MemoryBusNetwork();
    const store = new MemoryStore();
    const node = await busNode(network, { store });
    const sfus = FakeSfus.onBus(network.connect());
    sfus.announce(sfu('a'));
    await waitFor(knows(node, 'a'), 5000, 'the directory to hear sfu a');

    const sid = await createHub(node);
    const { channel, reply } = await joinHub(node, sid, 'alice');
    expect(hostOf(reply)).toEqual(addr(sfu('a')));
    expect(await getHost(channel)).toEqual({ ...addr(sfu('a')), turn: { enabled: false } });
    await eventually(async () => (await store.getHub(sid))?.host, (h) => h === 'a.sfu.test:4443', 5000, 'the host to be recorded');
    const api = (await (await fetch(`${node.url}/api/v1/hubs/${sid}`)).json()) as { hubs: Record<string, unknown>[] };
    expect(api.hubs[0]).toMatchObject(addr(sfu('a')));
  });

  it('takes an SFU of its own process through the directory, and answers get_host the same', async () => {
    const node = await startTestNode({ env: ENV });
    const local = new FakeSfus((a) => node.sfus!.saw(a));
    local.announce(sfu('local', { host: '::1', port: 5443 }));
    const sid = await createHub(node);
    const { channel, reply } = await joinHub(node, sid, 'alice');
    expect(hostOf(reply)).toEqual({ host: '::1', port: 5443 });
    expect(await getHost(channel)).toMatchObject({ host: '::1', port: 5443 });
  });

  it('moves a room whose SFU stops announcing: host_changed to every member, get_host agrees, the store records it', async () => {
    const network = new MemoryBusNetwork();
    const store = new MemoryStore();
    const node = await busNode(network, { store });
    const sfus = FakeSfus.onBus(network.connect());
    sfus.announce(sfu('a'));
    await waitFor(knows(node, 'a'), 5000, 'the directory to hear sfu a');
    const sid = await createHub(node);
    const alice = await joinHub(node, sid, 'alice');
    const bob = await joinHub(node, sid, 'bob');
    expect(hostOf(alice.reply)).toEqual(addr(sfu('a')));
    expect(hostOf(bob.reply)).toEqual(addr(sfu('a')));

    sfus.announce(sfu('b'));
    await waitFor(knows(node, 'a', 'b'), 5000, 'the directory to hear sfu b');
    const atAlice = nextOn(alice.channel, 'host_changed');
    const atBob = nextOn(bob.channel, 'host_changed');
    sfus.stop('a');
    const moved = { ...addr(sfu('b')), turn: { enabled: false } };
    expect(await atAlice).toEqual(moved);
    expect(await atBob).toEqual(moved);
    expect(await getHost(alice.channel)).toEqual(moved);
    await eventually(async () => (await store.getHub(sid))?.host, (h) => h === 'b.sfu.test:4443', 5000, 'the new host to be recorded');
    expect(node.metrics.get('sfus_gone_total')).toBe(1);
  });

  it('gives a room without an SFU one when the first SFU appears', async () => {
    const network = new MemoryBusNetwork();
    const node = await busNode(network);
    const sid = await createHub(node);
    const alice = await joinHub(node, sid, 'alice');
    expect(hostOf(alice.reply)).toEqual({ host: null, port: null });
    const changed = nextOn(alice.channel, 'host_changed');
    FakeSfus.onBus(network.connect()).announce(sfu('a'));
    expect(await changed).toMatchObject(addr(sfu('a')));
  });

  it('keeps the recorded host over a room restart while its SFU is alive, even when the SFU is full', async () => {
    const network = new MemoryBusNetwork();
    const store = new MemoryStore();
    const node = await busNode(network, { store }, { HUBMESH_ROOM_IDLE_MS: '20' });
    const sfus = FakeSfus.onBus(network.connect());
    sfus.announce(sfu('a'));
    await waitFor(knows(node, 'a'), 5000, 'the directory to hear sfu a');
    const sid = await createHub(node);
    const first = await joinHub(node, sid, 'alice');
    expect(hostOf(first.reply)).toEqual(addr(sfu('a')));
    await eventually(async () => (await store.getHub(sid))?.host, (h) => h === 'a.sfu.test:4443', 5000, 'the host to be recorded');

    // a takes no more rooms, b has room for plenty: only a record that is kept keeps the room on a.
    sfus.announce(sfu('a', { consumers: 1000 }));
    sfus.announce(sfu('b'));
    await waitFor(knows(node, 'a', 'b'), 5000, 'the directory to hear sfu b');
    first.socket.disconnect();
    await waitFor(() => node.registry.size === 0, 5000, 'the room to stop');

    const again = await joinHub(node, sid, 'bob');
    expect(hostOf(again.reply)).toEqual(addr(sfu('a')));
    expect(await getHost(again.channel)).toMatchObject(addr(sfu('a')));
    expect((await store.getHub(sid))?.host).toBe('a.sfu.test:4443');
  });

  it('lets a node left holding the room take over placement once the home has let the room go', async () => {
    const network = new MemoryBusNetwork();
    const store = new MemoryStore();
    const board = new MemoryLeaseBoard(new SystemClock(), 3000);
    const a = await busNode(network, { store, leases: board.leases() }, { HUBMESH_ROOM_IDLE_MS: '20' });
    const b = await busNode(network, { store, leases: board.leases() });
    const sfus = FakeSfus.onBus(network.connect());
    sfus.announce(sfu('one'));
    await waitFor(() => knows(a, 'one')() && knows(b, 'one')(), 5000, 'both directories to hear sfu one');
    const sid = await createHub(a);
    const alice = await joinHub(a, sid, 'alice');
    const bob = await joinHub(b, sid, 'bob');
    expect(hostOf(bob.reply)).toEqual(addr(sfu('one')));

    // a, the home, lets the room go (and with it the lease); bob stays on b.
    alice.socket.disconnect();
    await waitFor(() => a.registry.size === 0, 5000, 'the room to stop on a');
    sfus.announce(sfu('two'));
    await waitFor(knows(b, 'one', 'two'), 5000, 'b to hear sfu two');
    const changed = nextOn(bob.channel, 'host_changed');
    sfus.stop('one');
    expect(await changed).toEqual({ ...addr(sfu('two')), turn: { enabled: false } });
    await eventually(async () => (await store.getHub(sid))?.host, (h) => h === 'two.sfu.test:4443', 5000, 'the new host to be recorded');
  });

  it('lets two nodes in one room agree on one host, even before it is recorded, and move it together', async () => {
    const network = new MemoryBusNetwork();
    const store = new HeldHostStore();
    const board = new MemoryLeaseBoard(new SystemClock(), 3000);
    const a = await busNode(network, { store, leases: board.leases() });
    const b = await busNode(network, { store, leases: board.leases() });
    const sfus = FakeSfus.onBus(network.connect());
    sfus.announce(sfu('one'));
    sfus.announce(sfu('two'));
    await waitFor(() => knows(a, 'one', 'two')() && knows(b, 'one', 'two')(), 5000, 'both directories to hear both sfus');

    const sid = await createHub(a);
    const alice = await joinHub(a, sid, 'alice');
    const bob = await joinHub(b, sid, 'bob');
    const placed = hostOf(alice.reply);
    expect([addr(sfu('one')), addr(sfu('two'))]).toContainEqual(placed);
    // b started the room before the store held a host: it learnt it from a.
    expect((await store.getHub(sid))?.host).toBeNull();
    expect(hostOf(bob.reply)).toEqual(placed);
    expect(await getHost(bob.channel)).toMatchObject(placed);
    store.release();
    await eventually(async () => (await store.getHub(sid))?.host, (h) => h === `${placed.host as string}:4443`, 5000, 'the host to be recorded');

    const atAlice = hostChanges(alice.channel);
    const atBob = hostChanges(bob.channel);
    const [gone, other] = placed.host === 'one.sfu.test' ? ['one', 'two'] : ['two', 'one'];
    sfus.stop(gone!);
    await waitFor(() => atAlice.length > 0 && atBob.length > 0, 5000, 'host_changed on both nodes');
    const moved = { ...addr(sfu(other!)), turn: { enabled: false } };
    expect(atAlice).toEqual([moved]);
    expect(atBob).toEqual([moved]);
    expect(await getHost(alice.channel)).toEqual(moved);
    expect(await getHost(bob.channel)).toEqual(moved);
    await eventually(async () => (await store.getHub(sid))?.host, (h) => h === `${other}.sfu.test:4443`, 5000, 'the new host to be recorded');
  });
});
