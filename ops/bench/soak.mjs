// `npm run soak`: RB-24@20 with churn for --minutes, watching the server for
// growth. The hubmesh server (ops/bench/hubmesh-server.mjs) runs in its own
// process and the load generator (ops/bench/soak-loadgen.mjs: R rooms x N
// clients at --rate updates/s, --churn leaves and as many joins every second)
// in another. Every --interval seconds it records the server's resident
// memory, CPU and open file descriptors (from /proc) and, from its GET
// /metrics, heap used, event-loop lag, active handles, sockets and rooms, with
// the generator's delivery ratio, latency, joins and leaves over the interval.
//
// It prints a table over time and a trend verdict: least-squares slopes over
// the samples after the warm-up (by default the first half of the run) of
// RSS, the heap floor (the lowest heap used over the last 5 minutes, each
// minute, so garbage not yet collected does not count), active handles and open descriptors, per 10
// minutes. A series grows when its slope over that window, and over each half
// of it, reaches 2% of the series' mean per 10 minutes (one step of RSS moves
// the first but not both halves; a leak moves all three); "no growth" means
// none grows. Fewer than 10 samples or 10 minutes after the warm-up give
// "insufficient" (no verdict). After the load stops it waits for the server's
// sockets to drain and records the handles and descriptors left, to compare
// with the idle server before the load.
//
//   npm run soak -- [--minutes 30] [--interval 10] [--rooms 8] [--clients 24]
//                   [--rate 20] [--payload 200] [--churn 2] [--warmup-minutes M] [--json]
//
// Exit status: 0 for "no growth" or "insufficient", 3 for "growth", 1 on an
// error, 130 when interrupted (the report so far is printed first). Every
// process it starts is stopped by pid, and the run is bounded in time
// (--minutes plus three minutes).
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { cpuSeconds, here, isRunning, launch, openFds, rssBytes, runBounded, startHubmeshServer, stop } from './lib.mjs';
import { growthVerdict, renderReport } from './soak-report.mjs';

const { values: o } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    interval: { type: 'string', default: '10' },
    rooms: { type: 'string', default: '8' },
    clients: { type: 'string', default: '24' },
    rate: { type: 'string', default: '20' },
    payload: { type: 'string', default: '200' },
    churn: { type: 'string', default: '2' },
    'warmup-minutes': { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
const workload = {
  minutes: Number(o.minutes),
  intervalS: Number(o.interval),
  rooms: Number(o.rooms),
  clients: Number(o.clients),
  rateHz: Number(o.rate),
  payloadBytes: Number(o.payload),
  churnPerS: Number(o.churn),
  warmupMinutes: o['warmup-minutes'] === undefined ? Number(o.minutes) / 2 : Number(o['warmup-minutes']),
};
const positive = ['minutes', 'intervalS', 'rooms', 'clients', 'rateHz', 'payloadBytes'];
if (!positive.every((k) => Number.isFinite(workload[k]) && workload[k] > 0) || !(workload.churnPerS >= 0) || !(workload.warmupMinutes >= 0) || workload.churnPerS >= workload.rooms * workload.clients) {
  throw new Error('--minutes, --interval, --rooms, --clients, --rate and --payload take positive numbers; --churn and --warmup-minutes numbers >= 0, --churn below the number of clients');
}
const RUN_LIMIT_MS = (workload.minutes * 60 + 180) * 1000;
const DRAIN_WAIT_MS = 15_000;

/** The unlabelled series (and hub_members, summed over its labels) of a Prometheus text page, by name. */
function parseMetrics(text) {
  const values = {};
  for (const line of text.split('\n')) {
    const m = /^([a-z_:][a-z0-9_:]*)(\{[^}]*\})? (\S+)$/i.exec(line);
    // NaN (a lag read twice in a row, with no delay recorded in between) is no reading.
    if (!m || Number.isNaN(Number(m[3]))) continue;
    // Members are counted per presence (room and lobby): their sum is everyone in a room.
    if (m[1] === 'hub_members') values[m[1]] = (values[m[1]] ?? 0) + Number(m[3]);
    else if (!m[2]) values[m[1]] = Number(m[3]);
  }
  return values;
}

async function scrape(url) {
  const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) });
  if (res.status !== 200) throw new Error(`GET /metrics answered ${res.status}`);
  return parseMetrics(await res.text());
}

/** The generator's lines, by their first word: `next('SAMPLE')` resolves with the JSON of the next such line. */
function lineReader(gen) {
  const waiting = new Map();
  createInterface({ input: gen.child.stdout }).on('line', (line) => {
    const space = line.indexOf(' ');
    const resolve = waiting.get(line.slice(0, space));
    if (!resolve) return;
    waiting.delete(line.slice(0, space));
    resolve(JSON.parse(line.slice(space + 1)));
  });
  return (word, timeoutMs) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the load generator did not print ${word} within ${timeoutMs} ms:\n${gen.output().slice(-2000)}\n${gen.errors().slice(-2000)}`)), timeoutMs);
      gen.exited.then(() => reject(new Error(`the load generator exited before ${word}:\n${gen.errors().slice(-2000)}`)));
      waiting.set(word, (v) => {
        clearTimeout(timer);
        resolve(v);
      });
    });
}

/** One row: the server's figures now, and the generator's since the last row (when `ask` is given). */
async function sample(server, url, t, last, ask) {
  const pid = server.child.pid;
  const [m, gen] = await Promise.all([scrape(url), ask ? ask() : undefined]);
  const cpu = cpuSeconds(pid);
  const now = performance.now();
  const mib = (b) => (b === undefined ? null : Math.round((b / 2 ** 20) * 10) / 10);
  const ms = (s) => (s === undefined ? null : Math.round(s * 10_000) / 10);
  const row = {
    t: Math.round(t),
    rssMiB: mib(rssBytes(pid)),
    heapUsedMiB: mib(m.nodejs_heap_size_used_bytes),
    lagP99Ms: ms(m.nodejs_eventloop_lag_p99_seconds),
    lagMeanMs: ms(m.nodejs_eventloop_lag_mean_seconds),
    handles: m.nodejs_active_handles_total ?? null,
    fds: openFds(pid),
    sockets: m.ws_sockets ?? null,
    rooms: m.hub_rooms ?? null,
    members: m.hub_members ?? null,
    cpuPct: last ? Math.round(((cpu - last.cpu) / ((now - last.at) / 1000)) * 1000) / 10 : null,
    ...(gen ? { gen } : {}),
  };
  return { row, mark: { cpu, at: now } };
}

/** Polls the server until it holds no client sockets (at most DRAIN_WAIT_MS); the row after. */
async function drained(server, url, t0) {
  const deadline = performance.now() + DRAIN_WAIT_MS;
  for (let i = 0; i < DRAIN_WAIT_MS / 250 && performance.now() < deadline; i++) {
    const m = await scrape(url);
    if (m.ws_sockets === 0) break;
    await sleep(250);
  }
  return (await sample(server, url, (performance.now() - t0) / 1000)).row;
}

async function main() {
  const interrupt = new AbortController();
  const onSignal = () => interrupt.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const report = { workload, samples: [], interrupted: false };
  const { proc: server, urls } = await startHubmeshServer();
  const url = urls[0];
  process.stderr.write(`soak: started pid ${server.child.pid} (server at ${url})\n`);
  let gen;
  try {
    report.idle = (await sample(server, url, 0)).row;
    gen = launch(process.execPath, [here('./soak-loadgen.mjs'), '--url', url, '--rooms', o.rooms, '--clients', o.clients, '--rate', o.rate, '--payload', o.payload, '--churn', o.churn], { stdin: 'pipe' });
    process.stderr.write(`soak: started pid ${gen.child.pid} (load generator)\n`);
    const next = lineReader(gen);
    await next('READY', 120_000);
    const ask = () => {
      gen.child.stdin.write('sample\n');
      return next('SAMPLE', 10_000);
    };
    const t0 = performance.now();
    // The generator's figures at the start cover only the moment since it was ready: they start its intervals, not the table.
    let { row, mark } = await sample(server, url, 0, undefined, ask);
    delete row.gen;
    report.samples.push(row);
    const count = Math.round((workload.minutes * 60) / workload.intervalS);
    for (let k = 1; k <= count && !interrupt.signal.aborted; k++) {
      const wait = t0 + k * workload.intervalS * 1000 - performance.now();
      if (wait > 0) await sleep(wait, undefined, { signal: interrupt.signal }).catch(() => undefined);
      if (interrupt.signal.aborted) break;
      if (!isRunning(server)) throw new Error(`the server exited during the soak:\n${server.errors().slice(-2000)}`);
      try {
        ({ row, mark } = await sample(server, url, (performance.now() - t0) / 1000, mark, ask));
      } catch (err) {
        // Ctrl-C reaches the server and the generator too: a sample cut short by it ends the run, not the report.
        if (interrupt.signal.aborted) break;
        throw err;
      }
      report.samples.push(row);
      if (!o.json) process.stderr.write(`soak: ${Math.round(row.t)} s, RSS ${row.rssMiB} MiB, heap ${row.heapUsedMiB} MiB, handles ${row.handles}, delivery ${row.gen.deliveryRatio?.toFixed(4)}\n`);
    }
    report.interrupted = interrupt.signal.aborted;
    if (!report.interrupted) {
      gen.child.stdin.write('stop\n');
      report.final = await next('FINAL', 15_000);
      await stop(gen);
      report.drained = await drained(server, url, t0);
    }
  } finally {
    if (gen) await stop(gen);
    await stop(server);
  }
  report.trend = growthVerdict(report.samples, workload.warmupMinutes * 60);
  process.stdout.write(o.json ? `${JSON.stringify(report)}\n` : renderReport(report));
  if (report.interrupted) return 130;
  return report.trend.verdict === 'growth' ? 3 : 0;
}

runBounded(main, { limitMs: RUN_LIMIT_MS, name: 'soak' });
