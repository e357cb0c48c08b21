/** The pure parts of the abuse limits: per-address counts, trusted proxies, JSON depth, and their settings. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { AddressLimit } from '../../src/core/address-limit.js';
import { trustedProxies } from '../../src/http/client-limits.js';
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../../src/protocol/json-depth.js';

describe('AddressLimit', () => {
  const limit = (max: number, trusted = '') => new AddressLimit({ maxPerAddress: max, isTrustedProxy: trustedProxies(trusted) });

  it('gives an address up to its maximum, and a slot back on release', () => {
    const l = limit(2);
    expect([l.tryAcquire('198.51.100.1'), l.tryAcquire('198.51.100.1'), l.tryAcquire('198.51.100.1')]).toEqual([true, true, false]);
    expect(l.tryAcquire('198.51.100.2')).toBe(true);
    l.release('198.51.100.1');
    expect(l.count('198.51.100.1')).toBe(1);
    expect(l.tryAcquire('198.51.100.1')).toBe(true);
    l.release('198.51.100.2');
    expect(l.count('198.51.100.2')).toBe(0);
  });

  it('rejects a maximum that is not a positive integer', () => {
    expect(() => limit(0)).toThrow(TypeError);
    expect(() => limit(1.5)).toThrow(TypeError);
  });

  it('reads X-Forwarded-For from the right, only through trusted proxies', () => {
    const l = limit(1, '10.0.0.0/8, 127.0.0.1');
    expect(l.clientAddress('127.0.0.1', '203.0.113.9, 10.0.0.7')).toBe('203.0.113.9');
    expect(l.clientAddress('::ffff:127.0.0.1', ['203.0.113.9', '10.0.0.7'])).toBe('203.0.113.9');
    // A client cannot name itself past an untrusted hop.
    expect(l.clientAddress('127.0.0.1', '198.51.100.1, 203.0.113.9')).toBe('203.0.113.9');
    expect(l.clientAddress('198.51.100.50', '203.0.113.9')).toBe('198.51.100.50');
    expect(l.clientAddress('127.0.0.1', undefined)).toBe('127.0.0.1');
    expect(l.clientAddress('127.0.0.1', ' , ')).toBe('127.0.0.1');
    expect(l.clientAddress('::ffff:198.51.100.3', undefined)).toBe('198.51.100.3');
  });
});

describe('trustedProxies', () => {
  it('matches addresses and CIDR ranges of both families', () => {
    const isTrusted = trustedProxies('10.0.0.0/8, 192.0.2.1, fd00::/8');
    expect(['10.200.3.4', '192.0.2.1', 'fd12::1'].map(isTrusted)).toEqual([true, true, true]);
    expect(['11.0.0.1', '192.0.2.2', 'fe80::1', 'not an address'].map(isTrusted)).toEqual([false, false, false, false]);
    expect(trustedProxies('')('127.0.0.1')).toBe(false);
  });

  it('names an entry that is neither', () => {
    expect(() => trustedProxies('10.0.0.0/33')).toThrow(/10\.0\.0\.0\/33/);
    expect(() => trustedProxies('proxy.example')).toThrow(TypeError);
  });
});

describe('nestsDeeperThan', () => {
  const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

  it('tells deep nesting from wide, counting objects and arrays alike', () => {
    expect(nestsDeeperThan(nested(MAX_JSON_DEPTH), MAX_JSON_DEPTH)).toBe(false);
    expect(nestsDeeperThan(nested(MAX_JSON_DEPTH + 1), MAX_JSON_DEPTH)).toBe(true);
    expect(nestsDeeperThan(`[${'{"a":[1],"b":{}},'.repeat(500)}1]`, MAX_JSON_DEPTH)).toBe(false);
    expect(nestsDeeperThan('{"a":'.repeat(70) + '1' + '}'.repeat(70), MAX_JSON_DEPTH)).toBe(true);
  });

  it('does not count brackets in strings, escaped quotes included', () => {
    expect(nestsDeeperThan(JSON.stringify([nested(500)]), MAX_JSON_DEPTH)).toBe(false);
    expect(nestsDeeperThan(JSON.stringify(['\\"' + nested(500)]), MAX_JSON_DEPTH)).toBe(false);
    expect(nestsDeeperThan(`["\\"", ${nested(100)}]`, MAX_JSON_DEPTH)).toBe(true);
  });
});

describe('abuse settings', () => {
  it('have defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ maxConnectionsPerIp: 100, maxChannelsPerSocket: 8, trustedProxies: '', httpHeadersTimeoutMs: 15000, httpRequestTimeoutMs: 300000 });
  });

  it('refuse a bad proxy list and a headers timeout past the request timeout', () => {
    expect(() => loadConfig({ HUBMESH_TRUSTED_PROXIES: '10.0.0.0/8,proxy.example' })).toThrow(/HUBMESH_TRUSTED_PROXIES: "proxy.example"/);
    expect(() => loadConfig({ HUBMESH_HTTP_HEADERS_TIMEOUT_MS: '5000', HUBMESH_HTTP_REQUEST_TIMEOUT_MS: '1000' })).toThrow(/HUBMESH_HTTP_REQUEST_TIMEOUT_MS must be >= HUBMESH_HTTP_HEADERS_TIMEOUT_MS/);
  });
});
