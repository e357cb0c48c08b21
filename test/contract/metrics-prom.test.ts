import { describe, expect, it } from 'vitest';
import { LATENCY_BUCKETS_S, PromMetrics } from '../../src/adapters/prom-metrics.js';
import { metricsContract } from './metrics.js';
import { parseExposition } from './metrics-text.js';

metricsContract('PromMetrics', () => new PromMetrics());

describe('PromMetrics exposition', () => {
  it('exposes each counter under the name it is used with, per label set', async () => {
    const metrics = new PromMetrics();
    metrics.inc('hub_dropped_total', { reason: 'outdated' }, 2);
    metrics.inc('hub_dropped_total', { reason: 'not_owner' });
    metrics.inc('ws_frames_in_total', undefined, 7);
    const text = parseExposition(await metrics.scrape());
    expect(text.types.get('hub_dropped_total')).toBe('counter');
    expect(text.value('hub_dropped_total', { reason: 'outdated' })).toBe(2);
    expect(text.value('hub_dropped_total', { reason: 'not_owner' })).toBe(1);
    expect(text.value('ws_frames_in_total')).toBe(7);
    expect(metrics.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  });

  it('widens a counter used with a new label and keeps what it counted', async () => {
    const metrics = new PromMetrics();
    metrics.inc('closed_total', { reason: 'idle' }, 3);
    metrics.inc('closed_total', { reason: 'idle', code: '1000' });
    const text = parseExposition(await metrics.scrape());
    expect(text.value('closed_total', { reason: 'idle' })).toBe(3);
    expect(text.value('closed_total', { reason: 'idle', code: '1000' })).toBe(1);
  });

  it('reads gauges at scrape time, one value or one per label set', async () => {
    const metrics = new PromMetrics();
    let open = 2;
    metrics.gauge({ name: 'ws_sockets', help: 'Open sockets.', collect: () => open });
    metrics.gauge({ name: 'sfu_objects', help: 'Media objects.', labelNames: ['kind'], collect: async () => [{ labels: { kind: 'producer' }, value: 4 }] });
    expect(parseExposition(await metrics.scrape()).value('ws_sockets')).toBe(2);
    open = 0;
    const text = parseExposition(await metrics.scrape());
    expect(text.value('ws_sockets')).toBe(0);
    expect(text.types.get('ws_sockets')).toBe('gauge');
    expect(text.value('sfu_objects', { kind: 'producer' })).toBe(4);
  });

  it('reads NaN for a gauge whose reading fails, counts the failure, counts the failure and still scrapes', async () => {
    const metrics = new PromMetrics();
    metrics.gauge({ name: 'broken', help: 'Fails.', collect: () => Promise.reject(new Error('down')) });
    const text = parseExposition(await metrics.scrape());
    expect(text.value('broken')).toBeNaN();
    expect(metrics.get('metrics_collect_errors_total', { metric: 'broken' })).toBe(1);
  });

  it('observes histograms with the buckets given', async () => {
    const metrics = new PromMetrics();
    const h = metrics.histogram({ name: 'store_call_seconds', help: 'Store calls.', labelNames: ['method'], buckets: LATENCY_BUCKETS_S });
    h.observe({ method: 'getHub' }, 0.002);
    h.observe({ method: 'getHub' }, 3);
    const text = parseExposition(await metrics.scrape());
    expect(text.types.get('store_call_seconds')).toBe('histogram');
    expect(text.value('store_call_seconds_count', { method: 'getHub' })).toBe(2);
    expect(text.value('store_call_seconds_bucket', { method: 'getHub', le: '0.0025' })).toBe(1);
    expect(text.value('store_call_seconds_bucket', { method: 'getHub', le: '+Inf' })).toBe(2);
  });

  it('serves the process series beside the node\'s', async () => {
    const text = parseExposition(await new PromMetrics().scrape());
    expect(text.value('process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(text.types.get('process_cpu_seconds_total')).toBe('counter');
    expect(text.value('nodejs_eventloop_lag_p99_seconds')).toBeGreaterThanOrEqual(0);
  });

  it('refuses wrong use with TypeError', () => {
    const metrics = new PromMetrics();
    expect(() => metrics.inc('bad-name')).toThrow(TypeError);
    expect(() => metrics.inc('ok_total', { 'bad-label': 'x' })).toThrow(TypeError);
    expect(() => metrics.inc('ok_total', undefined, -1)).toThrow(TypeError);
    expect(() => metrics.inc('ok_total', undefined, Number.NaN)).toThrow(TypeError);
    metrics.gauge({ name: 'taken', help: 'A gauge.', collect: () => 1 });
    expect(() => metrics.inc('taken')).toThrow(TypeError);
    expect(() => metrics.histogram({ name: 'taken', help: 'Again.', buckets: [1] })).toThrow(TypeError);
    expect(() => metrics.gauge({ name: 'process_cpu_seconds_total', help: 'The process\'s.', collect: () => 1 })).toThrow(TypeError);
  });
});
