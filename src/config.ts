/**
 * The one configuration schema. It is read from the environment once, in
 * `loadConfig`, validated with ajv, deep-frozen and passed down. Invalid
 * configuration fails at boot with every error listed.
 */
import { isIP } from 'node:net';
import { Ajv } from 'ajv';
import type { FromSchema } from 'json-schema-to-ts';
import { AppError } from './errors.js';

export const configSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    host: { type: 'string', minLength: 1, default: '127.0.0.1', description: 'Interface to listen on.' },
    port: { type: 'integer', minimum: 0, maximum: 65535, default: 4000, description: 'HTTP and websocket port (0 picks a free one).' },
    dataDir: { type: 'string', minLength: 1, default: './data', description: 'Where the node keeps its secret, its keys, uploads (files/) and, without DATABASE_URL, its PGlite database.' },
    secret: { type: 'string', minLength: 32, description: 'Signs session and account tokens; generated and kept in the data dir when unset.' },
    publicUrl: { type: 'string', pattern: '^https?://[^\\s/]+(/[^\\s]*)?$', description: 'Base URL used in room links; defaults to http://host:port.' },
    webDir: { type: 'string', minLength: 1, description: 'Directory of the built web client (index.html, assets/) served at /; defaults to dist/web in the hubmesh package (npm run build:web).' },
    logLevel: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info', description: 'pino log level: fatal, error, warn, info, debug, trace or silent.' },
    maxFrameBytes: { type: 'integer', minimum: 1024, maximum: 16777216, default: 65536, description: 'Largest websocket frame accepted; larger frames close the socket with 1009.' },
    ratePerSec: { type: 'number', exclusiveMinimum: 0, default: 100, description: 'Sustained inbound frames per second per socket.' },
    rateBurst: { type: 'integer', minimum: 1, default: 200, description: 'Inbound frames a socket may send at once above the sustained rate.' },
    idleTimeoutMs: { type: 'integer', minimum: 100, default: 60000, description: 'A socket that sends nothing for this long is closed (Phoenix: 60 s).' },
    maxConnectionsPerIp: { type: 'integer', minimum: 1, default: 100, description: 'Websockets one client address may hold open at once, on the relay socket and on the SFU each; past it the upgrade gets 429.' },
    maxChannelsPerSocket: { type: 'integer', minimum: 1, maximum: 1000, default: 8, description: 'Rooms (hub channels) one socket may join at once; more joins get a too_many_channels error.' },
    trustedProxies: { type: 'string', default: '', description: 'Addresses or CIDR ranges of proxies (an ingress) whose X-Forwarded-For names the client, comma-separated; per-address limits then count that client. Empty trusts none.' },
    httpHeadersTimeoutMs: { type: 'integer', minimum: 100, default: 15000, description: 'A request (websocket upgrades too) whose headers have not all arrived this long after it began gets 408 and is closed (slowloris).' },
    httpRequestTimeoutMs: { type: 'integer', minimum: 100, default: 300000, description: 'A request (headers and body, so uploads too) not received in full this long after it began gets 408 and is closed.' },
    roomIdleMs: { type: 'integer', minimum: 0, default: 30000, description: 'A room actor stops this long after its last member leaves.' },
    socketBufferBytes: { type: 'integer', minimum: 1024, default: 1048576, description: 'Above this many queued bytes a socket stops receiving unreliable traffic (nafr, um).' },
    socketBufferMaxBytes: { type: 'integer', minimum: 1024, default: 8388608, description: 'Above this many queued bytes a socket is closed with 1013.' },
    flushMaxMs: { type: 'integer', minimum: 0, maximum: 1000, default: 20, description: 'The longest a frame waits for its batched write: a quiet node writes every event-loop turn, a busy one waits longer (up to this) so each write carries more frames; 0 writes every turn.' },
    defaultRoomSize: { type: 'integer', minimum: 1, default: 24, description: 'room_size of rooms created without one (Reticulum default_room_size).' },
    maxRoomSize: { type: 'integer', minimum: 1, default: 50, description: 'Largest room_size a room may be created with (Reticulum max_room_size).' },
    maxNafBytes: { type: 'integer', minimum: 256, default: 32768, description: 'Largest naf/nafr message relayed; larger ones get a payload_too_large error.' },
    maxEntitiesPerSession: { type: 'integer', minimum: 1, default: 256, description: 'Live networked entities one session may create in a room; more get an entity_limit error.' },
    handoverLeadMs: { type: 'integer', minimum: 0, default: 2000, description: "How far ahead of now a departed owner's persistent entity is handed over, so clients do not race the handover." },
    maxUploadBytes: { type: 'integer', minimum: 1, default: 157286400, description: 'Largest upload accepted by POST /api/v1/media (Reticulum: 150 MiB); larger ones get 413.' },
    uploadTtlMs: { type: 'integer', minimum: 1000, default: 172800000, description: 'Uploads that nothing promoted (pinned) are deleted this long after upload (48 h).' },
    nodeDownMs: { type: 'integer', minimum: 250, default: 5000, description: 'A cluster node not heard from for this long is taken for dead: its members leave every room.' },
    leaseTtlMs: { type: 'integer', minimum: 1000, default: 3000, description: "A room's home renews its lease every third of this; a home that dies loses the room this long after its last renewal." },
    drainGraceMs: { type: 'integer', minimum: 0, default: 10000, description: 'On SIGTERM the node tells clients to move (ret-deploy) and waits this long before closing their sockets.' },
    natsUrl: { type: 'string', pattern: '^nats://', description: 'NATS server URL(s), comma-separated; set, the node joins the cluster on that bus. Unset, it runs alone.' },
    databaseUrl: { type: 'string', pattern: '^postgres(ql)?://', description: 'PostgreSQL connection URL; unset, the node keeps its data in PGlite under the data dir.' },
    autoMigrate: { type: 'boolean', default: true, description: 'Apply database migrations when the node starts (`hubmesh migrate` does it on demand).' },
    permissiveRooms: { type: 'boolean', default: false, description: 'New rooms let members spawn, draw, pin and fly (Reticulum permissive_rooms); otherwise only voice and text chat.' },
    simModules: { type: 'string', default: '', description: 'Simulation modules of your own, comma-separated paths to ES modules exporting a SimulationModule as `simulation` or default; rooms enable them by name beside the built-in physics and wanderer.' },
    simMaxBodies: { type: 'integer', minimum: 0, maximum: 100000, default: 200, description: 'Bodies one simulation may run in a room; objects handed to it beyond that are handed back.' },
    simTickBudgetMs: { type: 'integer', minimum: 1, maximum: 1000, default: 10, description: 'CPU one simulation may spend catching up on missed ticks at once; later missed ticks are skipped.' },
    simSnapshotMs: { type: 'integer', minimum: 100, default: 5000, description: "How often a room's simulations save their snapshots, which a new home resumes from." },
    simIdleMs: { type: 'integer', minimum: 0, default: 600000, description: 'How long a room with simulations goes on after its last member left (an NPC walks on); then it saves and stops.' },
    chatHistory: { type: 'integer', minimum: 0, maximum: 100000, default: 100, description: 'Chat messages (chat, photo, video) kept per room for moderators (GET /api/v1/hubs/:sid/messages); 0 keeps none.' },
    createHubPerSec: { type: 'integer', minimum: 1, default: 1, description: 'Rooms one client address may create per second (Reticulum: 1); more get 429.' },
    httpRatePerMin: { type: 'integer', minimum: 1, default: 600, description: 'HTTP API requests one client address may make per minute; more get 429.' },
    accountTokenTtlS: { type: 'integer', minimum: 60, default: 7257600, description: 'How long an account token is valid, in seconds (Reticulum: 12 weeks).' },
    oidcIssuer: { type: 'string', pattern: '^https?://\\S+$', description: 'An OpenID Connect issuer whose ID tokens sign people in (the `iss` it puts in them); needs HUBMESH_OIDC_JWKS_URL.' },
    oidcJwksUrl: { type: 'string', pattern: '^https?://\\S+$', description: "URL of that issuer's JSON Web Key Set; needs HUBMESH_OIDC_ISSUER." },
    oidcAudience: { type: 'string', minLength: 1, description: "The `aud` the issuer's tokens must carry (its client id for hubmesh); unset, any audience." },
    role: { enum: ['all', 'relay', 'sfu'], default: 'all', description: 'What this process runs: all (relay and SFU), relay (rooms, HTTP API) or sfu (voice and video only; `hubmesh serve --role`).' },
    sfuPublicHost: { type: 'string', minLength: 1, description: 'Host name clients reach this SFU at (its websocket and ICE address); defaults to the listen host.' },
    sfuPublicPort: { type: 'integer', minimum: 1, maximum: 65535, description: "Port clients reach this SFU's signaling at, when a TLS terminator or proxy in front of it listens elsewhere (wss:// under an https page); defaults to the port the SFU listens on." },
    sfuPort: { type: 'integer', minimum: 0, maximum: 65535, default: 4443, description: 'Websocket port of an SFU-only process (role sfu; 0 picks a free one). With role all, the SFU answers on the HTTP port at /sfu.' },
    sfuAnnouncedIp: { type: 'string', minLength: 1, default: '127.0.0.1', description: 'The IP address the SFU offers in its ICE candidates.' },
    sfuRtcMinPort: { type: 'integer', minimum: 1024, maximum: 65535, default: 40000, description: 'Lowest UDP port of the SFU media port range.' },
    sfuRtcMaxPort: { type: 'integer', minimum: 1024, maximum: 65535, default: 49999, description: 'Highest UDP port of the SFU media port range.' },
    sfuMaxProducersPerPeer: { type: 'integer', minimum: 1, default: 4, description: 'Producers (microphone, camera, screen...) one peer may have at once; more are refused with too_many_producers.' },
    sfuMaxVideoProducersPerRoom: { type: 'integer', minimum: 0, default: 12, description: 'Video producers one room may have at once; more are refused with too_many_video_producers.' },
    sfuMaxConsumers: { type: 'integer', minimum: 1, default: 2000, description: 'Consumers one SFU process serves at once; past it new consumers are refused with sfu_full.' },
    sfuMaxIncomingBitrate: { type: 'integer', minimum: 0, default: 3000000, description: 'The bitrate a client sending video is told it may use per transport (REMB), in bits/s; 0 sends none (dialog caps incoming bitrate at 1500000).' },
    sfuAnnounceMs: { type: 'integer', minimum: 100, default: 2000, description: 'How often an SFU announces itself and its load on the bus; one not heard from for three periods is taken for gone.' },
    metricsToken: { type: 'string', minLength: 16, description: 'Bearer token GET /metrics requires (`Authorization: Bearer <token>`); unset, /metrics is open.' },
  },
  required: ['host', 'port', 'dataDir', 'logLevel', 'maxFrameBytes', 'ratePerSec', 'rateBurst', 'idleTimeoutMs', 'maxConnectionsPerIp', 'maxChannelsPerSocket', 'trustedProxies', 'httpHeadersTimeoutMs', 'httpRequestTimeoutMs', 'roomIdleMs', 'socketBufferBytes', 'socketBufferMaxBytes', 'flushMaxMs', 'defaultRoomSize', 'maxRoomSize', 'maxNafBytes', 'maxEntitiesPerSession', 'handoverLeadMs', 'maxUploadBytes', 'uploadTtlMs', 'nodeDownMs', 'leaseTtlMs', 'drainGraceMs', 'autoMigrate', 'permissiveRooms', 'simModules', 'simMaxBodies', 'simTickBudgetMs', 'simSnapshotMs', 'simIdleMs', 'chatHistory', 'createHubPerSec', 'httpRatePerMin', 'accountTokenTtlS', 'role', 'sfuPort', 'sfuAnnouncedIp', 'sfuRtcMinPort', 'sfuRtcMaxPort', 'sfuMaxProducersPerPeer', 'sfuMaxVideoProducersPerRoom', 'sfuMaxConsumers', 'sfuMaxIncomingBitrate', 'sfuAnnounceMs'],
} as const;

export type Config = Readonly<FromSchema<typeof configSchema>>;
type ConfigKey = keyof typeof configSchema.properties;

/** Environment variable for each config key. */
export const configEnv: Readonly<Record<ConfigKey, string>> = {
  host: 'HUBMESH_HOST',
  port: 'HUBMESH_PORT',
  dataDir: 'HUBMESH_DATA_DIR',
  secret: 'HUBMESH_SECRET',
  publicUrl: 'HUBMESH_PUBLIC_URL',
  webDir: 'HUBMESH_WEB_DIR',
  logLevel: 'HUBMESH_LOG_LEVEL',
  maxFrameBytes: 'HUBMESH_MAX_FRAME_BYTES',
  ratePerSec: 'HUBMESH_RATE_PER_SEC',
  rateBurst: 'HUBMESH_RATE_BURST',
  idleTimeoutMs: 'HUBMESH_IDLE_TIMEOUT_MS',
  maxConnectionsPerIp: 'HUBMESH_MAX_CONNECTIONS_PER_IP',
  maxChannelsPerSocket: 'HUBMESH_MAX_CHANNELS_PER_SOCKET',
  trustedProxies: 'HUBMESH_TRUSTED_PROXIES',
  httpHeadersTimeoutMs: 'HUBMESH_HTTP_HEADERS_TIMEOUT_MS',
  httpRequestTimeoutMs: 'HUBMESH_HTTP_REQUEST_TIMEOUT_MS',
  roomIdleMs: 'HUBMESH_ROOM_IDLE_MS',
  socketBufferBytes: 'HUBMESH_SOCKET_BUFFER_BYTES',
  socketBufferMaxBytes: 'HUBMESH_SOCKET_BUFFER_MAX_BYTES',
  flushMaxMs: 'HUBMESH_FLUSH_MAX_MS',
  defaultRoomSize: 'HUBMESH_DEFAULT_ROOM_SIZE',
  maxRoomSize: 'HUBMESH_MAX_ROOM_SIZE',
  maxNafBytes: 'HUBMESH_MAX_NAF_BYTES',
  maxEntitiesPerSession: 'HUBMESH_MAX_ENTITIES_PER_SESSION',
  handoverLeadMs: 'HUBMESH_HANDOVER_LEAD_MS',
  maxUploadBytes: 'HUBMESH_MAX_UPLOAD_BYTES',
  uploadTtlMs: 'HUBMESH_UPLOAD_TTL_MS',
  nodeDownMs: 'HUBMESH_NODE_DOWN_MS',
  leaseTtlMs: 'HUBMESH_LEASE_TTL_MS',
  drainGraceMs: 'HUBMESH_DRAIN_GRACE_MS',
  natsUrl: 'NATS_URL',
  databaseUrl: 'DATABASE_URL',
  autoMigrate: 'HUBMESH_AUTO_MIGRATE',
  permissiveRooms: 'HUBMESH_PERMISSIVE_ROOMS',
  simModules: 'HUBMESH_SIM_MODULES',
  simMaxBodies: 'HUBMESH_SIM_MAX_BODIES',
  simTickBudgetMs: 'HUBMESH_SIM_TICK_BUDGET_MS',
  simSnapshotMs: 'HUBMESH_SIM_SNAPSHOT_MS',
  simIdleMs: 'HUBMESH_SIM_IDLE_MS',
  chatHistory: 'HUBMESH_CHAT_HISTORY',
  createHubPerSec: 'HUBMESH_CREATE_HUB_PER_SEC',
  httpRatePerMin: 'HUBMESH_HTTP_RATE_PER_MIN',
  accountTokenTtlS: 'HUBMESH_ACCOUNT_TOKEN_TTL_S',
  oidcIssuer: 'HUBMESH_OIDC_ISSUER',
  oidcJwksUrl: 'HUBMESH_OIDC_JWKS_URL',
  oidcAudience: 'HUBMESH_OIDC_AUDIENCE',
  role: 'HUBMESH_ROLE',
  sfuPublicHost: 'HUBMESH_SFU_PUBLIC_HOST',
  sfuPublicPort: 'HUBMESH_SFU_PUBLIC_PORT',
  sfuPort: 'HUBMESH_SFU_PORT',
  sfuAnnouncedIp: 'HUBMESH_SFU_ANNOUNCED_IP',
  sfuRtcMinPort: 'HUBMESH_SFU_RTC_MIN_PORT',
  sfuRtcMaxPort: 'HUBMESH_SFU_RTC_MAX_PORT',
  sfuMaxProducersPerPeer: 'HUBMESH_SFU_MAX_PRODUCERS_PER_PEER',
  sfuMaxVideoProducersPerRoom: 'HUBMESH_SFU_MAX_VIDEO_PRODUCERS_PER_ROOM',
  sfuMaxConsumers: 'HUBMESH_SFU_MAX_CONSUMERS',
  sfuMaxIncomingBitrate: 'HUBMESH_SFU_MAX_INCOMING_BITRATE',
  sfuAnnounceMs: 'HUBMESH_SFU_ANNOUNCE_MS',
  metricsToken: 'HUBMESH_METRICS_TOKEN',
};

/** HUBMESH_* variables that belong to tooling, not to the server. */
/** HUBMESH_* variables for tools, not nodes: the test suite's, and the CLI's address and token of a running node. */
const toolingEnv = new Set(['HUBMESH_REQUIRE_SERVICES', 'HUBMESH_URL', 'HUBMESH_TOKEN']);

const ajv = new Ajv({ allErrors: true, coerceTypes: true, useDefaults: true, removeAdditional: false });
const validate = ajv.compile(configSchema);

/**
 * Reads the configuration from `env` (normally `process.env`), then applies
 * `overrides` (command-line flags). Throws AppError('CONFIG_INVALID') listing
 * every problem, each named by its environment variable.
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>>, overrides: Partial<Record<ConfigKey, unknown>> = {}): Config {
  const raw: Record<string, unknown> = {};
  const keyByEnv = new Map(Object.entries(configEnv).map(([k, v]) => [v, k]));
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || toolingEnv.has(name)) continue;
    const key = keyByEnv.get(name);
    // Known settings by name (DATABASE_URL has none of our prefix); any other HUBMESH_* is a mistake to report.
    if (key !== undefined) raw[key] = value;
    else if (name.startsWith('HUBMESH_')) raw[name] = value;
  }
  for (const [key, value] of Object.entries(overrides)) if (value !== undefined) raw[key] = value;

  const problems: string[] = [];
  if (!validate(raw)) {
    for (const e of validate.errors ?? []) {
      const key = e.instancePath.slice(1) || String(e.params['additionalProperty'] ?? e.params['missingProperty'] ?? '');
      const name = configEnv[key as ConfigKey] ?? key;
      problems.push(e.keyword === 'additionalProperties' ? `${name} is not a known setting` : `${name} ${e.message ?? 'is invalid'}`);
    }
  }
  // ajv has coerced what it could even when other settings failed, so these run either way.
  const atLeast = (low: ConfigKey, high: ConfigKey) => {
    const [a, b] = [raw[low], raw[high]];
    if (typeof a === 'number' && typeof b === 'number' && b < a) problems.push(`${configEnv[high]} must be >= ${configEnv[low]}`);
  };
  atLeast('socketBufferBytes', 'socketBufferMaxBytes');
  atLeast('defaultRoomSize', 'maxRoomSize');
  atLeast('sfuRtcMinPort', 'sfuRtcMaxPort');
  atLeast('httpHeadersTimeoutMs', 'httpRequestTimeoutMs');
  for (const entry of String(raw['trustedProxies'] ?? '').split(',').map((e) => e.trim())) {
    const [ip = '', bits] = entry.split('/');
    if (entry !== '' && (isIP(ip) === 0 || (bits !== undefined && !/^\d{1,3}$/.test(bits)))) problems.push(`${configEnv.trustedProxies}: ${JSON.stringify(entry)} is not an address or a CIDR range`);
  }
  if ((raw['oidcIssuer'] === undefined) !== (raw['oidcJwksUrl'] === undefined)) problems.push(`${configEnv.oidcIssuer} and ${configEnv.oidcJwksUrl} must be set together`);
  if (raw['oidcAudience'] !== undefined && raw['oidcIssuer'] === undefined) problems.push(`${configEnv.oidcAudience} needs ${configEnv.oidcIssuer}`);
  if (problems.length > 0) {
    throw new AppError('CONFIG_INVALID', `invalid configuration:\n  - ${problems.join('\n  - ')}`, { details: { problems } });
  }
  return Object.freeze(raw as Config);
}

/** The settings table for the README and `hubmesh serve --help`. */
export function describeConfig(): { env: string; default: string; description: string }[] {
  return Object.entries(configSchema.properties).map(([key, prop]) => ({
    env: configEnv[key as ConfigKey],
    default: 'default' in prop ? String(prop.default) : '(none)',
    description: 'description' in prop ? prop.description : '',
  }));
}
