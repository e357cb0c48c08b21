/**
 * The `hubmesh` command. `serve` runs a node until SIGINT or SIGTERM, or
 * until it is drained over its admin API, then shuts it down in order;
 * `migrate` and `accounts create` work on the configured database. `rooms`,
 * `kick`, `ban` and `drain` are clients of a running node's HTTP API.
 * Human-facing output goes to stdout/stderr; the node's own logs are JSON
 * lines from pino.
 *
 * The client commands are in cli-remote.ts, what all commands share in
 * cli-common.ts.
 */
import { parseArgs } from 'node:util';
import { describeConfig, loadConfig } from './config.js';
import { CliFailure, parse, plural, showHelp, write } from './cli-common.js';
import { DEFAULT_URL, drain, moderate, rooms } from './cli-remote.js';
import { AppError } from './errors.js';
import { createLocalAccount, MAX_DISPLAY_NAME, normalizeEmail } from './http/accounts.js';
import type { NewAccount } from './ports/store.js';
import { loadSecrets } from './secrets.js';

// The node's modules load only for the commands that run one (serve, migrate,
// accounts): a client command need not pay for the relay, the SFU and the
// database drivers at every start.
const loadMain = () => import('./main.js');


const USAGE = `Usage: hubmesh <command> [options]

Commands on this machine (settings from the environment; see serve --help):
  serve             run a node: relay (HTTP API, shared links, Phoenix socket) and SFU
  migrate           apply database migrations (PGlite in the data dir, or DATABASE_URL)
  accounts create   create an account and print a token for it

Commands for a running node, over its HTTP API:
  rooms list        list the node's rooms (sid, name, members, entry mode, url)
  rooms create      create a room and print its link
  rooms close       close a room: everyone is put out, later joins are refused
  kick              put a session or an account out of a room
  ban               ban a session or an account from a room
  drain             drain the node: clients are told to move, then it shuts down

  help [COMMAND]    show this help, or a command's

Options:
  --version   print the version
  -h, --help  show help for a command (e.g. hubmesh rooms --help)

Commands for a running node reach it at --url (default HUBMESH_URL, else
${DEFAULT_URL}) with the account token --token (default HUBMESH_TOKEN).
Exit status: 0 done; 1 the node could not be reached, refused or failed;
2 bad arguments.
`;

const SERVE_USAGE = `Usage: hubmesh serve [--host HOST] [--port PORT] [--role all|relay|sfu]

Runs one hubmesh node in the foreground until SIGINT or SIGTERM, or until it
is drained with \`hubmesh drain\`; either way it drains and shuts down in
order. Settings come from the environment; the flags override HUBMESH_HOST,
HUBMESH_PORT and HUBMESH_ROLE. Role all runs the relay and the SFU on one
port (the SFU at /sfu); relay runs no SFU; sfu runs only the SFU, on
HUBMESH_SFU_PORT.

Options:
  --host HOST   the address to listen on
  --port PORT   the port to listen on (0: any free port)
  --role ROLE   all, relay or sfu

Settings:
${describeConfig()
  .map((s) => `  ${s.env.padEnd(34)} ${s.description}${s.default === '(none)' ? '' : ` (default ${s.default})`}`)
  .join('\n')}
`;

/** The CLI's own variables configure its client commands; a node refuses HUBMESH_* settings it does not know. */
const CLIENT_ENV = ['HUBMESH_URL', 'HUBMESH_TOKEN'];

function nodeEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of CLIENT_ENV) delete env[name];
  return env;
}

async function serve(args: string[]): Promise<number> {
  const { values } = parse(SERVE_USAGE, () => parseArgs({ args, options: { host: { type: 'string' }, port: { type: 'string' }, role: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true }));
  if (values.help) return showHelp(SERVE_USAGE);
  const config = loadConfig(nodeEnv(), { host: values.host, port: values.port, role: values.role });
  const { startNode, startSfuNode, VERSION } = await loadMain();
  const node = config.role === 'sfu' ? await startSfuNode(config) : await startNode(config);
  const howTo = `\nCreate a room:\n  curl -X POST -H 'content-type: application/json' -d '{"hub":{"name":"Demo"}}' ${node.url}/api/v1/hubs`;
  write(process.stdout, config.role === 'sfu' ? `hubmesh ${VERSION} SFU is serving on ${node.url}` : `hubmesh ${VERSION} is serving on ${node.url}${howTo}`);
  const why = await new Promise<string>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.once(signal, () => process.exit(1)); // a second signal does not wait
      resolve(`${signal}: shutting down`);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    // A drain over the admin API runs the node's own shutdown, which closes its HTTP server.
    if ('app' in node) node.app.server.once('close', () => resolve('drained: shutting down'));
  });
  write(process.stdout, why);
  await node.close();
  return 0;
}

const MIGRATE_USAGE = `Usage: hubmesh migrate

Applies every database migration not yet applied, to PostgreSQL when
DATABASE_URL is set, otherwise to PGlite under HUBMESH_DATA_DIR, and lists
what it applied, oldest first. \`hubmesh serve\` does the same at start
unless HUBMESH_AUTO_MIGRATE=false.
`;

async function migrate(args: string[]): Promise<number> {
  const { values } = parse(MIGRATE_USAGE, () => parseArgs({ args, options: { help: { type: 'boolean', short: 'h' } }, strict: true }));
  if (values.help) return showHelp(MIGRATE_USAGE);
  const config = loadConfig(nodeEnv());
  write(process.stdout, `migrating ${config.databaseUrl !== undefined ? 'PostgreSQL (DATABASE_URL)' : `PGlite under ${config.dataDir}`}`);
  const started = Date.now();
  const [{ openStore }, { migrateToLatest, SqlStore }] = await Promise.all([loadMain(), import('./adapters/sql-store.js')]);
  const store = await openStore(config, { migrate: false });
  try {
    if (!(store instanceof SqlStore)) throw new TypeError('the configured store has no migrations');
    const applied = await migrateToLatest(store.db as Parameters<typeof migrateToLatest>[0], (name) => write(process.stdout, `  applied ${name}`));
    write(process.stdout, applied.length === 0 ? 'database is up to date' : `${plural(applied.length, 'migration')} applied in ${Date.now() - started} ms`);
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
  if ('problem' in parsed) throw new CliFailure(parsed.problem, ACCOUNTS_USAGE);
  if (parsed.help) return showHelp(ACCOUNTS_USAGE);
  const config = loadConfig(nodeEnv());
  const [{ openStore }, { JoseTokens }] = await Promise.all([loadMain(), import('./adapters/jose-tokens.js')]);
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
    throw new CliFailure(err.message);
  } finally {
    await store.close();
  }
}

const COMMANDS: Readonly<Record<string, (args: string[]) => Promise<number>>> = {
  serve,
  migrate,
  accounts,
  rooms,
  kick: (args) => moderate(args, 'kick'),
  ban: (args) => moderate(args, 'ban'),
  drain,
};

/** Runs the CLI with `argv` (without node and script); resolves to the exit code. */
export async function runCli(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === '--version' || command === 'version') {
      write(process.stdout, (await loadMain()).VERSION);
      return 0;
    }
    if (command === undefined || command === '--help' || command === '-h') return showHelp(USAGE);
    if (command === 'help') return rest[0] !== undefined && Object.hasOwn(COMMANDS, rest[0]) ? await runCli([rest[0], '--help']) : showHelp(USAGE);
    const run = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
    if (run === undefined) throw new CliFailure(`unknown command ${JSON.stringify(command)}`, USAGE);
    return await run(rest);
  } catch (err) {
    if (err instanceof CliFailure) {
      write(process.stderr, err.usage === undefined ? `hubmesh: ${err.message}` : `hubmesh: ${err.message}\n\n${err.usage}`);
      return err.usage === undefined ? 1 : 2;
    }
    if (err instanceof AppError && (err.code === 'CONFIG_INVALID' || err.code === 'PERSIST_FAILED')) {
      const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
      write(process.stderr, `hubmesh: ${err.message}${cause}`);
      return 1;
    }
    throw err;
  }
}
