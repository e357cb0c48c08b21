/**
 * The `hubmesh` command. `serve` runs a node until SIGINT or SIGTERM, then
 * shuts it down in order. Human-facing output goes to stdout/stderr; the
 * node's own logs are JSON lines from pino.
 */
import { parseArgs } from 'node:util';
import { describeConfig, loadConfig } from './config.js';
import { AppError } from './errors.js';
import { openStore, startNode, startSfuNode, VERSION } from './main.js';
import { JoseTokens } from './adapters/jose-tokens.js';
import { migrateToLatest, SqlStore } from './adapters/sql-store.js';
import { createLocalAccount, MAX_DISPLAY_NAME, normalizeEmail } from './http/accounts.js';
import type { NewAccount } from './ports/store.js';
import { loadSecrets } from './secrets.js';

const USAGE = `Usage: hubmesh <command> [options]

Commands:
  serve       run a node: relay (HTTP API, shared links, Phoenix socket) and SFU
  migrate     apply database migrations (PGlite in the data dir, or DATABASE_URL)
  accounts    create an account and print a token for it (accounts create --help)
  help        show this help

Options:
  --version   print the version
  -h, --help  show help for a command
`;

const SERVE_USAGE = `Usage: hubmesh serve [--host HOST] [--port PORT] [--role all|relay|sfu]

Runs one hubmesh node in the foreground. Settings come from the environment;
the flags override HUBMESH_HOST, HUBMESH_PORT and HUBMESH_ROLE. Role all runs
the relay and the SFU on one port (the SFU at /sfu); relay runs no SFU; sfu
runs only the SFU, on HUBMESH_SFU_PORT.

Settings:
${describeConfig()
  .map((s) => `  ${s.env.padEnd(34)} ${s.description}${s.default === '(none)' ? '' : ` (default ${s.default})`}`)
  .join('\n')}
`;

function write(stream: NodeJS.WriteStream, text: string): void {
  stream.write(text.endsWith('\n') ? text : `${text}\n`);
}

async function serve(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { host: { type: 'string' }, port: { type: 'string' }, role: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true });
  if (values.help) {
    write(process.stdout, SERVE_USAGE);
    return 0;
  }
  const config = loadConfig(process.env, { host: values.host, port: values.port, role: values.role });
  const node = config.role === 'sfu' ? await startSfuNode(config) : await startNode(config);
  const howTo = `\nCreate a room:\n  curl -X POST -H 'content-type: application/json' -d '{"hub":{"name":"Demo"}}' ${node.url}/api/v1/hubs`;
  write(process.stdout, config.role === 'sfu' ? `hubmesh ${VERSION} SFU is serving on ${node.url}` : `hubmesh ${VERSION} is serving on ${node.url}${howTo}`);
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

const ACCOUNTS_USAGE = `Usage: hubmesh accounts create [--admin] [--email EMAIL] [--name NAME]

Creates an account in the configured database (PostgreSQL when DATABASE_URL
is set, otherwise PGlite under HUBMESH_DATA_DIR) and prints its id and an
account token (valid HUBMESH_ACCOUNT_TOKEN_TTL_S seconds) as
  account_id: <id>
  token: <token>
The token is signed with the node secret (HUBMESH_SECRET, or the one kept in
the data dir), so nodes with the same secret accept it as a bearer token.

Options:
  --admin         the account may administer this server
  --email EMAIL   its email (stored lower-cased; one account per email)
  --name NAME     its display name (at most ${MAX_DISPLAY_NAME} characters)
`;

type AccountArgs = { readonly help: true } | { readonly help: false; readonly account: NewAccount };

/** The parsed arguments of `accounts`, or what is wrong with them. */
function parseAccountArgs(args: string[]): AccountArgs | { readonly problem: string } {
  let parsed;
  try {
    parsed = parseArgs({ args, allowPositionals: true, strict: true, options: { admin: { type: 'boolean' }, email: { type: 'string' }, name: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  } catch (err) {
    if (err instanceof TypeError) return { problem: err.message };
    throw err;
  }
  const { values, positionals } = parsed;
  if (values.help) return { help: true };
  if (positionals.length === 0) return { problem: 'accounts needs a subcommand' };
  if (positionals.length !== 1 || positionals[0] !== 'create') return { problem: `unknown accounts subcommand ${JSON.stringify(positionals.join(' '))}` };
  const email = values.email === undefined ? null : normalizeEmail(values.email);
  if (values.email !== undefined && email === null) return { problem: '--email must be an email address' };
  const name = values.name?.trim();
  if (name !== undefined && (name === '' || Array.from(name).length > MAX_DISPLAY_NAME)) return { problem: `--name must have 1 to ${MAX_DISPLAY_NAME} characters` };
  return { help: false, account: { email, displayName: name ?? null, isAdmin: values.admin ?? false } };
}

async function accounts(args: string[]): Promise<number> {
  const parsed = parseAccountArgs(args);
  if ('problem' in parsed) {
    write(process.stderr, `hubmesh: ${parsed.problem}\n\n${ACCOUNTS_USAGE}`);
    return 2;
  }
  if (parsed.help) {
    write(process.stdout, ACCOUNTS_USAGE);
    return 0;
  }
  const config = loadConfig(process.env);
  // The secret a node on this data dir (or with this HUBMESH_SECRET) signs with.
  const secrets = await loadSecrets(config.dataDir, config.secret);
  const tokens = new JoseTokens(secrets.secret, secrets.permsKeyPem, { accountTokenTtlS: config.accountTokenTtlS });
  const store = await openStore(config);
  try {
    const account = await createLocalAccount(store, parsed.account);
    const token = await tokens.signAccountToken(account.accountId);
    write(process.stdout, `account_id: ${account.accountId}\ntoken: ${token}`);
    return 0;
  } catch (err) {
    if (!(err instanceof AppError && err.code === 'BAD_REQUEST')) throw err;
    write(process.stderr, `hubmesh: ${err.message}`);
    return 1;
  } finally {
    await store.close();
  }
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
      case 'accounts':
        return await accounts(rest);
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
