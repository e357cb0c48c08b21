/**
 * `npm run soak` in short: the soak (ops/bench/soak.mjs) for a few seconds
 * with a small load, as its own processes, checking that it reports samples
 * with sane figures and stops everything it started. Too short for a growth
 * verdict, so it must say so. Build first (`npm test` does).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { within } from '../support/wait.js';

const SOAK = fileURLToPath(new URL('../../ops/bench/soak.mjs', import.meta.url));

interface Row {
  t: number;
  rssMiB: number;
  heapUsedMiB: number | null;
  lagP99Ms: number | null;
  handles: number | null;
  fds: number;
  sockets: number | null;
  rooms: number | null;
  gen?: { sent: number; delivered: number; deliveryRatio: number | null; joins: number; leaves: number; joinErrors: number; clients: number };
}

interface Report {
  samples: Row[];
  idle: Row;
  drained: Row;
  final: { sent: number; delivered: number; expected: number; deliveryRatio: number; joins: number; leaves: number; joinErrors: number };
  trend: { verdict: string; series: Record<string, { slopePer10Min: number | null }> };
}

function runSoak(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, [SOAK, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return within(new Promise((resolve) => child.once('exit', (code) => resolve({ code, out, err }))), 50_000, 'the soak to finish');
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('npm run soak', () => {
  it('samples a churning load and reports it, with no verdict for a short run', { timeout: 60_000 }, async () => {
    const { code, out, err } = await runSoak(['--minutes', '0.3', '--interval', '3', '--rooms', '2', '--clients', '4', '--rate', '5', '--churn', '1', '--json']);
    expect(code, err).toBe(0);
    const report = JSON.parse(out) as Report;

    // A row at the start and one per interval, each with the server's figures.
    expect(report.samples.length).toBeGreaterThanOrEqual(6);
    for (const row of report.samples) {
      expect(row.rssMiB).toBeGreaterThan(10);
      expect(row.heapUsedMiB).toBeGreaterThan(1);
      expect(row.lagP99Ms).toBeGreaterThanOrEqual(0);
      expect(row.handles).toBeGreaterThan(0);
      expect(row.fds).toBeGreaterThan(0);
      expect(row.rooms).toBe(2);
      expect(row.sockets).toBeGreaterThanOrEqual(8);
    }
    const load = report.samples.slice(1).map((r) => r.gen!);
    expect(load.reduce((n, g) => n + g.sent, 0)).toBeGreaterThan(0);
    expect(load.reduce((n, g) => n + g.joins, 0)).toBeGreaterThan(0);
    expect(load.reduce((n, g) => n + g.leaves, 0)).toBeGreaterThan(0);

    // Churn keeps the rooms full, and what was sent arrived.
    expect(report.final.joinErrors).toBe(0);
    expect(report.final.leaves).toBeGreaterThan(0);
    expect(report.final.delivered).toBeGreaterThan(0);
    expect(report.final.deliveryRatio).toBeGreaterThan(0.95);

    // After the load the server's sockets are gone.
    expect(report.drained.sockets).toBe(0);
    expect(report.trend.verdict).toBe('insufficient');
    expect(report.trend.series['rssMiB']!.slopePer10Min).not.toBeNull();

    // Nothing it started is left running.
    const pids = [...err.matchAll(/started pid (\d+)/g)].map((m) => Number(m[1]));
    expect(pids).toHaveLength(2);
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
  });
});
