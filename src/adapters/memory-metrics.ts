import type { Metrics } from '../ports/metrics.js';

function keyOf(name: string, labels?: Readonly<Record<string, string>>): string {
  if (!labels) return name;
  const parts = Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`);
  return `${name}{${parts.join(',')}}`;
}

/** Counters in a Map: for tests and tools that need counters without a Prometheus registry. */
export class MemoryMetrics implements Metrics {
  readonly #counters = new Map<string, number>();

  inc(name: string, labels?: Readonly<Record<string, string>>, by = 1): void {
    const key = keyOf(name, labels);
    this.#counters.set(key, (this.#counters.get(key) ?? 0) + by);
  }

  get(name: string, labels?: Readonly<Record<string, string>>): number {
    return this.#counters.get(keyOf(name, labels)) ?? 0;
  }

  /** Every counter, keyed `name{label=value,...}`. */
  snapshot(): Record<string, number> {
    return Object.fromEntries(this.#counters);
  }
}
