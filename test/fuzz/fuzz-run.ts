/**
 * How many cases a fuzzer runs and from which seed. `npm test` runs the
 * short mode (each fuzzer's own small default); `npm run fuzz` sets
 * HUBMESH_FUZZ_CASES (100000 by default there). HUBMESH_FUZZ_SEED replaces
 * every fuzzer's fixed seed, to explore or to replay a reported failure.
 *
 * Cases are drawn in chunks, each from the seed plus its chunk number, so a
 * long run never holds all its cases in memory and case `n` of a seed is
 * always the same value.
 */
import fc from 'fast-check';

const CHUNK = 500;

export interface FuzzPlan {
  readonly name: string;
  readonly cases: number;
  readonly seed: number;
}

function envInt(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) throw new TypeError(`${name} must be a non-negative integer, not ${JSON.stringify(raw)}`);
  return n;
}

/** The plan of fuzzer `name`: `shortCases` and `seed` unless the environment says otherwise. */
export function fuzzPlan(name: string, shortCases: number, seed: number): FuzzPlan {
  return { name, cases: envInt('HUBMESH_FUZZ_CASES') ?? shortCases, seed: envInt('HUBMESH_FUZZ_SEED') ?? seed };
}

/** A vitest timeout for a plan run at `perSecond` cases (a pessimistic rate), plus set-up time. */
export function fuzzTimeoutMs(plan: FuzzPlan, perSecond: number): number {
  return 30_000 + Math.ceil((plan.cases / perSecond) * 1000);
}

/** The cases of `plan` drawn from `arb`, numbered from 0. */
export function* fuzzCases<T>(arb: fc.Arbitrary<T>, plan: FuzzPlan): Generator<readonly [number, T]> {
  for (let start = 0; start < plan.cases; start += CHUNK) {
    const count = Math.min(CHUNK, plan.cases - start);
    const values = fc.sample(arb, { numRuns: count, seed: plan.seed + start / CHUNK });
    for (let i = 0; i < count; i++) yield [start + i, values[i]!];
  }
}

/** One failed case, with what it takes to replay it and the last error the node logged. */
export class FuzzFailure extends Error {
  constructor(plan: FuzzPlan, nodeErrors: readonly string[], index: number, input: unknown, problem: string) {
    const logged = nodeErrors.length > 0 ? `\n  the node logged: ${nodeErrors[nodeErrors.length - 1]!.slice(0, 1500)}` : '';
    super(`${plan.name}: case ${index} of seed ${plan.seed} (HUBMESH_FUZZ_SEED=${plan.seed} HUBMESH_FUZZ_CASES=${index + 1}): ${problem}\n  input: ${describe(input)}${logged}`);
  }
}

/** A short printable form of a case. */
function describe(input: unknown): string {
  let text: string;
  try {
    text = input instanceof Uint8Array ? `bytes ${Buffer.from(input).toString('hex')}` : (JSON.stringify(input) ?? String(input));
  } catch {
    text = String(input);
  }
  return text.length > 400 ? `${text.slice(0, 400)}... (${text.length} chars)` : text;
}

/** Prints how a fuzzer did: cases, rate and a tally of outcomes. */
export function reportFuzz(plan: FuzzPlan, elapsedMs: number, tally: Readonly<Record<string, number>>): void {
  const rate = Math.round((plan.cases / Math.max(elapsedMs, 1)) * 1000);
  const top = Object.entries(tally)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 24)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  process.stdout.write(`fuzz ${plan.name}: ${plan.cases} cases, seed ${plan.seed}, ${(elapsedMs / 1000).toFixed(1)} s, ${rate} cases/s; ${top}\n`);
}

/** A fuzzer that judges one case at a time and keeps a tally of outcomes. */
export interface CaseRunner<T> {
  readonly tally: Readonly<Record<string, number>>;
  /** Sends case `i` and judges what came back: a problem, or null. */
  step(i: number, input: T): Promise<string | null>;
}

/**
 * Runs the plan's cases over `fuzzers` at once, each taking the next case as
 * soon as its last one is judged; the first problem fails the run. Prints the
 * report with every fuzzer's tally summed.
 */
export async function runCases<T>(fuzzers: readonly CaseRunner<T>[], arb: fc.Arbitrary<T>, plan: FuzzPlan, nodeErrors: readonly string[]): Promise<void> {
  const cases = fuzzCases(arb, plan);
  const started = Date.now();
  await Promise.all(
    fuzzers.map(async (fuzzer) => {
      for (let next = cases.next(); !next.done; next = cases.next()) {
        const [i, input] = next.value;
        const problem = await fuzzer.step(i, input).catch((err: unknown) => String(err));
        if (problem) throw new FuzzFailure(plan, nodeErrors, i, input, problem);
      }
    }),
  );
  const tally: Record<string, number> = {};
  for (const f of fuzzers) for (const [k, v] of Object.entries(f.tally)) tally[k] = (tally[k] ?? 0) + v;
  reportFuzz(plan, Date.now() - started, tally);
}
