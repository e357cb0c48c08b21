/**
 * SFU placement rules (src/core/sfu-placement.ts): the weighted pick, the
 * announcement codec, the recorded host format, and the `host` room command.
 */
import { describe, expect, it } from 'vitest';
import { decodeCommand, encodeCommand } from '../../src/core/control.js';
import { hubView } from '../../src/core/hub.js';
import {
  decodeSfuAnnouncement,
  encodeSfuAnnouncement,
  formatSfuHost,
  hostFields,
  parseSfuHost,
  pickSfu,
  type SfuAnnouncement,
} from '../../src/core/sfu-placement.js';
import { makeHub } from '../support/builders.js';

function sfu(id: string, overrides: Partial<SfuAnnouncement> = {}): SfuAnnouncement {
  return { id, host: `${id}.test`, port: 4443, peers: 0, consumers: 0, maxConsumers: 100, rooms: 0, accepting: true, ...overrides };
}

/** A random source that returns these numbers in turn. */
const fixed = (...values: number[]) => {
  let i = 0;
  return () => values[i++ % values.length]!;
};

describe('pickSfu', () => {
  it('picks nothing when no SFU is known', () => {
    expect(pickSfu([], Math.random)).toBeUndefined();
  });

  it('leaves out SFUs that drain or are full', () => {
    const sfus = [sfu('a', { accepting: false }), sfu('b', { consumers: 100 }), sfu('c', { consumers: 120 })];
    expect(pickSfu(sfus, Math.random)).toBeUndefined();
    expect(pickSfu([...sfus, sfu('d', { consumers: 99 })], fixed(0.999))?.id).toBe('d');
  });

  it('weights each SFU by its spare consumers', () => {
    // a has 10 spare, b 30, c 60: [0, 0.1) -> a, [0.1, 0.4) -> b, [0.4, 1) -> c.
    const sfus = [sfu('c', { consumers: 40 }), sfu('a', { consumers: 90 }), sfu('b', { consumers: 70 })];
    expect(pickSfu(sfus, fixed(0))?.id).toBe('a');
    expect(pickSfu(sfus, fixed(0.0999))?.id).toBe('a');
    expect(pickSfu(sfus, fixed(0.1))?.id).toBe('b');
    expect(pickSfu(sfus, fixed(0.3999))?.id).toBe('b');
    expect(pickSfu(sfus, fixed(0.4))?.id).toBe('c');
    expect(pickSfu(sfus, fixed(0.9999999))?.id).toBe('c');
  });

  it('does not depend on the order the SFUs come in', () => {
    const sfus = [sfu('a', { consumers: 50 }), sfu('b'), sfu('c', { consumers: 75 })];
    for (const r of [0, 0.2, 0.45, 0.7, 0.99]) {
      expect(pickSfu([...sfus].reverse(), fixed(r))?.id).toBe(pickSfu(sfus, fixed(r))?.id);
    }
  });

  it('fills emptier SFUs in proportion over many rooms', () => {
    const sfus = [sfu('a', { consumers: 75 }), sfu('b', { consumers: 25 })];
    let seed = 1;
    const lcg = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const counts = { a: 0, b: 0 } as Record<string, number>;
    for (let i = 0; i < 10_000; i++) counts[pickSfu(sfus, lcg)!.id]!++;
    // Spare 25 against 75: a quarter of the rooms go to a.
    expect(counts['a']! / 10_000).toBeCloseTo(0.25, 1);
  });
});

describe('SFU announcements', () => {
  it('round-trip through the bus encoding, dropping unknown fields', () => {
    const a = sfu('a', { peers: 3, consumers: 6, rooms: 1 });
    expect(decodeSfuAnnouncement(encodeSfuAnnouncement(a))).toEqual(a);
    const extra = new TextEncoder().encode(JSON.stringify({ ...a, secret: 'x' }));
    expect(decodeSfuAnnouncement(extra)).toEqual(a);
  });

  it('refuse anything malformed', () => {
    const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
    expect(decodeSfuAnnouncement(new TextEncoder().encode('{not json'))).toBeNull();
    expect(decodeSfuAnnouncement(enc([sfu('a')]))).toBeNull();
    for (const bad of [
      { id: '' },
      { host: '' },
      { host: 'wss://a.test/' },
      { host: 'a test' },
      { port: 0 },
      { port: 65536 },
      { port: 1.5 },
      { consumers: -1 },
      { maxConsumers: '100' },
      { accepting: 'yes' },
    ]) {
      expect(decodeSfuAnnouncement(enc({ ...sfu('a'), ...bad })), JSON.stringify(bad)).toBeNull();
    }
  });
});

describe('recorded SFU hosts', () => {
  it('write name:port, brackets around IPv6, and read back what they wrote', () => {
    expect(formatSfuHost({ host: 'sfu.example.org', port: 4443 })).toBe('sfu.example.org:4443');
    expect(formatSfuHost({ host: '10.0.0.7', port: 80 })).toBe('10.0.0.7:80');
    expect(formatSfuHost({ host: '::1', port: 4443 })).toBe('[::1]:4443');
    for (const address of [
      { host: 'sfu.example.org', port: 4443 },
      { host: '10.0.0.7', port: 1 },
      { host: 'fe80::1', port: 65535 },
    ]) {
      expect(parseSfuHost(formatSfuHost(address))).toEqual(address);
    }
  });

  it('read nothing they would not have written', () => {
    for (const bad of ['', 'sfu.test', 'sfu.test:', ':4443', 'sfu.test:0', 'sfu.test:65536', '::1:4443', '[sfu.test]:4443', 'wss://sfu.test:4443', 'a b:1']) {
      expect(parseSfuHost(bad), bad).toBeNull();
    }
  });

  it('show as host and port in the hub view, nulls without one', () => {
    expect(hostFields(null)).toEqual({ host: null, port: null });
    const view = (host: string | null) => hubView(makeHub({ host }), { memberCount: 0, lobbyCount: 0 }, { baseUrl: 'http://h.test' });
    expect(view(null)).toMatchObject({ host: null, port: null });
    expect(view('sfu.test:4443')).toMatchObject({ host: 'sfu.test', port: 4443 });
  });
});

describe('the host room command', () => {
  const decode = (v: unknown) => decodeCommand(new TextEncoder().encode(JSON.stringify(v)));

  it('round-trips, and so does a hub record carrying a host', () => {
    expect(decodeCommand(encodeCommand({ op: 'host', host: 'sfu.test:4443' }))).toEqual({ op: 'host', host: 'sfu.test:4443' });
    expect(decodeCommand(encodeCommand({ op: 'host', host: null }))).toEqual({ op: 'host', host: null });
    const hub = makeHub({ host: '[::1]:4443' });
    expect(decodeCommand(encodeCommand({ op: 'hub', hub, stale: [], by: null }))).toEqual({ op: 'hub', hub, stale: [], by: null, close: false });
  });

  it('refuses hosts that are not name:port, and a hub record without its host', () => {
    for (const host of ['sfu.test', 42, 'wss://sfu.test:4443', undefined]) expect(decode({ op: 'host', host }), String(host)).toBeNull();
    const { host: _host, ...withoutHost } = makeHub();
    expect(decode({ op: 'hub', hub: withoutHost, stale: [], by: null })).toBeNull();
    expect(decode({ op: 'hub', hub: makeHub({ host: 'nope' }), stale: [], by: null })).toBeNull();
  });
});
