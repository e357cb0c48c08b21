// What the benchmark drivers share (run.mjs, idle-join.mjs, soak.mjs): start a
// process and wait for a line it prints, stop it by pid, read a process's CPU,
// memory and open files (and its limit on them) from /proc, create rooms over
// HTTP, and run a driver bounded in time so that whatever it started is
// killed, by pid, if it fails or overruns.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Every child process started through `launch`, so `runBounded` can kill what is left. */
export const started = [];

/** The path of a file next to this one. */
export const here = (f) => fileURLToPath(new URL(f, import.meta.url));

/**
 * Starts `cmd args` with stdout piped (and stderr piped unless `stderr` is
 * 'inherit', stdin ignored unless 'pipe'). `line(pattern)` resolves with the
 * first match of `pattern` in what the process printed on stdout, and rejects
 * if it exits first or prints nothing matching within 30 s.
 */
export function launch(cmd, args, { stdin = 'ignore', stderr = 'pipe' } = {}) {
  const child = spawn(cmd, args, { stdio: [stdin, 'pipe', stderr] });
  started.push(child);
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d.toString()));
  child.stderr?.on('data', (d) => (err += d.toString()));
  const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  const line = (pattern) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${cmd} ${args.join(' ')} did not print ${pattern} within 30 s:\n${out}\n${err}`)), 30_000);
      const check = () => {
        const m = pattern.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m);
        }
      };
      child.stdout.on('data', check);
      child.once('exit', (code) => reject(new Error(`${cmd} exited with ${code}:\n${out}\n${err}`)));
    });
  return { child, exited, line, output: () => out, errors: () => err };
}

/** Whether a launched process is still running. */
export const isRunning = (proc) => proc.child.exitCode === null && proc.child.signalCode === null;

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited. */
export async function stop(proc, graceMs = 5000) {
  if (!isRunning(proc)) return;
  proc.child.kill('SIGTERM');
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), graceMs);
  await proc.exited;
  clearTimeout(timer);
}

/**
 * Starts a bench server (node `nodeArgs` `script` `args`) and waits for its
 * `LISTEN <url>[,<url>]` line; resolves with the process and its URLs. A
 * server that does not get that far is stopped before the error is thrown.
 */
export async function startListening(script, args = [], { nodeArgs = [], stderr = 'pipe' } = {}) {
  const proc = launch(process.execPath, [...nodeArgs, script, ...args], { stderr });
  try {
    const [, urls] = await proc.line(/LISTEN (\S+)\n/);
    return { proc, urls: urls.split(',') };
  } catch (err) {
    await stop(proc);
    throw err;
  }
}

/** ops/bench/hubmesh-server.mjs through `startListening`. */
export const startHubmeshServer = (args = [], opts = {}) => startListening(here('./hubmesh-server.mjs'), args, opts);

/** User+system CPU seconds of process `pid` so far, from /proc/<pid>/stat. */
export function cpuSeconds(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** CPU seconds the whole machine was busy so far, over all cores (from /proc/stat, in ticks of 1/100 s). */
export function machineBusySeconds() {
  const [, ...f] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = f;
  return (user + nice + system + irq + softirq + steal) / 100;
}

/** Resident memory of process `pid` in bytes (VmRSS from /proc/<pid>/status). */
export const rssBytes = (pid) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;

/** Open file descriptors of process `pid` (entries of /proc/<pid>/fd). */
export const openFds = (pid) => readdirSync(`/proc/${pid}/fd`).length;

/** The soft limit on open files of process `pid` ("Max open files" in /proc/<pid>/limits); Infinity when unlimited. */
export function maxOpenFiles(pid) {
  const soft = /^Max open files\s+(\S+)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'))[1];
  return soft === 'unlimited' ? Infinity : Number(soft);
}

/** Creates `count` rooms of `roomSize` through POST /api/v1/hubs; resolves with their hub ids. */
export async function createRooms(url, count, roomSize) {
  const ids = [];
  for (let r = 0; r < count; r++) {
    const res = await fetch(`${url}/api/v1/hubs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ hub: { name: `bench ${r}`, room_size: roomSize } }) });
    const body = await res.json();
    if (res.status !== 200) throw new Error(`creating bench room ${r} failed: ${res.status} ${JSON.stringify(body)}`);
    ids.push(body.hub_id);
  }
  return ids;
}

/** The `p` quantile (0..1) of an ascending array, or null when it is empty. */
export const quantile = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : null);

/** SIGKILLs every launched process still running. */
export function killStarted() {
  for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

/**
 * Runs `main` and exits: 0 when it resolves (or the number it resolves
 * with), 1 when it throws or has not finished within `limitMs`. On failure or
 * overrun every launched process still running is SIGKILLed by pid first.
 */
export function runBounded(main, { limitMs, name = 'bench' }) {
  const limit = setTimeout(() => {
    process.stderr.write(`${name}: gave up after ${limitMs} ms\n`);
    killStarted();
    process.exit(1);
  }, limitMs);
  limit.unref();
  main().then(
    (code) => process.exit(typeof code === 'number' ? code : 0),
    (err) => {
      process.stderr.write(`${name}: ${err.stack ?? err}\n`);
      killStarted();
      process.exit(1);
    },
  );
}
