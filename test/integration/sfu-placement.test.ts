/**
 * The relay side of SFU placement without sockets: the SFU directory over the
 * in-process bus, and the registry's local tap for room commands, which a
 * co-located SFU uses to hear kicks and mutes the bus never loops back.
 */
import pino from 'pino';
import { describe, expect, it, onTestFinished } from 'vitest';
import { HubRegistry } from '../../actors/hub-registry.js';
import type { ChannelConn } from '../../actors/channel-conn.js';
import { SfuDirectory } from '../../actors/sfu-directory.js';
import { MemoryBusNetwork } from '../../src/adapters/memory-bus.js';
import { MemoryMetrics } from '../../src/adapters/memory-metrics.js';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import { SystemClock } from '../../src/adapters/system-clock.js';
import { decodeCommand, type RoomCommand } from '../../src/core/control.js';
import { encodeSfuAnnouncement, SFU_ANNOUNCE_SUBJECT, type SfuAnnouncement } from '../../src/core/sfu-placement.js';
import type { Bus } from '../../src/ports/bus.js';
import type { Identity } from '../../src/ports/identity.js';
import type { Tokens } from '../../src/ports/tokens.js';
import type { OutFrame } from '../../src/protocol/codec.js';
import { makeHub } from '../support/builders.js';
import { waitFor } from '../support/wait.js';

const ANNOUNCE_MS = 100;
const log = pino({ level: 'silent' });

function sfu(id: string, overrides: Partial<SfuAnnouncement> = {}): SfuAnnouncement {
  return { id, host: `${id}.sfu.test`, port: 4443, peers: 0, consumers: 0, maxConsumers: 100, rooms: 0, accepting: true, ...overrides };
}

async function directory(bus?: Bus, metrics = new MemoryMetrics()): Promise<SfuDirectory> {
  const dir = await SfuDirectory.start({ bus, clock: new SystemClock(), metrics, log, announceMs: ANNOUNCE_MS, random: () => 0 });
  onTestFinished(() => dir.close());
  return dir;
}

describe('SfuDirectory', () => {
  it('hears SFUs on the bus, tells of each once, and drops malformed announcements', async () => {
    const network = new MemoryBusNetwork();
    const metrics = new MemoryMetrics();
    const dir = await directory(network.connect(), metrics);
    const ups: string[] = [];
    dir.on('up', (a) => ups.push(a.id));
    const sfuBus = network.connect();
    await sfuBus.publish(SFU_ANNOUNCE_SUBJECT, new TextEncoder().encode('{"id":"x","host":"wss://x/"}'));
    await sfuBus.publish(SFU_ANNOUNCE_SUBJECT, encodeSfuAnnouncement(sfu('a')));
    await sfuBus.publish(SFU_ANNOUNCE_SUBJECT, encodeSfuAnnouncement(sfu('a', { consumers: 40 })));
    await waitFor(() => dir.sfus[0]?.consumers === 40, 2000, 'the second announcement');
    expect(ups).toEqual(['a']);
    expect(dir.sfus).toEqual([sfu('a', { consumers: 40 })]);
    expect(metrics.get('sfu_announcements_dropped_total')).toBe(1);
    expect(dir.pick()?.id).toBe('a');
  });

  it('takes local SFUs through saw(), and refuses a malformed one with a TypeError', async () => {
    const dir = await directory();
    dir.saw(sfu('local'));
    expect(dir.sfus.map((a) => a.id)).toEqual(['local']);
    expect(() => dir.saw({ ...sfu('bad'), port: 0 })).toThrow(TypeError);
    expect(() => dir.saw(null as unknown as SfuAnnouncement)).toThrow(TypeError);
  });

  it('does not call a host dead before it could have heard every live SFU, and forgets a silent SFU after three periods', async () => {
    const dir = await directory();
    const gone: string[] = [];
    dir.on('gone', (a) => gone.push(a.id));
    dir.saw(sfu('a'));
    expect(dir.isLive('a.sfu.test:4443')).toBe(true);
    expect(dir.isLive('b.sfu.test:4443')).toBeUndefined();
    await waitFor(() => dir.isLive('b.sfu.test:4443') === false, 2000, 'the directory to settle');
    await waitFor(() => gone.length > 0, 2000, 'sfu a to be gone');
    expect(gone).toEqual(['a']);
    expect(dir.sfus).toEqual([]);
    expect(dir.isLive('a.sfu.test:4443')).toBe(false);
    expect(dir.pick()).toBeUndefined();
  });

  it('picks only among SFUs that take rooms', async () => {
    const dir = await directory();
    dir.saw(sfu('full', { consumers: 100 }));
    dir.saw(sfu('draining', { accepting: false }));
    expect(dir.pick()).toBeUndefined();
    dir.saw(sfu('free'));
    expect(dir.pick()?.id).toBe('free');
  });

  it('closes idempotently: no more SFUs, events or bus handlers', async () => {
    const network = new MemoryBusNetwork();
    const dir = await directory(network.connect());
    const ups: string[] = [];
    dir.on('up', (a) => ups.push(a.id));
    await dir.close();
    await dir.close();
    dir.saw(sfu('late'));
    await network.connect().publish(SFU_ANNOUNCE_SUBJECT, encodeSfuAnnouncement(sfu('later')));
    expect(dir.sfus).toEqual([]);
    expect(ups).toEqual([]);
  });
});

/** A socket that only records what the room sends it. */
function fakeConn(id: string): ChannelConn & { frames: OutFrame[] } {
  const frames: OutFrame[] = [];
  return { connId: id, sessionId: `session-${id}`, sessionToken: 't', isOpen: true, frames, send: (f) => frames.push(f), isJoined: () => true, endChannel: () => undefined };
}

function registry(store: MemoryStore, extra: { bus?: Bus; sfus?: SfuDirectory; onCommand?: (sid: string, cmd: RoomCommand) => void }): HubRegistry {
  const reg = new HubRegistry({
    store,
    clock: new SystemClock(),
    metrics: new MemoryMetrics(),
    log,
    tokens: { signPermsToken: async () => 'perms' } as unknown as Tokens,
    identity: {} as Identity,
    limits: { maxNafBytes: 65536, maxEntitiesPerSession: 100, handoverLeadMs: 0 },
    maxRoomSize: 50,
    chatHistory: 0,
    roomIdleMs: 60_000,
    leaseTtlMs: 3000,
    nodeId: 'n1',
    disconnectSession: () => undefined,
    makeRef: (() => {
      let n = 0;
      return () => String(n++);
    })(),
    baseUrl: () => 'http://relay.test',
    ...extra,
  });
  onTestFinished(() => reg.close());
  return reg;
}

describe('the registry command tap', () => {
  it('hands every command that goes out to onCommand, HTTP-decided and room-decided, before and besides the bus', async () => {
    const network = new MemoryBusNetwork();
    const store = new MemoryStore();
    await store.createHub(makeHub());
    const sfus = await directory();
    sfus.saw(sfu('a'));
    const tapped: [string, RoomCommand][] = [];
    const reg = registry(store, { bus: network.connect(), sfus, onCommand: (sid, cmd) => tapped.push([sid, cmd]) });
    const onBus: RoomCommand[] = [];
    await network.connect().subscribe('hub.*.ctl', (msg) => onBus.push(decodeCommand(msg.data)!));

    reg.command('AbCdEfG', { op: 'mute', session: 'session-x' });
    expect(tapped).toEqual([['AbCdEfG', { op: 'mute', session: 'session-x' }]]);

    // The first join places the room: a command the room decides.
    const conn = fakeConn('c1');
    reg.dispatch('AbCdEfG', { type: 'hub/join', conn, joinRef: '1', ref: '1', params: { profile: { displayName: 'alice' }, context: {} } });
    await waitFor(() => tapped.length === 2, 2000, 'the host command');
    expect(tapped[1]).toEqual(['AbCdEfG', { op: 'host', host: 'a.sfu.test:4443' }]);
    await waitFor(() => onBus.length === 2, 2000, 'both commands on the bus');
    expect(onBus).toEqual(tapped.map(([, cmd]) => cmd));
  });

  it('publishes a command even when the tap throws', async () => {
    const network = new MemoryBusNetwork();
    const reg = registry(new MemoryStore(), {
      bus: network.connect(),
      onCommand: () => {
        throw new Error('listener bug');
      },
    });
    const onBus: RoomCommand[] = [];
    await network.connect().subscribe('hub.*.ctl', (msg) => onBus.push(decodeCommand(msg.data)!));
    reg.command('AbCdEfG', { op: 'kick', session: 'session-x', account: null });
    await waitFor(() => onBus.length === 1, 2000, 'the kick on the bus');
    expect(onBus[0]).toEqual({ op: 'kick', session: 'session-x', account: null });
  });
});
