// Summarizes a V8 CPU profile (node --cpu-prof, or `npm run bench -- --profile DIR`)
// as text: the functions with the most self time, and the inclusive time of
// the relay's hot-path stages, each as a share of all samples.
//
//   node ops/bench/profile-summary.mjs FILE.cpuprofile [--top 25] [--from SECONDS]
//
// --from leaves out the samples of the first SECONDS of the profile (start-up, joins).
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';

const { values: o, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' }, from: { type: 'string', default: '0' } } });
if (positionals.length !== 1) {
  process.stderr.write('usage: node ops/bench/profile-summary.mjs FILE.cpuprofile [--top N] [--from SECONDS]\n');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(positionals[0], 'utf8'));

/** Stages of the relay's path, matched by function name; inclusive time. */
const STAGES = [
  ['receive: ws frame parsing', /^(Receiver\.|getData|getPayloadLength|dataMessage|startLoop)/],
  ['receive: connection', /^#onMessage$|^PhxConnection\.#onMessage$/],
  ['decode JSON', /^decodeText$/],
  ['room: NAF arbitration and relay', /^(Room\.)?(relayNaf|onNaf|handleNaf|#naf)/],
  ['send: queue per recipient', /^(PhxConnection\.)?send$/],
  ['flush: write batches', /^(PhxConnection\.)?flush$/],
  ['socket writes (writev/writeBuffer)', /^(writeBuffer|writev|writevGeneric|writeGeneric|_writeGeneric|_writev)$/],
  ['garbage collection', /^\(garbage collector\)$/],
  ['idle', /^\(idle\)$/],
];

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const selfSamples = new Map();
const fromUs = Number(o.from) * 1e6;
let elapsedUs = 0;
let total = 0;
profile.samples.forEach((id, i) => {
  elapsedUs += profile.timeDeltas[i] ?? 0;
  if (elapsedUs < fromUs) return;
  selfSamples.set(id, (selfSamples.get(id) ?? 0) + 1);
  total++;
});
const busy = total - [...selfSamples].filter(([id]) => byId.get(id).callFrame.functionName === '(idle)').reduce((s, [, c]) => s + c, 0);

const label = (cf) => `${cf.functionName || '(anonymous)'} ${cf.url ? basename(cf.url) : ''}${cf.url ? `:${cf.lineNumber + 1}` : ''}`.trim();
const self = new Map();
for (const [id, count] of selfSamples) {
  const key = label(byId.get(id).callFrame);
  self.set(key, (self.get(key) ?? 0) + count);
}

// Inclusive per stage: a sample counts once for a stage if any frame on its stack matches.
const inclusive = new Map(STAGES.map(([name]) => [name, 0]));
for (const [id, count] of selfSamples) {
  const hit = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const name = byId.get(cur).callFrame.functionName;
    for (const [stage, re] of STAGES) if (re.test(name)) hit.add(stage);
  }
  for (const stage of hit) inclusive.set(stage, inclusive.get(stage) + count);
}

const say = (line) => process.stdout.write(`${line}\n`);
const pct = (n, of) => `${((100 * n) / of).toFixed(1).padStart(5)}%`;
say(`${positionals[0]}: ${total} samples, ${busy} not idle`);
say('\nstages (inclusive, share of non-idle samples):');
for (const [stage, n] of inclusive) if (stage !== 'idle') say(`  ${pct(n, busy)}  ${stage}`);
say(`\ntop ${o.top} functions by self time (share of non-idle samples):`);
const top = [...self].filter(([k]) => !k.startsWith('(idle)')).sort((a, b) => b[1] - a[1]).slice(0, Number(o.top));
for (const [k, n] of top) say(`  ${pct(n, busy)}  ${k}`);
