/**
 * The deployment files in ops/ checked against the code, since no container
 * engine runs in CI: the container file builds in one stage and runs in
 * another, as a non-root user, from the built CLI, with the ports and
 * settings the config really has; the systemd unit runs the same command
 * with room to drain.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { describeConfig, loadConfig } from '../../src/config.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = (path: string) => readFileSync(`${ROOT}${path}`, 'utf8');

/** Instructions of a container file: continuation lines joined, comments dropped. */
function instructions(text: string): { op: string; args: string }[] {
  const joined = text.replace(/\\\n/g, ' ');
  return joined
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const [op, ...rest] = l.split(/\s+/);
      return { op: op!.toUpperCase(), args: rest.join(' ') };
    });
}

const settings = describeConfig();
const envNames = new Set(settings.map((s) => s.env));
const defaults = loadConfig({});

describe('ops/Containerfile', () => {
  const all = instructions(read('ops/Containerfile'));
  const stages: { op: string; args: string }[][] = [];
  for (const i of all) {
    if (i.op === 'FROM') stages.push([]);
    stages.at(-1)?.push(i);
  }
  const run = stages.at(-1)!;
  const ofRun = (op: string) => run.filter((i) => i.op === op);

  it('builds in one stage and runs in another, on a slim Node LTS image', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const images = stages.map((s) => s[0]!.args.split(/\s+/)[0]!);
    for (const image of images) {
      const major = Number(/^node:(\d+)-slim$/.exec(image)?.[1]);
      // Even majors are Node's LTS lines.
      expect(major % 2).toBe(0);
      expect(major).toBeGreaterThanOrEqual(20);
    }
    const build = stages[0]!.map((i) => `${i.op} ${i.args}`).join('\n');
    expect(build).toMatch(/RUN npm ci\b/);
    expect(build).toMatch(/npm run build/);
    expect(build).toMatch(/npm prune --omit=dev/);
    // The running image gets what the build made, not the sources.
    expect(ofRun('COPY').every((c) => c.args.startsWith('--from='))).toBe(true);
    expect(ofRun('COPY').map((c) => c.args)).toEqual(expect.arrayContaining([expect.stringMatching(/\/dist \.\/dist$/), expect.stringMatching(/\/node_modules \.\/node_modules$/), expect.stringMatching(/\/bin \.\/bin$/)]));
  });

  it('copies only paths the repository has', () => {
    for (const copy of stages[0]!.filter((i) => i.op === 'COPY')) {
      const parts = copy.args.split(/\s+/).filter((p) => !p.startsWith('--'));
      for (const source of parts.slice(0, -1)) expect(existsSync(`${ROOT}${source}`), source).toBe(true);
    }
  });

  it('runs as an unprivileged user, from the CLI, for any role', () => {
    const users = ofRun('USER').map((u) => u.args);
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)).not.toMatch(/^(root|0)(:|$)/);
    expect(JSON.parse(ofRun('ENTRYPOINT')[0]!.args)).toEqual(['node', 'bin/hubmesh.js']);
    expect(JSON.parse(ofRun('CMD')[0]!.args)).toEqual(['serve']);
    expect(ofRun('STOPSIGNAL')[0]!.args).toBe('SIGTERM');
    expect(ofRun('HEALTHCHECK')[0]!.args).toContain('/healthz');
  });

  it('sets only settings the config has, and exposes the ports they name', () => {
    const env = ofRun('ENV').flatMap((e) => [...e.args.matchAll(/([A-Z_]+)=(\S+)/g)].map((m) => [m[1]!, m[2]!] as const));
    for (const [name] of env) if (name.startsWith('HUBMESH_')) expect(envNames.has(name), name).toBe(true);
    const value = (name: string) => env.find(([n]) => n === name)?.[1];
    const exposed = ofRun('EXPOSE').flatMap((e) => e.args.split(/\s+/));
    expect(exposed).toContain(`${value('HUBMESH_PORT') ?? defaults.port}/tcp`);
    expect(exposed).toContain(`${value('HUBMESH_SFU_PORT') ?? defaults.sfuPort}/tcp`);
    expect(exposed).toContain(`${defaults.sfuRtcMinPort}-${defaults.sfuRtcMaxPort}/udp`);
    expect(value('HUBMESH_HOST')).toBe('0.0.0.0');
    const dataDir = value('HUBMESH_DATA_DIR');
    expect(ofRun('VOLUME')[0]!.args).toContain(dataDir);
  });
});

describe('ops/hubmesh.service', () => {
  const unit = read('ops/hubmesh.service');
  const keys = (name: string) => [...unit.matchAll(new RegExp(`^${name}=(.*)$`, 'gm'))].map((m) => m[1]!);

  it('runs the CLI as its own user and gives the drain time before SIGKILL', () => {
    expect(keys('ExecStart')[0]).toMatch(/bin\/hubmesh\.js serve$/);
    expect(keys('User')[0]).not.toBe('root');
    expect(keys('KillSignal')[0]).toBe('SIGTERM');
    expect(Number(keys('TimeoutStopSec')[0]) * 1000).toBeGreaterThan(defaults.drainGraceMs);
  });

  it('writes only to the data directory it names, with settings the config has', () => {
    const env = keys('Environment').map((e) => e.split('=') as [string, string]);
    for (const [name] of env) if (name.startsWith('HUBMESH_')) expect(envNames.has(name), name).toBe(true);
    const dataDir = env.find(([n]) => n === 'HUBMESH_DATA_DIR')?.[1];
    expect(keys('ProtectSystem')[0]).toBe('strict');
    expect(keys('ReadWritePaths')[0]).toBe(dataDir);
    expect(`/var/lib/${keys('StateDirectory')[0]}`).toBe(dataDir);
  });
});

describe('ops/prometheus-alerts.yml and ops/grafana-dashboard.json', () => {
  /** Every metric name the code can expose: the string literals of src/, actors/ and sfu/ that look like one, and the prefixes of names built from a template (`sfu_${kind}`). */
  const prefixes = new Set<string>();
  function namesInCode(): Set<string> {
    const names = new Set<string>();
    const walk = (dir: string) => {
      for (const entry of readdirSync(`${ROOT}${dir}`, { withFileTypes: true })) {
        const path = `${dir}/${entry.name}`;
        if (entry.isDirectory()) walk(path);
        else if (entry.name.endsWith('.ts')) {
          const text = read(path);
          for (const m of text.matchAll(/'([a-z][a-z0-9_]*)'/g)) names.add(m[1]!);
          for (const m of text.matchAll(/`([a-z][a-z0-9_]*_)\$\{/g)) prefixes.add(m[1]!);
        }
      }
    };
    for (const dir of ['src', 'actors', 'sfu']) walk(dir);
    return names;
  }
  const known = namesInCode();
  /** Metric names in a PromQL expression: identifiers followed by a selector, a range or a bracket, less functions and labels. */
  const metricsIn = (expr: string): string[] =>
    [...expr.replace(/\{[^}]*\}/g, '{}').matchAll(/\b([a-z_][a-z0-9_]*)\s*(?=\{|\[|\)|$|\s*[<>=!])/g)]
      .map((m) => m[1]!)
      .filter((n) => !['by', 'without', 'sum', 'rate', 'increase', 'histogram_quantile', 'on', 'ignoring', 'and', 'or', 'unless', 'le', 'instance', 'job'].includes(n));
  const isKnown = (name: string) => known.has(name.replace(/_(bucket|sum|count)$/, '')) || [...prefixes].some((p) => name.startsWith(p)) || /^(process|nodejs)_/.test(name) || name === 'up';

  it('alert only on metrics a node exposes, each alert explained in the runbook', () => {
    const rules = read('ops/prometheus-alerts.yml');
    const runbook = read('ops/RUNBOOK.md');
    const alerts = [...rules.matchAll(/- alert: (\w+)\n\s+expr: (.+)/g)];
    expect(alerts.length).toBeGreaterThan(5);
    for (const [, alert, expr] of alerts) {
      for (const name of metricsIn(expr!)) expect(isKnown(name), `${alert}: ${name}`).toBe(true);
      expect(runbook, alert).toContain(`\`${alert}\``);
    }
  });

  it('chart only metrics a node exposes', () => {
    const exprs: string[] = [];
    const walk = (o: unknown): void => {
      if (Array.isArray(o)) o.forEach(walk);
      else if (o && typeof o === 'object') {
        for (const [k, v] of Object.entries(o)) {
          if (k === 'expr' && typeof v === 'string') exprs.push(v);
          else walk(v);
        }
      }
    };
    walk(JSON.parse(read('ops/grafana-dashboard.json')));
    expect(exprs.length).toBeGreaterThan(10);
    for (const expr of exprs) for (const name of metricsIn(expr.replace(/\$__rate_interval|\$instance/g, 'x'))) expect(isKnown(name), `${name} in ${expr}`).toBe(true);
  });
});
