/**
 * A Bus that times its publishes and requests: `bus_call_seconds{op}` and
 * `bus_errors_total{op}` (op: publish, request). A request that times out or
 * finds no responder is an error here, as it is to its caller. Everything
 * else, semantics included, is the wrapped bus's.
 */
import { performance } from 'node:perf_hooks';
import type { Bus, BusHandler, BusSubscription } from '../ports/bus.js';
import { LATENCY_BUCKETS_S, type PromMetrics } from './prom-metrics.js';

type Op = 'publish' | 'request';

export function instrumentBus(bus: Bus, metrics: PromMetrics): Bus {
  const seconds = metrics.histogram({ name: 'bus_call_seconds', help: 'Time from a bus publish or request to its outcome, in seconds.', labelNames: ['op'], buckets: LATENCY_BUCKETS_S });
  // Zero from the start, so a rate of errors is 0 rather than absent.
  for (const op of ['publish', 'request'] as const) metrics.inc('bus_errors_total', { op }, 0);
  const timed = async <T>(op: Op, call: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await call();
    } catch (err) {
      metrics.inc('bus_errors_total', { op });
      throw err;
    } finally {
      seconds.observe({ op }, (performance.now() - started) / 1000);
    }
  };
  return {
    get nodeId(): string {
      return bus.nodeId;
    },
    get isConnected(): boolean {
      return bus.isConnected;
    },
    publish: (subject: string, data: Uint8Array) => timed('publish', () => bus.publish(subject, data)),
    request: (subject: string, data: Uint8Array, timeoutMs: number) => timed('request', () => bus.request(subject, data, timeoutMs)),
    subscribe: (pattern: string, handler: BusHandler): Promise<BusSubscription> => bus.subscribe(pattern, handler),
    onReconnect: (handler: () => void) => bus.onReconnect(handler),
    close: () => bus.close(),
  };
}
