/**
 * The Metrics port's contract (src/ports/metrics.ts), run against every
 * adapter: each sentence of the port's doc comment is a test here.
 */
import { describe, expect, it } from 'vitest';
import type { Metrics } from '../../src/ports/metrics.js';

/** `make()` returns a fresh adapter with no counters. */
export function metricsContract(name: string, make: () => Metrics): void {
  describe(`Metrics contract: ${name}`, () => {
    it('reads 0 for a counter never incremented', () => {
      const metrics = make();
      expect(metrics.get('never_total')).toBe(0);
      expect(metrics.get('never_total', { reason: 'x' })).toBe(0);
    });

    it('adds 1 by default, and `by` when given, synchronously', () => {
      const metrics = make();
      metrics.inc('frames_total');
      expect(metrics.get('frames_total')).toBe(1);
      metrics.inc('frames_total', undefined, 41);
      expect(metrics.get('frames_total')).toBe(42);
      metrics.inc('frames_total', undefined, 0);
      expect(metrics.get('frames_total')).toBe(42);
    });

    it('keeps one counter per label set, whatever the order of the labels', () => {
      const metrics = make();
      metrics.inc('dropped_total', { reason: 'outdated', event: 'naf' });
      metrics.inc('dropped_total', { event: 'naf', reason: 'outdated' }, 2);
      metrics.inc('dropped_total', { reason: 'not_owner', event: 'naf' });
      expect(metrics.get('dropped_total', { event: 'naf', reason: 'outdated' })).toBe(3);
      expect(metrics.get('dropped_total', { reason: 'not_owner', event: 'naf' })).toBe(1);
      expect(metrics.get('dropped_total', { reason: 'absent', event: 'naf' })).toBe(0);
    });

    it('tells a counter without labels from the same name with labels', () => {
      const metrics = make();
      metrics.inc('refused_total');
      metrics.inc('refused_total', { reason: 'room_full' }, 5);
      expect(metrics.get('refused_total')).toBe(1);
      expect(metrics.get('refused_total', { reason: 'room_full' })).toBe(5);
    });

    it('keeps counters of different names apart', () => {
      const metrics = make();
      metrics.inc('a_total', { k: 'v' }, 3);
      metrics.inc('b_total', { k: 'v' });
      expect(metrics.get('a_total', { k: 'v' })).toBe(3);
      expect(metrics.get('b_total', { k: 'v' })).toBe(1);
    });

    it('reads what was counted under a label used later', () => {
      const metrics = make();
      metrics.inc('closed_total', { reason: 'idle' });
      metrics.inc('closed_total', { reason: 'idle', code: '1000' }, 2);
      metrics.inc('closed_total', { reason: 'idle' });
      expect(metrics.get('closed_total', { reason: 'idle' })).toBe(2);
      expect(metrics.get('closed_total', { code: '1000', reason: 'idle' })).toBe(2);
    });
  });
}
