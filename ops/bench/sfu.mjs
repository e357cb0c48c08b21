// `npm run bench:sfu`: one audio producer and N consumers in one room of the
// SFU, for each N given. The SFU runs alone in its own process
// (ops/bench/sfu-server.mjs: the werift engine and the protoo signaling
// service); the producer and the consumers are headless libwebrtc peers in
// load-generator processes (ops/bench/sfu-loadgen.mjs). Once every consumer
// receives, it measures for --seconds: RTP packets the consumers received
// (what the SFU forwarded) per second of server CPU (user+sys from
// /proc/<pid>/stat), the loss and delivery ratio the consumers saw, and the
// CPU % of the server, of the load generators and of the rest of the machine
// (/proc/stat). Prints a table, or with --json one JSON object. Every process
// it starts is stopped by pid, and every run is bounded in time.
//
//   npm run bench:sfu -- [--consumers 25,100,200] [--seconds 10] [--loadgens 1] [--json]
import { fork, spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cpuSeconds, machineBusySeconds } from './lib.mjs';

const here = (f) => fileURLToPath(new URL(f, import.meta.url));
const { values: o } = parseArgs({
  options: {
    consumers: { type: 'string', default: '25,100,200' },
    seconds: { type: 'string', default: '10' },
    loadgens: { type: 'string', default: '1' },
    json: { type: 'boolean', default: false },
  },
});
const sizes = o.consumers.split(',').map(Number);
const SECONDS = Number(o.seconds);
const LOADGENS = Number(o.loadgens);
if (sizes.some((n) => !Number.isInteger(n) || n < 1) || !(SECONDS > 0) || !(LOADGENS >= 1)) throw new Error('--consumers takes positive integers, --seconds and --loadgens positive numbers');
// Connecting one consumer costs the server ~31 ms of CPU (reference/performance.md); allow ten times that, plus slack.
const setupMs = (n) => 30_000 + n * 300;
const RUN_LIMIT_MS = sizes.reduce((t, n) => t + setupMs(n) + SECONDS * 1000 + 30_000, 0);
const ROOM = 'sfuBnch';
const started = new Set();

function track(child, name) {
  started.add(child);
  let out = '';
  let err = '';
  child.stdout?.on('data', (d) => (out += d.toString()));
  child.stderr?.on('data', (d) => (err += d.toString()));
  const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  exited.then(() => started.delete(child));
  return { child, name, exited, output: () => `${out}\n${err}` };
}

async function stop(proc, how = () => proc.child.kill('SIGTERM')) {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  how();
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), 5000);
  await proc.exited;
  clearTimeout(timer);
}

function startServer(dataDir, maxConsumers) {
  const proc = track(spawn(process.execPath, [here('./sfu-server.mjs'), '--data-dir', dataDir, '--max-consumers', String(maxConsumers)], { stdio: ['ignore', 'pipe', 'pipe'] }), 'sfu server');
  const url = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the SFU did not start within 30 s:\n${proc.output()}`)), 30_000);
    proc.child.stdout.on('data', () => {
      const m = /LISTEN (\S+)\n/.exec(proc.output());
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    proc.exited.then((code) => reject(new Error(`the SFU exited with ${code}:\n${proc.output()}`)));
  });
  return { proc, url };
}

/** A load generator; `ask(cmd)` resolves with its next message of `type`. */
function startLoadgen(args, deadlineMs) {
  const proc = track(fork(here('./sfu-loadgen.mjs'), [...args, '--deadline-ms', String(deadlineMs)], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] }), 'load generator');
  const next = (type, timeoutMs) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`no ${type} from the load generator within ${timeoutMs} ms:\n${proc.output()}`)), timeoutMs);
      const onMessage = (m) => {
        if (m.type === type) done(null, m);
        else if (m.type === 'error') done(new Error(`load generator: ${m.error}`));
      };
      const onExit = (code) => done(new Error(`the load generator exited with ${code}:\n${proc.output()}`));
      function done(err, m) {
        clearTimeout(timer);
        proc.child.off('message', onMessage);
        proc.child.off('exit', onExit);
        if (err) reject(err);
        else resolve(m);
      }
      proc.child.on('message', onMessage);
      proc.child.once('exit', onExit);
    });
  return {
    proc,
    ready: (timeoutMs) => next('ready', timeoutMs),
    snapshot: () => {
      const reply = next('snapshot', 10_000);
      proc.child.send({ cmd: 'snapshot' });
      return reply;
    },
    stop: () => stop(proc, () => proc.child.connected && proc.child.send({ cmd: 'stop' })),
  };
}

async function measure(n, dataDir) {
  const permsKey = join(dataDir, 'perms_key.pem');
  const server = startServer(dataDir, n + 10);
  const gens = [];
  try {
    const url = await server.url;
    const common = ['--url', url, '--room', ROOM, '--perms-key', permsKey];
    const deadline = setupMs(n) + SECONDS * 1000 + 20_000;
    const producer = startLoadgen([...common, '--role', 'producer', '--peer-prefix', 'speaker', '--send-ms', String(deadline)], deadline);
    gens.push(producer);
    const { producerId } = await producer.ready(30_000);
    const split = Array.from({ length: LOADGENS }, (_, i) => Math.floor(n / LOADGENS) + (i < n % LOADGENS ? 1 : 0)).filter((c) => c > 0);
    const consumers = split.map((count, i) => startLoadgen([...common, '--role', 'consumers', '--count', String(count), '--producer', producerId, '--peer-prefix', `listener${i}`], deadline));
    gens.push(...consumers);
    const ready = await Promise.all(consumers.map((g) => g.ready(setupMs(n))));
    const connected = ready.reduce((s, r) => s + r.consumers, 0);
    const failures = ready.flatMap((r) => r.errors);

    const snap = async () => {
      const [p, ...cs] = await Promise.all([producer.snapshot(), ...consumers.map((g) => g.snapshot())]);
      const sum = (k) => cs.reduce((s, c) => s + c[k], 0);
      return { sent: p.sent, received: sum('received'), lost: sum('lost'), stalled: sum('stalled') };
    };
    const genCpu = () => gens.reduce((t, g) => t + cpuSeconds(g.proc.child.pid), 0);
    const s0 = await snap();
    const [cpu0, gen0, box0] = [cpuSeconds(server.proc.child.pid), genCpu(), machineBusySeconds()];
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, SECONDS * 1000));
    const [cpu1, gen1, box1] = [cpuSeconds(server.proc.child.pid), genCpu(), machineBusySeconds()];
    const wallS = (performance.now() - t0) / 1000;
    const s1 = await snap();

    const received = s1.received - s0.received;
    const lost = s1.lost - s0.lost;
    const sent = s1.sent - s0.sent;
    const cpuS = cpu1 - cpu0;
    return {
      consumers: n,
      connected,
      failed: n - connected,
      ...(failures.length > 0 ? { failures } : {}),
      windowS: Number(wallS.toFixed(2)),
      producerPackets: sent,
      packetsForwarded: received,
      packetsPerS: Math.round(received / wallS),
      serverCpuS: Number(cpuS.toFixed(2)),
      serverCpuPct: Number(((cpuS / wallS) * 100).toFixed(1)),
      packetsPerCpuS: cpuS > 0 ? Math.round(received / cpuS) : null,
      // On a small box the load generators compete with the server: past about one core each, the figures are theirs.
      loadgenCpuPct: Number((((gen1 - gen0) / wallS) * 100).toFixed(1)),
      // CPU that processes outside this bench took meanwhile: with much of it, loss and delivery say more about the box than the SFU.
      otherCpuPct: Number((((box1 - box0 - (gen1 - gen0) - cpuS) / wallS) * 100).toFixed(1)),
      // Consumers that received nothing during the window.
      stalled: s1.stalled,
      // libwebrtc's cumulative loss goes down when late or retransmitted packets arrive.
      lossRatio: received > 0 ? Number((Math.max(0, lost) / (received + Math.max(0, lost))).toFixed(5)) : null,
      deliveryRatio: sent > 0 && connected > 0 ? Number((received / (sent * connected)).toFixed(4)) : null,
    };
  } finally {
    for (const g of gens.reverse()) await g.stop();
    await stop(server.proc);
  }
}

async function main() {
  const dir = await mkdtemp(join(tmpdir(), 'hubmesh-bench-sfu-'));
  try {
    // The key a relay signs perms tokens with, where the SFU finds it (src/secrets.ts); the load generators sign with it too.
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await writeFile(join(dir, 'perms_key.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    const results = [];
    for (const n of sizes) results.push(await measure(n, dir));
    const report = { workload: { producers: 1, kind: 'audio', seconds: SECONDS, loadgens: LOADGENS }, results };
    if (o.json) process.stdout.write(`${JSON.stringify(report)}\n`);
    else {
      const cols = [['consumers', 9], ['connected', 9], ['pkts/s', 8], ['pkts/cpu-s', 10], ['cpu %', 6], ['loss', 8], ['delivery', 8], ['gen cpu %', 9], ['other cpu %', 11]];
      process.stdout.write(`SFU: 1 audio producer (Opus, 50 packets/s) -> N consumers, ${SECONDS} s each\n`);
      process.stdout.write(`${cols.map(([h, w]) => h.padStart(w)).join(' ')}\n`);
      for (const r of results) {
        const cells = [r.consumers, r.connected, r.packetsPerS, r.packetsPerCpuS, r.serverCpuPct, r.lossRatio, r.deliveryRatio, r.loadgenCpuPct, r.otherCpuPct];
        process.stdout.write(`${cells.map((c, i) => String(c ?? '-').padStart(cols[i][1])).join(' ')}\n`);
        if (r.failures) process.stdout.write(`  ${r.failed} consumers failed, e.g. ${r.failures[0]}\n`);
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const limit = setTimeout(() => {
  process.stderr.write(`bench:sfu: gave up after ${RUN_LIMIT_MS} ms\n`);
  for (const c of started) c.kill('SIGKILL');
  process.exit(1);
}, RUN_LIMIT_MS);
limit.unref();
main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`bench:sfu: ${err.stack ?? err}\n`);
    for (const c of started) c.kill('SIGKILL');
    process.exit(1);
  },
);
