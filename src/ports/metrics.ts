/**
 * Counters the node keeps: messages in and out, drops and refusals by reason.
 * Synchronous because it sits on the hot path. Adapters: MemoryMetrics, and
 * PromMetrics, which the node serves at /metrics (src/http/metrics.ts).
 */
export interface Metrics {
  /** Adds `by` (default 1) to the counter `name` with these labels. */
  inc(name: string, labels?: Readonly<Record<string, string>>, by?: number): void;
  /** The current value of a counter; 0 when never incremented. */
  get(name: string, labels?: Readonly<Record<string, string>>): number;
}
