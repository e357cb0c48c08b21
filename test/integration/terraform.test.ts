/**
 * The Terraform module in terraform/: formatted, every variable typed and
 * described, no secret with a default, the resources the README promises, and
 * the setting names and ports of src/config.ts. The variable checks are run
 * with `terraform plan` on the variables alone, which needs no provider;
 * `terraform validate` needs the providers from the registry and is left to
 * operators (terraform/README.md).
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { configEnv, configSchema } from '../../src/config.js';
import { findBinary, isServicesRequired, needsBinary } from '../support/services.js';

// Loaded by a specifier TypeScript does not follow: the package's typings carry
// `/// <reference lib="dom" />`, which would retype the whole test program
// (Buffer as BlobPart, NodeList iteration) against the DOM.
const HCL2JSON = '@cdktf/hcl2json';
const { parse } = (await import(HCL2JSON)) as { parse(filename: string, contents: string): Promise<Record<string, unknown>> };

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MODULE = join(ROOT, 'terraform');
const terraform = findBinary('terraform');

type Hcl = Record<string, unknown>;

/** hcl2json gives each block as a list of bodies; the first (and, here, only) one. */
function block(body: unknown, name: string): Hcl {
  const list = (body as Hcl | undefined)?.[name];
  expect(Array.isArray(list), `block ${name}`).toBe(true);
  return (list as Hcl[])[0]!;
}

function blocks(body: unknown, name: string): Hcl[] {
  const list = (body as Hcl | undefined)?.[name];
  return Array.isArray(list) ? (list as Hcl[]) : [];
}

/** `${var.x}` -> `var.x`; literals unchanged. */
function expr(value: unknown): string {
  return typeof value === 'string' ? value.replace(/^\$\{([\s\S]*)\}$/, '$1') : JSON.stringify(value);
}

async function tfFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await tfFiles(path)));
    else if (entry.name.endsWith('.tf')) out.push(path);
  }
  return out.sort();
}

interface Parsed {
  readonly file: string;
  readonly json: Hcl;
}

/** Every `env` of a container: the static blocks and the `content` of dynamic ones. */
function envOf(container: Hcl): Hcl[] {
  const dynamic = blocks(container, 'dynamic').flatMap((d) => blocks(d, 'env').flatMap((e) => blocks(e, 'content')));
  return [...blocks(container, 'env'), ...dynamic];
}

function envValue(container: Hcl, name: string): Hcl {
  const env = envOf(container).find((e) => e['name'] === name);
  expect(env, `env ${name}`).toBeDefined();
  return env!;
}

function run(cmd: string, args: string[], cwd: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, env: { ...process.env, TF_IN_AUTOMATION: '1', CHECKPOINT_DISABLE: '1', TF_CLI_CONFIG_FILE: '/dev/null', NO_COLOR: '1' }, timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

describe('terraform module', () => {
  let parsed: Parsed[] = [];
  /** The module's own files (not the examples). */
  let module: { variable: Record<string, Hcl[]>; resource: Record<string, Record<string, Hcl[]>>; locals: Hcl; output: Record<string, Hcl[]> };

  beforeAll(async () => {
    const files = await tfFiles(MODULE);
    parsed = await Promise.all(files.map(async (file) => ({ file: relative(ROOT, file), json: await parse(file, await readFile(file, 'utf8')) })));
    module = { variable: {}, resource: {}, locals: {}, output: {} };
    for (const { file, json } of parsed) {
      if (!/^terraform\/[^/]+\.tf$/.test(file)) continue;
      Object.assign(module.variable, json['variable'] ?? {});
      Object.assign(module.output, json['output'] ?? {});
      for (const l of (json['locals'] as Hcl[] | undefined) ?? []) Object.assign(module.locals, l);
      for (const [type, byName] of Object.entries((json['resource'] as Record<string, Record<string, Hcl[]>> | undefined) ?? {})) {
        module.resource[type] = { ...module.resource[type], ...byName };
      }
    }
  });

  const resource = (type: string, name: string): Hcl => {
    const r = module.resource[type]?.[name]?.[0];
    expect(r, `${type}.${name}`).toBeDefined();
    return r!;
  };
  const podSpec = (workload: Hcl): Hcl => block(block(block(workload, 'spec'), 'template'), 'spec');
  const variableDefault = (name: string): unknown => module.variable[name]?.[0]?.['default'];

  it('has a module and an example', () => {
    const names = parsed.map((p) => p.file);
    expect(names).toContain('terraform/variables.tf');
    expect(names).toContain('terraform/outputs.tf');
    expect(names.some((n) => n.startsWith('terraform/examples/basic/'))).toBe(true);
  });

  it('types and describes every variable, and gives no secret a default', () => {
    let count = 0;
    for (const { file, json } of parsed) {
      for (const [name, [v]] of Object.entries((json['variable'] as Record<string, Hcl[]> | undefined) ?? {})) {
        count++;
        expect(v?.['type'], `${file}: variable ${name} has a type`).toBeDefined();
        expect(typeof v?.['description'] === 'string' && v['description'].length > 10, `${file}: variable ${name} has a description`).toBe(true);
        if (/secret|password|token|key/i.test(name)) expect(v, `${file}: variable ${name} looks secret and has a default`).not.toHaveProperty('default');
      }
    }
    expect(count).toBeGreaterThan(20);
  });

  it('describes every output', () => {
    for (const { file, json } of parsed) {
      for (const [name, [o]] of Object.entries((json['output'] as Record<string, Hcl[]> | undefined) ?? {})) {
        expect(typeof o?.['description'], `${file}: output ${name}`).toBe('string');
      }
    }
    expect(expr(module.output['public_url']?.[0]?.['value'])).toBe('local.public_url');
    expect(expr(module.locals['public_url'])).toBe('https://${var.host}');
  });

  it('lists exactly the settings of src/config.ts', () => {
    expect([...(module.locals['app_settings'] as string[])].sort()).toEqual(Object.values(configEnv).sort());
    for (const name of module.locals['managed_settings'] as string[]) expect(Object.values(configEnv)).toContain(name);
  });

  it('uses the default ports and grace of src/config.ts', () => {
    const props = configSchema.properties;
    expect(variableDefault('relay_port')).toBe(props.port.default);
    expect(variableDefault('sfu_signaling_port')).toBe(props.sfuPort.default);
    expect(variableDefault('sfu_rtc_min_port')).toBe(props.sfuRtcMinPort.default);
    expect(variableDefault('sfu_rtc_max_port')).toBe(props.sfuRtcMaxPort.default);
    expect(variableDefault('drain_grace_ms')).toBe(props.drainGraceMs.default);
    expect(variableDefault('log_level')).toBe(props.logLevel.default);
    expect(module.locals['data_dir']).toBe('/var/lib/hubmesh');
  });

  it('sets only settings the server knows, with their values from the variables', () => {
    const known = new Set(Object.values(configEnv));
    const helpers = new Set(['NODE_NAME', 'HOST_IP']);
    const relay = block(podSpec(resource('kubernetes_deployment_v1', 'relay')), 'container');
    const sfu = block(podSpec(resource('kubernetes_daemon_set_v1', 'sfu')), 'container');
    for (const container of [relay, sfu]) {
      for (const env of envOf(container)) {
        const name = String(env['name']);
        if (name.startsWith('${')) continue; // extra_env, checked by its validation against app_settings
        expect(known.has(name) || helpers.has(name), `env ${name} is a setting of src/config.ts`).toBe(true);
      }
    }
    expect(envValue(relay, 'HUBMESH_ROLE')['value']).toBe('relay');
    expect(relay['args']).toEqual(['serve', '--role', 'relay']);
    expect(expr(envValue(relay, 'HUBMESH_PORT')['value'])).toBe('tostring(var.relay_port)');
    expect(expr(envValue(relay, 'HUBMESH_DRAIN_GRACE_MS')['value'])).toBe('tostring(var.drain_grace_ms)');
    expect(expr(envValue(relay, 'HUBMESH_PUBLIC_URL')['value'])).toBe('local.public_url');
    expect(expr(envValue(relay, 'HUBMESH_DATA_DIR')['value'])).toBe('local.data_dir');
    expect(expr(envValue(relay, 'NATS_URL')['value'])).toBe('local.nats_url');
    for (const [name, variable] of [['DATABASE_URL', 'database_url_secret'], ['HUBMESH_SECRET', 'hubmesh_secret']] as const) {
      const ref = block(block(envValue(relay, name), 'value_from'), 'secret_key_ref');
      expect(expr(ref['name'])).toBe(`var.${variable}.name`);
      expect(expr(ref['key'])).toBe(`var.${variable}.key`);
    }

    expect(envValue(sfu, 'HUBMESH_ROLE')['value']).toBe('sfu');
    expect(sfu['args']).toEqual(['serve', '--role', 'sfu']);
    expect(expr(envValue(sfu, 'HUBMESH_SFU_PORT')['value'])).toBe('tostring(var.sfu_signaling_port)');
    expect(expr(envValue(sfu, 'HUBMESH_SFU_RTC_MIN_PORT')['value'])).toBe('tostring(var.sfu_rtc_min_port)');
    expect(expr(envValue(sfu, 'HUBMESH_SFU_RTC_MAX_PORT')['value'])).toBe('tostring(var.sfu_rtc_max_port)');
    expect(expr(envValue(sfu, 'HUBMESH_SFU_PUBLIC_HOST')['value'])).toBe('var.sfu_public_host');
    expect(expr(envValue(sfu, 'HUBMESH_SFU_ANNOUNCED_IP')['value'])).toBe('coalesce(var.sfu_announced_ip, "$(HOST_IP)")');
    expect(block(block(envValue(sfu, 'HOST_IP'), 'value_from'), 'field_ref')['field_path']).toBe('status.hostIP');
    expect(expr(envValue(sfu, 'NATS_URL')['value'])).toBe('local.nats_url');
    expect(block(envValue(sfu, 'HUBMESH_SECRET'), 'value_from')).toHaveProperty('secret_key_ref');
    // Kubernetes expands $(NODE_NAME) and $(HOST_IP) only from variables defined earlier in the list.
    const order = envOf(sfu).map((e) => e['name']);
    expect(order.indexOf('NODE_NAME')).toBeLessThan(order.indexOf('HUBMESH_SFU_PUBLIC_HOST'));
    expect(order.indexOf('HOST_IP')).toBeLessThan(order.indexOf('HUBMESH_SFU_ANNOUNCED_IP'));
  });

  it('takes every secret setting from a Secret, never from a value', () => {
    for (const [type, name] of [['kubernetes_deployment_v1', 'relay'], ['kubernetes_daemon_set_v1', 'sfu']] as const) {
      for (const env of envOf(block(podSpec(resource(type, name)), 'container'))) {
        if (!(module.locals['secret_settings'] as string[]).includes(String(env['name']))) continue;
        expect(env, `${name}: ${String(env['name'])}`).not.toHaveProperty('value');
        expect(block(env, 'value_from'), `${name}: ${String(env['name'])}`).toHaveProperty('secret_key_ref');
      }
    }
  });

  it('keeps service links out of the environment', () => {
    // They would add HUBMESH_RELAY_* variables, and the server refuses unknown HUBMESH_* at start.
    expect(podSpec(resource('kubernetes_deployment_v1', 'relay'))['enable_service_links']).toBe(false);
    expect(podSpec(resource('kubernetes_daemon_set_v1', 'sfu'))['enable_service_links']).toBe(false);
  });

  it('runs the relays with probes, graceful shutdown, an autoscaler, a disruption budget, a Service and a TLS Ingress', () => {
    const deployment = resource('kubernetes_deployment_v1', 'relay');
    const spec = podSpec(deployment);
    const container = block(spec, 'container');
    const probe = (name: string) => block(block(container, name), 'http_get');
    expect(probe('readiness_probe')['path']).toBe('/readyz');
    expect(probe('liveness_probe')['path']).toBe('/healthz');
    expect(expr(probe('readiness_probe')['port'])).toBe('var.relay_port');
    expect(expr(probe('liveness_probe')['port'])).toBe('var.relay_port');
    expect(expr(block(container, 'port')['container_port'])).toBe('var.relay_port');
    expect(expr(spec['termination_grace_period_seconds'])).toBe('local.relay_termination_grace_seconds');
    expect(expr(module.locals['relay_termination_grace_seconds'])).toMatch(/ceil\(var\.drain_grace_ms \/ 1000\) \+ var\.shutdown_margin_seconds/);
    expect(expr(block(block(deployment, 'lifecycle'), 'precondition')['condition'])).toContain('var.drain_grace_ms');
    expect(block(spec, 'security_context')['run_as_non_root']).toBe(true);

    const hpa = block(resource('kubernetes_horizontal_pod_autoscaler_v2', 'relay'), 'spec');
    expect(expr(hpa['min_replicas'])).toBe('var.relay_min_replicas');
    expect(expr(hpa['max_replicas'])).toBe('var.relay_max_replicas');
    expect(block(hpa, 'scale_target_ref')['kind']).toBe('Deployment');
    expect(expr(block(hpa, 'scale_target_ref')['name'])).toBe('kubernetes_deployment_v1.relay.metadata[0].name');
    const metric = block(hpa, 'metric');
    expect(block(metric, 'resource')['name']).toBe('cpu');
    expect(block(block(metric, 'resource'), 'target')['type']).toBe('Utilization');

    const pdb = block(resource('kubernetes_pod_disruption_budget_v1', 'relay'), 'spec');
    expect(expr(block(pdb, 'selector')['match_labels'])).toBe('local.relay_selector');
    expect(expr(block(block(deployment, 'spec'), 'selector')['match_labels'])).toBe('local.relay_selector');

    const service = block(resource('kubernetes_service_v1', 'relay'), 'spec');
    expect(expr(block(service, 'port')['port'])).toBe('var.relay_port');

    const ingress = block(resource('kubernetes_ingress_v1', 'relay'), 'spec');
    const tls = block(ingress, 'tls');
    expect(expr(tls['secret_name'])).toBe('var.tls.secret_name');
    expect(tls['hosts']).toEqual(['${var.host}']);
    expect(expr(block(ingress, 'rule')['host'])).toBe('var.host');
    expect(expr(block(resource('kubernetes_ingress_v1', 'relay'), 'metadata')['annotations'])).toContain('cert-manager.io/cluster-issuer');
  });

  it('runs the SFUs on the host network with the UDP range', () => {
    const daemonSet = resource('kubernetes_daemon_set_v1', 'sfu');
    const spec = podSpec(daemonSet);
    expect(spec['host_network']).toBe(true);
    expect(spec['dns_policy']).toBe('ClusterFirstWithHostNet');
    const container = block(spec, 'container');
    expect(expr(block(block(container, 'liveness_probe'), 'http_get')['port'])).toBe('var.sfu_signaling_port');
    expect(block(block(container, 'liveness_probe'), 'http_get')['path']).toBe('/healthz');
    expect(expr(block(container, 'port')['host_port'])).toBe('var.sfu_signaling_port');
  });

  it('validates the port range against the signaling, relay and NodePort ports', () => {
    expect(module.locals['node_port_min']).toBe(30000);
    expect(module.locals['node_port_max']).toBe(32767);
    const conditions = (name: string) => blocks(module.variable[name]?.[0], 'validation').map((v) => expr(v['condition'])).join('\n');
    const range = conditions('sfu_rtc_max_port');
    expect(range).toContain('var.sfu_rtc_max_port - var.sfu_rtc_min_port + 1');
    expect(range).toContain('local.node_port_min');
    expect(range).toContain('local.node_port_max');
    expect(range).toContain('var.sfu_signaling_port');
    expect(range).toContain('var.relay_port');
    expect(conditions('sfu_rtc_min_port')).toContain('var.sfu_rtc_min_port >= 1024');
    expect(conditions('sfu_signaling_port')).toContain('var.relay_port');
    expect(conditions('sfu_signaling_port')).toContain('local.node_port_min');
  });

  it('installs NATS from the official chart as a 3-node JetStream cluster', () => {
    const nats = resource('helm_release', 'nats');
    expect(nats['repository']).toBe('https://nats-io.github.io/k8s/helm/charts/');
    expect(nats['chart']).toBe('nats');
    expect(expr(nats['version'])).toBe('var.nats_chart_version');
    expect(variableDefault('nats_chart_version')).toMatch(/^\d+\.\d+\.\d+$/);
    expect(nats['values']).toEqual(['${yamlencode(local.nats_values)}']);
    const config = (module.locals['nats_values'] as { config: { cluster: Hcl; jetstream: Hcl } }).config;
    expect(config.cluster['enabled']).toBe(true);
    expect(expr(config.cluster['replicas'])).toBe('var.nats_replicas');
    expect(variableDefault('nats_replicas')).toBe(3);
    expect(config.jetstream['enabled']).toBe(true);
    expect(expr(module.locals['nats_url'])).toMatch(/^nats:\/\/\$\{local\.nats_name\}\.\$\{local\.namespace\}\.svc:4222$/);
  });

  it('keeps uploads on a PersistentVolumeClaim mounted as files/ of the data directory', () => {
    const pvc = block(resource('kubernetes_persistent_volume_claim_v1', 'files'), 'spec');
    expect(expr(pvc['storage_class_name'])).toBe('var.files_storage_class');
    expect(expr(block(pvc, 'resources')['requests'])).toContain('var.files_storage_size');
    const container = block(podSpec(resource('kubernetes_deployment_v1', 'relay')), 'container');
    const mounts = blocks(container, 'volume_mount').map((m) => [m['name'], expr(m['mount_path'])]);
    expect(mounts).toContainEqual(['files', '${local.data_dir}/files']);
    expect(mounts).toContainEqual(['perms-key', '${local.data_dir}/perms_key.pem']);
  });

  it('has an example whose extra settings the server knows', () => {
    const example = parsed.find((p) => p.file === 'terraform/examples/basic/main.tf')!.json;
    const hubmesh = block(example['module'], 'hubmesh');
    expect(hubmesh['source']).toBe('../..');
    for (const name of Object.keys(hubmesh['extra_env'] as Hcl)) expect(Object.values(configEnv)).toContain(name);
  });

  it('documents every variable and output, and how to validate', async () => {
    const readme = await readFile(join(MODULE, 'README.md'), 'utf8');
    for (const name of Object.keys(module.variable)) expect(readme, `variable ${name}`).toContain(`| \`${name}\` |`);
    for (const name of Object.keys(module.output)) expect(readme, `output ${name}`).toContain(`| \`${name}\` |`);
    expect(readme).toContain('terraform init && terraform validate');
    const example = await readFile(join(MODULE, 'examples/basic/README.md'), 'utf8');
    expect(example).toContain('terraform init && terraform validate');
  });

  // Without terraform these skip, or fail when HUBMESH_REQUIRE_SERVICES=1.
  if (!needsBinary(terraform, 'terraform', 'install Terraform >= 1.9 (terraform on PATH)') && !isServicesRequired) {
    it.skip('terraform fmt and the variable checks (terraform not found on PATH)', () => undefined);
  }

  if (terraform !== undefined) {
    it('is formatted (terraform fmt -check -recursive terraform/)', async () => {
      const { code, output } = await run(terraform, ['fmt', '-check', '-recursive', 'terraform/'], ROOT);
      expect(output.trim() === '' || code === 0, `files to format:\n${output}`).toBe(true);
      expect(code).toBe(0);
    });

    it('refuses bad port ranges and unknown settings at plan time', { timeout: 180_000 }, async () => {
      // The variables with their checks and the constants they use, without the
      // resources: planning them needs no provider and no registry.
      const dir = await mkdtemp(join(tmpdir(), 'hubmesh-tf-'));
      try {
        for (const f of ['variables.tf', 'settings.tf']) await copyFile(join(MODULE, f), join(dir, f));
        await writeFile(
          join(dir, 'test.tfvars'),
          [
            'image_repository    = "registry.example.org/hubmesh"',
            'image_tag           = "0.1.0"',
            'host                = "hubs.example.org"',
            'tls                 = { secret_name = "hubmesh-tls" }',
            'database_url_secret = { name = "hubmesh-db" }',
            'hubmesh_secret      = { name = "hubmesh-keys" }',
            'perms_key_secret    = { name = "hubmesh-keys" }',
            'sfu_public_host     = "$(NODE_NAME).sfu.example.org"',
            '',
          ].join('\n'),
        );
        const init = await run(terraform, ['init', '-no-color', '-input=false', '-backend=false'], dir);
        expect(init.code, init.output).toBe(0);
        const plan = (...vars: string[]) => run(terraform, ['plan', '-no-color', '-input=false', '-lock=false', '-var-file=test.tfvars', ...vars.flatMap((v) => ['-var', v])], dir);

        const ok = await plan();
        expect(ok.code, ok.output).toBe(0);
        const cases: [string[], RegExp][] = [
          [['sfu_rtc_min_port=31000', 'sfu_rtc_max_port=33000'], /must not overlap the NodePort range/],
          [['sfu_rtc_min_port=20000', 'sfu_rtc_max_port=29999', 'sfu_signaling_port=25000'], /must not contain sfu_signaling_port/],
          [['relay_port=45000'], /must not contain relay_port/],
          [['sfu_rtc_max_port=40050'], /at least sfu_rtc_min_port \+ 99/],
          [['sfu_signaling_port=4000'], /must differ from relay_port/],
          [['sfu_signaling_port=31000'], /outside the NodePort range/],
          [['extra_env={HUBMESH_NO_SUCH_SETTING="1"}'], /may only name settings hubmesh reads/],
          [['extra_env={HUBMESH_PORT="1"}'], /may not set/],
        ];
        for (const [vars, message] of cases) {
          const { code, output } = await plan(...vars);
          expect(code, `${vars.join(' ')} is refused`).not.toBe(0);
          expect(output.replace(/\s*│\s*/g, ' ').replace(/\s+/g, ' '), vars.join(' ')).toMatch(message);
        }
        const fine = await plan('sfu_rtc_min_port=50000', 'sfu_rtc_max_port=59999', 'extra_env={HUBMESH_MAX_ROOM_SIZE="30"}');
        expect(fine.code, fine.output).toBe(0);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  }
});
