/**
 * The `hubmesh` command. `serve` runs a node until SIGINT or SIGTERM, then
 * shuts it down in order. Human-facing output goes to stdout/stderr; the
 * node's own logs are JSON lines from pino.
 */
import { parseArgs } from 'node:util';
import { describeConfig, loadConfig } from './config.js';
import { AppError } from './errors.js';
import { openStore, startNode, VERSION } from './main.js';
import { migrateToLatest, SqlStore } from './adapters/sql-store.js';

const USAGE = `Usage: hubmesh <command> [options]

Commands:
  serve       run a relay node (HTTP API, shared links and the Phoenix socket)
  migrate     apply database migrations (PGlite in the data dir, or DATABASE_URL)
  help        show this help

Options:
  --version   print the version
  -h, --help  show help for a command
`;

const SERVE_USAGE = `Usage: hubmesh serve [--host HOST] [--port PORT]

Runs one hubmesh node in the foreground. Settings come from the environment;
the flags override HUBMESH_HOST and HUBMESH_PORT.

Settings:
${describeConfig()
  .map((s) => `  ${s.env.padEnd(34)} ${s.description}${s.default === '(none)' ? '' : ` (default ${s.default})`}`)
  .join('\n')}
`;

function write(stream: NodeJS.WriteStream, text: string): void {
  stream.write(text.endsWith('\n') ? text : `${text}\n`);
}

async function serve(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { host: { type: 'string' }, port: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true });
  if (values.help) {
    write(process.stdout, SERVE_USAGE);
    return 0;
  }
  const config = loadConfig(process.env, { host: values.host, port: values.port });
  const node = await startNode(config);
  write(process.stdout, `hubmesh ${VERSION} is serving on ${node.url}\nCreate a room:\n  curl -X POST -H 'content-type: application/json' -d '{"hub":{"name":"Demo"}}' ${node.url}/api/v1/hubs`);
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      write(process.stdout, `${signal}: shutting down`);
      process.once(signal, () => process.exit(1)); // a second signal does not wait
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await node.close();
  return 0;
}

const MIGRATE_USAGE = `Usage: hubmesh migrate

Applies every database migration not yet applied, to PostgreSQL when
DATABASE_URL is set, otherwise to PGlite under HUBMESH_DATA_DIR, and lists
what it applied. \`hubmesh serve\` does the same at start unless
HUBMESH_AUTO_MIGRATE=false.
`;

async function migrate(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { help: { type: 'boolean', short: 'h' } }, strict: true });
  if (values.help) {
    write(process.stdout, MIGRATE_USAGE);
    return 0;
  }
  const config = loadConfig(process.env);
  const store = await openStore(config, { migrate: false });
  try {
    if (!(store instanceof SqlStore)) throw new TypeError('the configured store has no migrations');
    const applied = await migrateToLatest(store.db as Parameters<typeof migrateToLatest>[0]);
    write(process.stdout, applied.length === 0 ? 'database is up to date' : `applied:\n${applied.map((m) => `  ${m}`).join('\n')}`);
  } finally {
    await store.close();
  }
  return 0;
}

/** Runs the CLI with `argv` (without node and script); resolves to the exit code. */
export async function runCli(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'serve':
        return await serve(rest);
      case 'migrate':
        return await migrate(rest);
      case '--version':
      case 'version':
        write(process.stdout, VERSION);
        return 0;
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        write(process.stdout, USAGE);
        return 0;
      default:
        write(process.stderr, `hubmesh: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
        return 2;
    }
  } catch (err) {
    if (err instanceof AppError && (err.code === 'CONFIG_INVALID' || err.code === 'PERSIST_FAILED')) {
      const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
      write(process.stderr, `hubmesh: ${err.message}${cause}`);
      return 1;
    }
    if (err instanceof TypeError && (err as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
      write(process.stderr, `hubmesh: ${err.message}`);
      return 2;
    }
    throw err;
  }
}
