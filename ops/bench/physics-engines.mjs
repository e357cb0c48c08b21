// Server cost of the `physics` room simulation on each candidate engine:
// cannon-es (plain JS) and @dimforge/rapier3d-compat (Rust compiled to WASM).
//
// Each case is N boxes (0.5 m cubes, 1 kg) thrown from random heights with
// random velocities into a 24 m square room (floor at y=0, four walls), stepped
// at a fixed 1/30 s for a fixed simulated time with sleeping on. The scenario
// comes from a seeded PRNG, so both engines get the same boxes. Every case runs
// in its own Node process so RSS and the engine's load cost (rapier's WASM
// instantiation) are measured from a clean start, and engines alternate within
// each round so drift on a shared machine hits both alike.
//
// Measured per case: mean and p99 wall time per step, mean step time once all
// bodies sleep (an idle room's cost), CPU per simulated body-second, the step at
// which every body first sleeps, how many are awake at the end, how many left
// the room or fell through the floor (tunnelling), how far any box sank into a
// wall or the floor for a step ("poke"), and RSS.
//
// An engine whose package is not installed is skipped with a message, so this
// runs with only the kept engine installed; the other is added for a comparison
// run with `npm install --no-save`.
//
//   node ops/bench/physics-engines.mjs [--n 10,100,500] [--runs 2] [--seconds 20]
//                                      [--engines cannon-es,rapier] [--seed 1]
//                                      [--warmup-seconds 2] [--json]
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { seededRandom } from '../../dist/src/core/random.js';

const { values: o } = parseArgs({
  options: {
    n: { type: 'string', default: '10,100,500' },
    runs: { type: 'string', default: '2' },
    seconds: { type: 'string', default: '20' },
    engines: { type: 'string', default: 'cannon-es,rapier' },
    seed: { type: 'string', default: '1' },
    'warmup-seconds': { type: 'string', default: '2' },
    json: { type: 'boolean', default: false },
    // Internal: run one case in this process and print its result as JSON.
    case: { type: 'string' },
  },
});

const TICK_HZ = 30;
const DT = 1 / TICK_HZ;
const HALF_SIZE = 12;
const HALF_EXTENT = 0.25;
const GRAVITY = 9.81;
const FRICTION = 0.5;
const RESTITUTION = 0.1;
const WALL_THICKNESS = 10;
const WALL_HEIGHT = 1000;
// Stepping stops at this wall time even if simulated time is not reached, and
// the parent kills a case process that outlives it by the grace below.
const CASE_BUDGET_MS = 60_000;
const CASE_KILL_GRACE_MS = 30_000;

/**
 * Boxes start in distinct cells of a 1 m grid (21 x 21 columns, 8 layers from
 * y=1 m) so no two overlap at t=0; overlapping starts would measure each
 * engine's depenetration instead of throwing and settling.
 */
function makeScene(n, seed) {
  const rand = seededRandom(seed);
  const between = (lo, hi) => lo + (hi - lo) * rand();
  const cells = [];
  for (let layer = 0; layer < 8; layer++) {
    for (let i = -10; i <= 10; i++) for (let k = -10; k <= 10; k++) cells.push([i, 1 + layer, k]);
  }
  if (n > cells.length) throw new RangeError(`at most ${cells.length} boxes`);
  const boxes = [];
  for (let b = 0; b < n; b++) {
    const pick = b + Math.floor(rand() * (cells.length - b));
    [cells[b], cells[pick]] = [cells[pick], cells[b]];
    const [x, y, z] = cells[b];
    boxes.push({
      position: { x: x + between(-0.2, 0.2), y: y + between(-0.2, 0.2), z: z + between(-0.2, 0.2) },
      velocity: { x: between(-8, 8), y: between(-2, 5), z: between(-8, 8) },
      angularVelocity: { x: between(-6, 6), y: between(-6, 6), z: between(-6, 6) },
    });
  }
  return boxes;
}

// The floor and walls as (point, inward normal): cannon-es uses them as
// half-spaces (its Plane), rapier as thick boxes behind them.
const BOUNDS = [
  { point: { x: 0, y: 0, z: 0 }, normal: { x: 0, y: 1, z: 0 } },
  { point: { x: -HALF_SIZE, y: 0, z: 0 }, normal: { x: 1, y: 0, z: 0 } },
  { point: { x: HALF_SIZE, y: 0, z: 0 }, normal: { x: -1, y: 0, z: 0 } },
  { point: { x: 0, y: 0, z: -HALF_SIZE }, normal: { x: 0, y: 0, z: 1 } },
  { point: { x: 0, y: 0, z: HALF_SIZE }, normal: { x: 0, y: 0, z: -1 } },
];

const ENGINES = {
  'cannon-es': { pkg: 'cannon-es', load: loadCannon },
  rapier: { pkg: '@dimforge/rapier3d-compat', load: loadRapier },
};

async function loadCannon() {
  const C = await import('cannon-es');
  return (boxes) => {
    const world = new C.World({ gravity: new C.Vec3(0, -GRAVITY, 0), allowSleep: true });
    // The default naive broadphase tests every pair; SAP is cannon's choice for many bodies.
    world.broadphase = new C.SAPBroadphase(world);
    world.defaultContactMaterial.friction = FRICTION;
    world.defaultContactMaterial.restitution = RESTITUTION;
    for (const { point, normal } of BOUNDS) {
      const plane = new C.Body({ type: C.Body.STATIC, shape: new C.Plane() });
      plane.position.set(point.x, point.y, point.z);
      // cannon's Plane faces local +z; turn it to face the inward normal.
      plane.quaternion.setFromVectors(new C.Vec3(0, 0, 1), new C.Vec3(normal.x, normal.y, normal.z));
      world.addBody(plane);
    }
    const bodies = boxes.map((b) => {
      const body = new C.Body({
        mass: 1,
        shape: new C.Box(new C.Vec3(HALF_EXTENT, HALF_EXTENT, HALF_EXTENT)),
        position: new C.Vec3(b.position.x, b.position.y, b.position.z),
        velocity: new C.Vec3(b.velocity.x, b.velocity.y, b.velocity.z),
        angularVelocity: new C.Vec3(b.angularVelocity.x, b.angularVelocity.y, b.angularVelocity.z),
        // With cannon's defaults (0.1 m/s for 1 s, damping 0.01) boxes leaning on
        // each other rock forever and keep their neighbours awake; these match
        // rapier's 0.4 m/s threshold and let every run here settle.
        sleepSpeedLimit: 0.4,
        sleepTimeLimit: 1,
        linearDamping: 0.1,
        angularDamping: 0.1,
      });
      world.addBody(body);
      return body;
    });
    return {
      step: () => world.step(DT),
      sleeping: () => bodies.reduce((k, b) => k + (b.sleepState === C.Body.SLEEPING ? 1 : 0), 0),
      positions: () => bodies.map((b) => b.position),
      free: () => {},
    };
  };
}

async function loadRapier() {
  const mod = await import('@dimforge/rapier3d-compat');
  const R = mod.default ?? mod;
  await R.init();
  return (boxes) => {
    const world = new R.World({ x: 0, y: -GRAVITY, z: 0 });
    world.timestep = DT;
    // As src/sim/physics-world.ts builds it: thick boxes, because rapier's CCD
    // does not stop a fast body at a half-space (it pokes through for a step).
    for (const { point, normal } of BOUNDS) {
      const t = WALL_THICKNESS / 2;
      const half = (axis) => (normal[axis] !== 0 ? t : axis === 'y' ? WALL_HEIGHT / 2 : HALF_SIZE + WALL_THICKNESS);
      const centre = (axis) => point[axis] - normal[axis] * t + (axis === 'y' && normal.y === 0 ? WALL_HEIGHT / 2 : 0);
      world.createCollider(R.ColliderDesc.cuboid(half('x'), half('y'), half('z')).setTranslation(centre('x'), centre('y'), centre('z')).setFriction(FRICTION).setRestitution(RESTITUTION));
    }
    const bodies = boxes.map((b) => {
      const desc = R.RigidBodyDesc.dynamic()
        .setTranslation(b.position.x, b.position.y, b.position.z)
        .setLinvel(b.velocity.x, b.velocity.y, b.velocity.z)
        .setAngvel(b.angularVelocity)
        .setCcdEnabled(true);
      const body = world.createRigidBody(desc);
      world.createCollider(R.ColliderDesc.cuboid(HALF_EXTENT, HALF_EXTENT, HALF_EXTENT).setMass(1).setFriction(FRICTION).setRestitution(RESTITUTION), body);
      return body;
    });
    return {
      step: () => world.step(),
      sleeping: () => bodies.reduce((k, b) => k + (b.isSleeping() ? 1 : 0), 0),
      positions: () => bodies.map((b) => b.translation()),
      free: () => world.free(),
    };
  };
}

async function isInstalled(pkg) {
  try {
    await import(pkg);
    return true;
  } catch (err) {
    if (err?.code === 'ERR_MODULE_NOT_FOUND') return false;
    throw err;
  }
}

/**
 * How far any box's centre got past where a wall or the floor should stop it
 * (its half extent from the surface, the least for any turn of a cube), in m:
 * a large value is a box poking through or tunnelling for at least a step.
 */
function poke(positions) {
  let worst = 0;
  for (const p of positions) worst = Math.max(worst, Math.abs(p.x) - (HALF_SIZE - HALF_EXTENT), Math.abs(p.z) - (HALF_SIZE - HALF_EXTENT), HALF_EXTENT - p.y);
  return worst;
}

const ms = (ns) => Number(ns) / 1e6;
const mib = (bytes) => bytes / (1024 * 1024);

/**
 * Runs one case in this process: `engine:n:seed:seconds:warmupSeconds`.
 *
 * A warm-up world (another seed) is stepped first, because a server steps many
 * rooms in one long-lived process: the one-off costs (module load, WASM
 * compilation, JIT) are reported from it as load and first-step times and kept
 * out of the per-step figures.
 */
async function runCase(spec) {
  const [engine, nText, seedText, secondsText, warmupText] = spec.split(':');
  const n = Number(nText);
  const steps = Math.round(Number(secondsText) * TICK_HZ);
  const rssStart = process.memoryUsage().rss;

  const t0 = process.hrtime.bigint();
  const build = await ENGINES[engine].load();
  const t1 = process.hrtime.bigint();
  const rssLoaded = process.memoryUsage().rss;
  const warm = build(makeScene(n, Number(seedText) + 7919));
  const t2 = process.hrtime.bigint();
  warm.step();
  const t3 = process.hrtime.bigint();
  for (let s = 1; s < Math.round(Number(warmupText) * TICK_HZ); s++) warm.step();
  warm.free();

  const t4 = process.hrtime.bigint();
  const world = build(makeScene(n, Number(seedText)));
  const t5 = process.hrtime.bigint();

  const stepNs = [];
  let allAsleepAt = null;
  let cpuUs = 0;
  let pokeM = 0;
  const deadline = t5 + BigInt(CASE_BUDGET_MS) * 1_000_000n;
  for (let s = 0; s < steps; s++) {
    // CPU is summed around each step only, so the checks below do not count.
    const cpu0 = process.cpuUsage();
    const a = process.hrtime.bigint();
    world.step();
    const b = process.hrtime.bigint();
    const cpu = process.cpuUsage(cpu0);
    cpuUs += cpu.user + cpu.system;
    stepNs.push(b - a);
    pokeM = Math.max(pokeM, poke(world.positions()));
    if (allAsleepAt === null && world.sleeping() === n) allAsleepAt = s + 1;
    if (b > deadline) break;
  }
  const rssEnd = process.memoryUsage().rss;

  const sorted = [...stepNs].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  const mean = (xs) => (xs.length === 0 ? null : ms(xs.reduce((x, y) => x + y, 0n)) / xs.length);
  const idle = allAsleepAt === null ? [] : stepNs.slice(allAsleepAt);
  const limit = HALF_SIZE + HALF_EXTENT;
  const escaped = world.positions().filter((p) => !(Math.abs(p.x) <= limit && Math.abs(p.z) <= limit && p.y >= -HALF_EXTENT)).length;
  const simulatedSeconds = stepNs.length * DT;
  const result = {
    engine,
    n,
    stepsRun: stepNs.length,
    isTruncated: stepNs.length < steps,
    loadMs: ms(t1 - t0),
    coldBuildMs: ms(t2 - t1),
    coldFirstStepMs: ms(t3 - t2),
    buildMs: ms(t5 - t4),
    stepMeanMs: mean(stepNs),
    stepMedianMs: ms(sorted[Math.floor(sorted.length / 2)] ?? 0n),
    stepP99Ms: ms(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))]),
    idleStepMeanMs: mean(idle),
    cpuUsPerBodySecond: cpuUs / (n * simulatedSeconds),
    maxPokeM: pokeM,
    allAsleepAtStep: allAsleepAt,
    awakeAtEnd: n - world.sleeping(),
    escaped,
    rssEngineMiB: mib(rssLoaded - rssStart),
    rssRunMiB: mib(rssEnd - rssLoaded),
  };
  world.free();
  return result;
}

function spawnCase(spec) {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [fileURLToPath(import.meta.url), '--case', spec],
      { timeout: CASE_BUDGET_MS + CASE_KILL_GRACE_MS, killSignal: 'SIGKILL', maxBuffer: 1 << 20 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`case ${spec} failed: ${stderr || err.message}`, { cause: err }));
        else resolve(JSON.parse(stdout));
      },
    );
  });
}

function summarise(runs) {
  const groups = new Map();
  for (const r of runs) {
    const key = `${r.engine}:${r.n}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const avg = (xs) => (xs.some((x) => x === null) ? null : xs.reduce((x, y) => x + y, 0) / xs.length);
  return [...groups.values()].map((rs) => ({
    engine: rs[0].engine,
    n: rs[0].n,
    runs: rs.length,
    loadMs: avg(rs.map((r) => r.loadMs)),
    coldFirstStepMs: avg(rs.map((r) => r.coldFirstStepMs)),
    buildMs: avg(rs.map((r) => r.buildMs)),
    stepMeanMs: avg(rs.map((r) => r.stepMeanMs)),
    stepMedianMs: avg(rs.map((r) => r.stepMedianMs)),
    stepP99Ms: Math.max(...rs.map((r) => r.stepP99Ms)),
    idleStepMeanMs: avg(rs.map((r) => r.idleStepMeanMs)),
    cpuUsPerBodySecond: avg(rs.map((r) => r.cpuUsPerBodySecond)),
    allAsleepAtStep: rs.map((r) => r.allAsleepAtStep),
    awakeAtEnd: Math.max(...rs.map((r) => r.awakeAtEnd)),
    escaped: Math.max(...rs.map((r) => r.escaped)),
    maxPokeM: Math.max(...rs.map((r) => r.maxPokeM)),
    rssEngineMiB: avg(rs.map((r) => r.rssEngineMiB)),
    rssRunMiB: avg(rs.map((r) => r.rssRunMiB)),
    isTruncated: rs.some((r) => r.isTruncated),
  }));
}

function printTable(summary, seconds) {
  const f = (x, d = 2) => (x === null ? '-' : x.toFixed(d));
  const rows = summary.map((s) => [
    s.engine, String(s.n), f(s.loadMs, 1), f(s.coldFirstStepMs, 1), f(s.buildMs, 2), f(s.stepMeanMs, 3), f(s.stepMedianMs, 3), f(s.stepP99Ms, 3), f(s.idleStepMeanMs, 3), f(s.cpuUsPerBodySecond, 1),
    s.allAsleepAtStep.map((x) => (x === null ? 'never' : String(x))).join('/'), String(s.awakeAtEnd), String(s.escaped), f(s.maxPokeM, 3),
    f(s.rssEngineMiB, 1), f(s.rssRunMiB, 1), s.isTruncated ? 'TRUNCATED' : '',
  ]);
  const head = ['engine', 'N', 'load ms', 'cold 1st step ms', 'build ms', 'step ms', 'median ms', 'p99 ms', 'idle ms', 'cpu us/body-s', 'all asleep @step', 'awake@end', 'escaped', 'poke m', 'rss engine MiB', 'rss run MiB', ''];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r) => r.map((c, i) => c.padStart(widths[i])).join('  ').trimEnd();
  process.stdout.write(`physics engines: 0.5 m boxes in a ${HALF_SIZE * 2} m room, ${TICK_HZ} Hz fixed step, ${seconds} s simulated after a warm-up world, sleeping on\n`);
  process.stdout.write(`${line(head)}\n${rows.map(line).join('\n')}\n`);
}

async function main() {
  if (o.case) {
    process.stdout.write(JSON.stringify(await runCase(o.case)));
    return;
  }
  const ns = o.n.split(',').map(Number);
  const runs = Number(o.runs);
  const seconds = Number(o.seconds);
  const engines = [];
  for (const name of o.engines.split(',')) {
    const engine = ENGINES[name];
    if (!engine) throw new TypeError(`unknown engine ${name}; known: ${Object.keys(ENGINES).join(', ')}`);
    if (await isInstalled(engine.pkg)) engines.push(name);
    else process.stderr.write(`skipping ${name}: ${engine.pkg} is not installed (npm install --no-save ${engine.pkg})\n`);
  }
  const results = [];
  for (let r = 0; r < runs; r++) {
    // Alternate which engine goes first so slow drift does not favour one.
    const order = r % 2 === 0 ? engines : [...engines].reverse();
    for (const n of ns) {
      for (const engine of order) results.push(await spawnCase(`${engine}:${n}:${Number(o.seed) + n}:${seconds}:${o['warmup-seconds']}`));
    }
  }
  const summary = summarise(results);
  if (o.json) process.stdout.write(`${JSON.stringify({ tickHz: TICK_HZ, seconds, halfSize: HALF_SIZE, summary, runs: results })}\n`);
  else printTable(summary, seconds);
}

await main();
