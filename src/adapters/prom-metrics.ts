/**
 * The Metrics port on a prom-client Registry, which GET /metrics serves
 * (src/http/metrics.ts).
 *
 * - A counter is made on first use, under the name it is used with
 *   (`hub_dropped_total` stays `hub_dropped_total`), with the label names of
 *   that use. A later use with a label it lacks widens it: the counter is
 *   made again with the union of the names and keeps its values (a label a
 *   series lacks reads as empty in Prometheus, so nothing moves).
 * - `get` reads a counter back synchronously, per exact label set, as the
 *   memory adapter does; prom-client only reads asynchronously.
 * - Gauges are read at scrape time (`gauge`); histograms (`histogram`) are
 *   observed by their owner as things happen.
 * - The process's own series (CPU, resident memory, heap, GC, event-loop
 *   lag) come from prom-client's default collectors.
 *
 * Wrong use is a programmer error and throws TypeError: a name or label name
 * Prometheus does not allow, a negative or non-finite increment, a name
 * taken by a metric of another kind.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Metrics } from '../ports/metrics.js';

type Labels = Readonly<Record<string, string>>;

/** What a gauge reads at scrape time: one value, or one per label set. */
export type GaugeReading = number | readonly { readonly labels: Labels; readonly value: number }[];

export interface GaugeSpec {
  readonly name: string;
  readonly help: string;
  readonly labelNames?: readonly string[];
  /**
   * Called at every scrape. A failure leaves the gauge without values for that
   * scrape (NaN when it has no labels) and counts `metrics_collect_errors_total{metric}`.
   */
  collect(): GaugeReading | Promise<GaugeReading>;
}

export interface HistogramSpec {
  readonly name: string;
  readonly help: string;
  readonly labelNames?: readonly string[];
  /** Upper bounds, ascending; in the unit of the name (seconds for `_seconds`). */
  readonly buckets: readonly number[];
}

/** A histogram to observe into. */
export interface HistogramObserver {
  observe(labels: Labels, value: number): void;
}

/** Latency buckets, in seconds, from half a millisecond to five seconds. */
export const LATENCY_BUCKETS_S: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

interface CounterValue {
  readonly labels: Labels;
  value: number;
}

interface CounterEntry {
  readonly labelNames: ReadonlySet<string>;
  /** Keyed like the memory adapter, so `get` tells label sets apart exactly. */
  readonly values: Map<string, CounterValue>;
}

function keyOf(labels?: Labels): string {
  if (!labels) return '';
  const names = Object.keys(labels);
  if (names.length === 1) return `${names[0]}=${labels[names[0]!]}`;
  return names
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',');
}

function checkNames(name: string, labelNames: Iterable<string>): void {
  if (!METRIC_NAME.test(name)) throw new TypeError(`metric name ${JSON.stringify(name)} is not a Prometheus name`);
  for (const label of labelNames) {
    if (!LABEL_NAME.test(label) || label.startsWith('__')) throw new TypeError(`label ${JSON.stringify(label)} of ${name} is not a Prometheus label name`);
  }
}

let processRegistry: Registry | undefined;

/**
 * The process's series, shared by every node in the process. prom-client's
 * default collectors install a GC observer and an event-loop delay monitor
 * that cannot be removed, so they are installed once per process, not once
 * per node (tests start many nodes in one process).
 */
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

export class PromMetrics implements Metrics {
  readonly #registry = new Registry();
  readonly #counters = new Map<string, CounterEntry>();

  /** The content type of `scrape()`'s text (Prometheus text format 0.0.4). */
  get contentType(): string {
    return this.#registry.contentType;
  }

  inc(name: string, labels?: Labels, by = 1): void {
    if (!Number.isFinite(by) || by < 0) throw new TypeError(`counter ${name} cannot change by ${by}`);
    const entry = this.#counters.get(name) ?? this.#newCounter(name, Object.keys(labels ?? {}), []);
    const held = entry.values.get(keyOf(labels));
    if (held) {
      held.value += by;
      return;
    }
    this.#addSeries(entry, name, labels, by);
  }

  /** The first increment of a label set: widens the counter when the set brings a new label name. */
  #addSeries(entry: CounterEntry, name: string, labels: Labels | undefined, by: number): void {
    if (labels && Object.keys(labels).some((l) => !entry.labelNames.has(l))) entry = this.#widen(entry, name, labels);
    entry.values.set(keyOf(labels), { labels: { ...labels }, value: by });
  }

  get(name: string, labels?: Labels): number {
    return this.#counters.get(name)?.values.get(keyOf(labels))?.value ?? 0;
  }

  /** Registers a gauge whose value is read at every scrape. */
  gauge(spec: GaugeSpec): void {
    const labelNames = [...(spec.labelNames ?? [])];
    this.#checkFree(spec.name, labelNames);
    const countFailure = () => this.inc('metrics_collect_errors_total', { metric: spec.name });
    new Gauge({
      name: spec.name,
      help: spec.help,
      labelNames,
      registers: [this.#registry],
      async collect() {
        this.reset();
        let reading: GaugeReading;
        try {
          reading = await spec.collect();
        } catch {
          // A gauge without labels cannot be absent in prom-client; NaN says "unknown" where 0 would be a lie.
          if (labelNames.length === 0) this.set(Number.NaN);
          return countFailure();
        }
        if (typeof reading === 'number') this.set(reading);
        else for (const { labels, value } of reading) this.set({ ...labels }, value);
      },
    });
  }

  /** Registers a histogram and returns it to observe into. */
  histogram(spec: HistogramSpec): HistogramObserver {
    const labelNames = [...(spec.labelNames ?? [])];
    this.#checkFree(spec.name, labelNames);
    const histogram = new Histogram({ name: spec.name, help: spec.help, labelNames, buckets: [...spec.buckets], registers: [this.#registry] });
    return { observe: (labels, value) => histogram.observe({ ...labels }, value) };
  }

  /** Every series of this node and of the process, in the Prometheus text format. */
  scrape(): Promise<string> {
    return Registry.merge([processMetrics(), this.#registry]).metrics();
  }

  #checkFree(name: string, labelNames: readonly string[]): void {
    checkNames(name, labelNames);
    if (this.#registry.getSingleMetric(name) || processMetrics().getSingleMetric(name)) throw new TypeError(`metric ${name} is already registered`);
  }

  #newCounter(name: string, labelNames: readonly string[], values: readonly (readonly [string, CounterValue])[]): CounterEntry {
    this.#checkFree(name, labelNames);
    const held = new Map(values);
    // The values live in `held`, where an increment is one Map lookup; prom-client reads them at scrape time.
    new Counter({
      name,
      help: `Counter ${name}.`,
      labelNames: [...labelNames],
      registers: [this.#registry],
      collect() {
        this.reset();
        for (const { labels, value } of held.values()) this.inc({ ...labels }, value);
      },
    });
    const entry: CounterEntry = { labelNames: new Set(labelNames), values: held };
    this.#counters.set(name, entry);
    return entry;
  }

  /** Makes `entry`'s counter again with its label names plus those of `labels`, keeping its values. */
  #widen(entry: CounterEntry, name: string, labels: Labels): CounterEntry {
    const labelNames = [...new Set([...entry.labelNames, ...Object.keys(labels)])];
    checkNames(name, labelNames);
    this.#registry.removeSingleMetric(name);
    this.#counters.delete(name);
    return this.#newCounter(name, labelNames, [...entry.values]);
  }
}
