// The arithmetic and the text of `npm run soak`'s report (ops/bench/soak.mjs):
// least-squares slopes after the warm-up and the growth verdict, and the table.

/** A series grows when its slope is at least this share of its mean per 10 minutes. */
export const LIMIT_PCT_PER_10_MIN = 2;
/** Fewer samples than this after the warm-up, or a shorter span (seconds), give no verdict. */
export const MIN_TREND_SAMPLES = 10;
export const MIN_TREND_S = 600;
const TEN_MIN_S = 600;

/** Least-squares slope of `points` ([x, y] pairs), in y per x; null for fewer than two distinct x. */
export function slope(points) {
  const n = points.length;
  if (n < 2) return null;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const [x, y] of points) {
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) ** 2;
  }
  return sxx === 0 ? null : sxy / sxx;
}

/** Minutes over which the heap floor is the lowest heap used. */
const FLOOR_MINUTES = 5;

/**
 * The heap floor at each minute of `rows`: the lowest heap used over the
 * FLOOR_MINUTES up to it, so the slope follows what survives collection
 * rather than where the sawtooth stood (the lowest reading of a single minute
 * still depends on when the collector happened to run); the rows themselves
 * when they span fewer than three minutes.
 */
function heapFloor(rows) {
  const byMinute = new Map();
  const start = rows[0]?.t ?? 0;
  for (const r of rows) {
    if (r.heapUsedMiB === null) continue;
    const minute = Math.floor((r.t - start) / 60);
    const low = byMinute.get(minute);
    if (!low || r.heapUsedMiB < low[1]) byMinute.set(minute, [r.t, r.heapUsedMiB]);
  }
  const lows = [...byMinute.values()];
  if (lows.length < 3) return rows.filter((r) => r.heapUsedMiB !== null).map((r) => [r.t, r.heapUsedMiB]);
  return lows.map(([t], i) => [t, Math.min(...lows.slice(Math.max(0, i - FLOOR_MINUTES + 1), i + 1).map(([, y]) => y))]);
}

function judge(points, unit) {
  const mean = points.length ? points.reduce((s, [, y]) => s + y, 0) / points.length : null;
  const pctPer10Min = (pts) => {
    const perS = slope(pts);
    return perS === null || !mean ? null : ((perS * TEN_MIN_S) / mean) * 100;
  };
  const perS = slope(points);
  const whole = pctPer10Min(points);
  const half = points.length >> 1;
  const halves = [pctPer10Min(points.slice(0, half)), pctPer10Min(points.slice(half))];
  return {
    unit,
    points: points.length,
    mean: mean === null ? null : round(mean, 2),
    slopePer10Min: perS === null ? null : round(perS * TEN_MIN_S, 3),
    pctOfMeanPer10Min: whole === null ? null : round(whole, 2),
    halvesPctOfMeanPer10Min: halves.map((p) => (p === null ? null : round(p, 2))),
    isGrowing: [whole, ...halves].every((p) => p !== null && p >= LIMIT_PCT_PER_10_MIN),
  };
}

const round = (v, digits) => Math.round(v * 10 ** digits) / 10 ** digits;

/**
 * The trend of `samples` after `warmupS`: per series (RSS, heap floor, active
 * handles, open descriptors) its mean and its least-squares slope per 10
 * minutes, over the window and over each half of it. A series grows when all
 * three slopes reach LIMIT_PCT_PER_10_MIN of its mean: a leak grows all along,
 * while one step (V8 handing pages back to the system and taking them again)
 * moves the slope of the whole window but not of both halves. The verdict is
 * 'growth' when any series grows, 'no-growth' when none does, and
 * 'insufficient' when the window has fewer than MIN_TREND_SAMPLES samples or
 * spans less than MIN_TREND_S.
 */
export function growthVerdict(samples, warmupS) {
  const rows = samples.filter((r) => r.t >= warmupS);
  const windowS = rows.length ? rows.at(-1).t - rows[0].t : 0;
  const pick = (key) => rows.filter((r) => r[key] !== null && r[key] !== undefined).map((r) => [r.t, r[key]]);
  const series = {
    rssMiB: judge(pick('rssMiB'), 'MiB'),
    heapFloorMiB: judge(heapFloor(rows), 'MiB'),
    handles: judge(pick('handles'), 'handles'),
    fds: judge(pick('fds'), 'descriptors'),
  };
  const isEnough = rows.length >= MIN_TREND_SAMPLES && windowS >= MIN_TREND_S;
  const verdict = !isEnough ? 'insufficient' : Object.values(series).some((s) => s.isGrowing) ? 'growth' : 'no-growth';
  return {
    verdict,
    rule: `growth: for RSS, the heap floor (lowest heap used over the last ${FLOOR_MINUTES} minutes, each minute), active handles or open descriptors, the least-squares slope after the warm-up, and in each half of that window, reaches ${LIMIT_PCT_PER_10_MIN}% of the series' mean per 10 minutes; a verdict needs ${MIN_TREND_SAMPLES} samples over at least ${MIN_TREND_S / 60} minutes after the warm-up`,
    warmupS,
    windowS,
    samples: rows.length,
    series,
  };
}

const fmt = (v, digits = 1) => (v === null || v === undefined ? '-' : typeof v === 'number' ? v.toFixed(digits) : String(v));

const COLUMNS = [
  ['t s', 6, (r) => fmt(r.t, 0)],
  ['rss MiB', 8, (r) => fmt(r.rssMiB)],
  ['heap MiB', 9, (r) => fmt(r.heapUsedMiB)],
  ['lag p99', 8, (r) => fmt(r.lagP99Ms)],
  ['lag avg', 8, (r) => fmt(r.lagMeanMs)],
  ['handles', 8, (r) => fmt(r.handles, 0)],
  ['fds', 5, (r) => fmt(r.fds, 0)],
  ['sockets', 8, (r) => fmt(r.sockets, 0)],
  ['rooms', 6, (r) => fmt(r.rooms, 0)],
  ['cpu %', 6, (r) => fmt(r.cpuPct)],
  ['sent', 7, (r) => fmt(r.gen?.sent, 0)],
  ['deliv', 7, (r) => fmt(r.gen?.deliveryRatio, 4)],
  ['p99 ms', 7, (r) => fmt(r.gen?.p99Ms, 0)],
  ['joins', 6, (r) => fmt(r.gen?.joins, 0)],
  ['leaves', 7, (r) => fmt(r.gen?.leaves, 0)],
  ['join p99', 9, (r) => fmt(r.gen?.joinP99Ms, 0)],
  ['join err', 9, (r) => fmt(r.gen?.joinErrors, 0)],
];

/** The report as text: the workload, the table (lag in ms), totals, the idle/drained comparison and the verdict. */
export function renderReport(report) {
  const w = report.workload;
  const out = [];
  const line = (cells) => out.push(cells.map(([text, width]) => text.padStart(width)).join(' '));
  out.push(`soak: RB-${w.clients}@${w.rateHz}: ${w.rooms} rooms x ${w.clients} clients, ${w.payloadBytes} B, churn ${w.churnPerS} leaves + ${w.churnPerS} joins/s, ${w.minutes} min, a sample every ${w.intervalS} s${report.interrupted ? ' (interrupted)' : ''}`);
  line(COLUMNS.map(([name, width]) => [name, width]));
  if (report.idle) line(COLUMNS.map(([, width, get], i) => [i === 0 ? 'idle' : get(report.idle), width]));
  for (const r of report.samples) line(COLUMNS.map(([, width, get]) => [get(r), width]));
  if (report.drained) line(COLUMNS.map(([, width, get], i) => [i === 0 ? 'after' : get(report.drained), width]));
  if (report.final) {
    const f = report.final;
    out.push(`delivery ${fmt(f.deliveryRatio, 5)} (${f.delivered} of ${f.expected}); ${f.joins} joins, ${f.leaves} leaves, ${f.joinErrors} join errors, ${f.joinsSkipped} joins skipped, ${f.closedByServer} closed by the server${f.firstJoinError ? ` (first join error: ${f.firstJoinError})` : ''}`);
  }
  if (report.idle && report.drained) {
    out.push(`idle before the load: ${report.idle.handles} handles, ${report.idle.fds} descriptors; after it drained: ${report.drained.handles} handles, ${report.drained.fds} descriptors, ${report.drained.sockets} sockets`);
  }
  const t = report.trend;
  out.push(`trend over ${t.samples} samples from ${fmt(t.warmupS, 0)} s (${fmt(t.windowS, 0)} s):`);
  for (const [name, s] of Object.entries(t.series)) {
    const [first, second] = s.halvesPctOfMeanPer10Min.map((p) => `${fmt(p, 2)}%`);
    out.push(`  ${name.padEnd(13)} mean ${fmt(s.mean, 1).padStart(8)} ${s.unit.padEnd(11)} slope ${fmt(s.slopePer10Min, 2).padStart(8)} per 10 min = ${fmt(s.pctOfMeanPer10Min, 2).padStart(7)}% of mean (halves ${first}, ${second})${s.isGrowing && t.verdict !== 'insufficient' ? '  GROWING' : ''}`);
  }
  out.push(`verdict: ${t.verdict} (${t.rule})`);
  return `${out.join('\n')}\n`;
}
