/** Reads the Prometheus text format (0.0.4) that GET /metrics serves, for exact assertions. */

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Exposition {
  readonly samples: readonly Sample[];
  /** `# TYPE` of each metric family. */
  readonly types: ReadonlyMap<string, string>;
  /** The value of the series `name` with exactly these labels; undefined when absent. */
  value(name: string, labels?: Readonly<Record<string, string>>): number | undefined;
  /** The sum over every series of `name` whose labels include `labels`; 0 when none. */
  sum(name: string, labels?: Readonly<Record<string, string>>): number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

function parseValue(text: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  return Number(text);
}

function unescape(value: string): string {
  return value.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
}

const hasLabels = (s: Sample, labels: Readonly<Record<string, string>>) => Object.entries(labels).every(([k, v]) => s.labels[k] === v);

export function parseExposition(text: string): Exposition {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('# TYPE ')) {
      const [name, type] = line.slice(7).split(' ');
      if (name !== undefined && type !== undefined) types.set(name, type);
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(LABEL)) labels[k!] = unescape(v!);
    samples.push({ name: m[1]!, labels, value: parseValue(m[3]!) });
  }
  return {
    samples,
    types,
    value: (name, labels = {}) =>
      samples.find((s) => s.name === name && Object.keys(s.labels).length === Object.keys(labels).length && hasLabels(s, labels))?.value,
    sum: (name, labels = {}) => samples.filter((s) => s.name === name && hasLabels(s, labels)).reduce((n, s) => n + s.value, 0),
  };
}
