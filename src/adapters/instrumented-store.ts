/**
 * A Store that times every call: `store_call_seconds{method}` and
 * `store_errors_total{method}` (a call that rejects). It wraps whatever
 * methods the store has, so a method added to the port is timed without
 * a change here. Everything else, semantics included, is the wrapped store's.
 */
import { performance } from 'node:perf_hooks';
import type { Store } from '../ports/store.js';
import { LATENCY_BUCKETS_S, type PromMetrics } from './prom-metrics.js';

type Method = (...args: unknown[]) => Promise<unknown>;

/** Not timed: closing is not a call anyone waits on in the hot path, and would only add a series. */
const UNTIMED = new Set<PropertyKey>(['close', 'constructor']);

export function instrumentStore(store: Store, metrics: PromMetrics): Store {
  const seconds = metrics.histogram({ name: 'store_call_seconds', help: 'Time from a store call to its outcome, in seconds.', labelNames: ['method'], buckets: LATENCY_BUCKETS_S });
  const wrapped = new Map<PropertyKey, Method>();
  const wrap = (method: string, fn: Method): Method => {
    // Zero from the first call, so a rate of errors is 0 rather than absent.
    metrics.inc('store_errors_total', { method }, 0);
    return async (...args) => {
      const started = performance.now();
      try {
        return await fn.apply(store, args);
      } catch (err) {
        metrics.inc('store_errors_total', { method });
        throw err;
      } finally {
        seconds.observe({ method }, (performance.now() - started) / 1000);
      }
    };
  };
  return new Proxy(store, {
    get(target, key) {
      const value: unknown = Reflect.get(target, key, target);
      if (typeof value !== 'function' || typeof key !== 'string' || UNTIMED.has(key)) return typeof value === 'function' ? (value as Method).bind(target) : value;
      let fn = wrapped.get(key);
      if (!fn) wrapped.set(key, (fn = wrap(key, value as Method)));
      return fn;
    },
  });
}
