/**
 * The composition root: config -> adapters -> actors -> http/ws, and the
 * ordered shutdown of STYLE section 7. Only this file chooses adapters.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { isIPv4, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import rateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { FileSweeper } from '../actors/file-sweeper.js';
import { HubRegistry } from '../actors/hub-registry.js';
import { NodeWatch } from '../actors/node-watch.js';
import { SfuDirectory } from '../actors/sfu-directory.js';
import { SfuAnnouncer } from '../sfu/announcer.js';
import { PermsVerifier } from '../sfu/auth.js';
import { SfuServer } from '../sfu/sfu-server.js';
import { WeriftMedia } from '../sfu/werift-media.js';
import { AccountIdentity } from './adapters/account-identity.js';
import { instrumentBus } from './adapters/instrumented-bus.js';
import { instrumentStore } from './adapters/instrumented-store.js';
import { LocalFiles } from './adapters/local-files.js';
import { NatsBus } from './adapters/nats-bus.js';
import { JoseTokens } from './adapters/jose-tokens.js';
import { PromMetrics } from './adapters/prom-metrics.js';
import { openPgStore } from './adapters/pg-store.js';
import { openPgliteStore } from './adapters/pglite-store.js';
import { SystemClock } from './adapters/system-clock.js';
import type { Config } from './config.js';
import { AddressLimit } from './core/address-limit.js';
import { encodeSfuAnnouncement, SFU_ANNOUNCE_SUBJECT, type SfuAnnouncement } from './core/sfu-placement.js';
import { AppError } from './errors.js';
import { accountRoutes } from './http/accounts.js';
import { answerClientError, serverTimeouts, trustedProxies } from './http/client-limits.js';
import { adminRoutes } from './http/admin.js';
import { installErrorHandler } from './http/errors.js';
import { installJsonBodyParser } from './http/json-body.js';
import { healthRoutes } from './http/health.js';
import { hubRoutes } from './http/hubs.js';
import { mediaRoutes } from './http/media.js';
import { metaRoutes } from './http/meta.js';
import { answerScrape, metricsRoutes, registerRelayGauges, registerSfuGauges } from './http/metrics.js';
import { moderationRoutes } from './http/moderation.js';
import { registerOpenapi } from './http/openapi.js';
import type { RoomDirectory } from './http/rooms.js';
import { pageRoutes } from './http/page.js';
import { webRoutes } from './http/web.js';
import type { Bus } from './ports/bus.js';
import type { Clock } from './ports/clock.js';
import type { Leases } from './ports/leases.js';
import type { MediaEngine } from './ports/media-engine.js';
import type { FileStore } from './ports/file-store.js';
import type { Store } from './ports/store.js';
import { CloseCode } from './protocol/frames.js';
import { loadSecrets } from './secrets.js';
import { loadSimulationModules } from './sim/modules.js';
import { sfuUpgrade } from './ws/sfu-upgrade.js';
import { SocketServer } from './ws/socket-server.js';
import { FlushScheduler } from './ws/flush.js';

/** The package's directory and version, from package.json beside src/ (or beside dist/ when built). */
function readPackage(): { readonly root: URL; readonly version: string } {
  for (const rel of ['../', '../../']) {
    const root = new URL(rel, import.meta.url);
    try {
      const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'hubmesh' && typeof pkg.version === 'string') return { root, version: pkg.version };
    } catch {
      // not at this depth
    }
  }
  return { root: new URL('../', import.meta.url), version: '0.0.0' };
}

const PACKAGE = readPackage();
export const VERSION = PACKAGE.version;
/** Where `npm run build:web` writes the web client. */
const BUILT_WEB_DIR = fileURLToPath(new URL('dist/web/', PACKAGE.root));

/**
 * The configured store: PostgreSQL when DATABASE_URL is set, otherwise PGlite
 * under the data directory. Migrations run first unless HUBMESH_AUTO_MIGRATE
 * is false (then `hubmesh migrate` must have run).
 */
export function openStore(config: Config, opts: { migrate?: boolean } = {}): Promise<Store> {
  const migrate = opts.migrate ?? config.autoMigrate;
  return config.databaseUrl !== undefined ? openPgStore({ url: config.databaseUrl, migrate }) : openPgliteStore({ dir: join(config.dataDir, 'pglite'), migrate });
}

/** The pool name clients compare across a deploy (parity 1.4). */
const POOL = 'hubmesh';

/** How long /readyz waits for the database before calling it down. */
const READY_PING_MS = 1000;

/** Adapters a caller may supply instead of the embedded defaults. */
export interface NodeAdapters {
  readonly clock?: Clock;
  readonly store?: Store;
  readonly files?: FileStore;
  /** The cluster bus; by default NatsBus when NATS_URL is set, otherwise none (a node alone). */
  readonly bus?: Bus;
  /** Room leases; by default in JetStream KV on the NATS bus. */
  readonly leases?: Leases;
  /** Counters, gauges and histograms, served at GET /metrics; by default a new registry. */
  readonly metrics?: PromMetrics;
  readonly logger?: Logger;
  /** The SFU's media engine (roles all and sfu); by default WeriftMedia on the configured address and ports. */
  readonly media?: MediaEngine;
}

export interface HubmeshNode {
  /** The base URL the node listens on, e.g. `http://127.0.0.1:4000`. */
  readonly url: string;
  readonly app: FastifyInstance;
  readonly registry: HubRegistry;
  readonly sockets: SocketServer;
  readonly metrics: PromMetrics;
  readonly sweeper: FileSweeper;
  /** The SFUs this node places rooms on; present when the node runs the relay. */
  readonly sfus?: SfuDirectory;
  /** The SFU answering on this node's port (role all). */
  readonly sfu?: SfuServer;
  readonly dataDir: string;
  /** Closes every socket of a session on every node (kick); resolves to how many were here. */
  disconnectSession(sessionId: string): Promise<number>;
  /** Ordered shutdown; idempotent. */
  close(): Promise<void>;
}

/** Query parameters that carry secrets (file tokens, session tokens, invites); their values never reach the log. */
const SECRET_PARAMS = /([?&](?:token|session_token|auth_token|perms_token|hub_invite_id|embed_token)=)[^&#]*/gi;

export function redactUrl(url: string): string {
  return url.replace(SECRET_PARAMS, '$1[redacted]');
}

function createLogger(config: Config): Logger {
  return pino({
    level: config.logLevel,
    serializers: {
      req: (req: { method?: string; url?: string; host?: string; ip?: string; socket?: { remotePort?: number } }) => ({
        method: req.method,
        url: redactUrl(req.url ?? ''),
        host: req.host,
        remoteAddress: req.ip,
        remotePort: req.socket?.remotePort,
      }),
    },
    redact: { paths: ['req.headers.authorization', 'req.headers.cookie', '*.token', '*.session_token', '*.perms_token'], censor: '[redacted]' },
  });
}

/** Role all: the SFU answers at /sfu, and at / when the query names a room and a peer (where the unmodified Hubs client connects). */
const isSfuUpgrade = (url: URL): boolean => url.pathname === '/sfu' || (url.pathname === '/' && url.searchParams.has('roomId') && url.searchParams.has('peerId'));

/** Media sockets bind where the node listens: loopback stays loopback; a wildcard or a name binds every interface. */
const mediaListenIp = (host: string): string | undefined => (isIPv4(host) && host !== '0.0.0.0' ? host : undefined);

/** A count of websockets per client address (a relay's, or an SFU's), as HUBMESH_MAX_CONNECTIONS_PER_IP and HUBMESH_TRUSTED_PROXIES say. */
const addressLimit = (config: Config): AddressLimit => new AddressLimit({ maxPerAddress: config.maxConnectionsPerIp, isTrustedProxy: trustedProxies(config.trustedProxies) });

type SfuDeps = { readonly clock: Clock; readonly metrics: PromMetrics; readonly log: Logger; readonly bus: Bus | undefined; readonly tokens: JoseTokens; readonly media: MediaEngine | undefined };

/** The SFU of a process: its engine, the perms-token check against the relay's key, and the limits. */
function createSfu(config: Config, deps: SfuDeps): SfuServer {
  const { clock, metrics, bus } = deps;
  const engine = deps.media ?? new WeriftMedia({ announcedIp: config.sfuAnnouncedIp, listenIp: mediaListenIp(config.host), maxIncomingBitrate: config.sfuMaxIncomingBitrate, portRange: [config.sfuRtcMinPort, config.sfuRtcMaxPort], clock });
  const sfu = new SfuServer({
    engine,
    upgrade: sfuUpgrade(),
    clock,
    metrics,
    bus,
    log: deps.log.child({ component: 'sfu' }),
    verifier: new PermsVerifier({ permsKeyPem: deps.tokens.permsPublicKeyPem, issuer: deps.tokens.issuer, now: () => clock.now(), metrics }),
    addressLimit: addressLimit(config),
    limits: { maxProducersPerPeer: config.sfuMaxProducersPerPeer, maxVideoProducersPerRoom: config.sfuMaxVideoProducersPerRoom, maxConsumers: config.sfuMaxConsumers },
  });
  registerSfuGauges(metrics, sfu, engine);
  return sfu;
}

/** Announces `sfu` (listening on `port`, reached at HUBMESH_SFU_PUBLIC_HOST:PORT when set) on the bus for other nodes, and to this node's directory, which the bus never loops back to. */
function announceSfu(config: Config, sfu: SfuServer, port: number, deps: { readonly clock: Clock; readonly log: Logger; readonly id: string; readonly bus: Bus | undefined; readonly directory?: SfuDirectory }): SfuAnnouncer {
  const { log, bus, directory } = deps;
  const publish = (a: SfuAnnouncement) => {
    bus?.publish(SFU_ANNOUNCE_SUBJECT, encodeSfuAnnouncement(a)).catch((err: unknown) => log.warn({ err }, 'could not announce the sfu'));
    try {
      directory?.saw(a);
    } catch (err) {
      log.error({ err, host: a.host }, 'the sfu announcement is malformed (HUBMESH_SFU_PUBLIC_HOST?)');
    }
  };
  return new SfuAnnouncer({ clock: deps.clock, everyMs: config.sfuAnnounceMs, id: deps.id, host: config.sfuPublicHost ?? config.host, port: config.sfuPublicPort ?? port, load: () => sfu.load(), publish });
}

/** A process of role sfu (`hubmesh serve --role sfu`). */
export interface SfuNode {
  /** Where clients open the signaling websocket, e.g. `ws://127.0.0.1:4443`. */
  readonly url: string;
  readonly sfu: SfuServer;
  /** Ordered shutdown; idempotent. */
  close(): Promise<void>;
}

/**
 * Runs only the SFU, on `sfuPort`, answering websocket upgrades on any path
 * and GET /healthz. It verifies perms tokens with the perms key in its data
 * directory, which must be the relays' key; in a cluster it hears kicks and
 * mutes, and is placed, over the bus (NATS_URL).
 */
export async function startSfuNode(config: Config, adapters: Pick<NodeAdapters, 'clock' | 'bus' | 'metrics' | 'logger' | 'media'> = {}): Promise<SfuNode> {
  const log = adapters.logger ?? createLogger(config);
  const clock = adapters.clock ?? new SystemClock();
  const bus = adapters.bus ?? (config.natsUrl !== undefined ? await NatsBus.connect({ servers: config.natsUrl }) : undefined);
  const secrets = await loadSecrets(config.dataDir, config.secret);
  const tokens = new JoseTokens(secrets.secret, secrets.permsKeyPem);
  const metrics = adapters.metrics ?? new PromMetrics();
  const sfu = createSfu(config, { clock, metrics, log, bus, tokens, media: adapters.media });
  const server: Server = createServer(serverTimeouts(config), (req, res) => {
    if (req.method === 'GET' && req.url === '/metrics') return answerScrape(req, res, { metrics, token: config.metricsToken });
    const isHealth = req.method === 'GET' && req.url === '/healthz';
    res.writeHead(isHealth ? 200 : 426, { 'content-type': 'text/plain' }).end(isHealth ? 'ok' : 'Upgrade Required');
  });
  server.on('clientError', answerClientError(metrics));
  sfu.attach(server, () => true);
  await once(server.listen(config.sfuPort, config.host), 'listening').catch(async (err: unknown) => {
    await sfu.close();
    await bus?.close();
    throw err;
  });
  const { port } = server.address() as AddressInfo;
  const announcer = announceSfu(config, sfu, port, { clock, log, id: bus?.nodeId ?? randomBytes(8).toString('hex'), bus });
  const url = `ws://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  log.info({ url, version: VERSION, clustered: bus !== undefined }, 'hubmesh sfu listening');
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      announcer.close();
      const httpClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      await sfu.close();
      server.closeAllConnections();
      await httpClosed;
      await bus?.close();
      log.info('shut down');
    })());
  return { url, sfu, close };
}

/** Builds a node from `config`, listens, and returns it. */
export async function startNode(config: Config, adapters: NodeAdapters = {}): Promise<HubmeshNode> {
  const log = adapters.logger ?? createLogger(config);
  const clock = adapters.clock ?? new SystemClock();
  const metrics = adapters.metrics ?? new PromMetrics();
  const store = instrumentStore(adapters.store ?? (await openStore(config)), metrics);
  const files = adapters.files ?? new LocalFiles(join(config.dataDir, 'files'));
  const clusterBus = adapters.bus ?? (config.natsUrl !== undefined ? await NatsBus.connect({ servers: config.natsUrl }) : undefined);
  const bus = clusterBus && instrumentBus(clusterBus, metrics);
  const nodeId = bus?.nodeId ?? randomBytes(8).toString('hex');
  const leases = adapters.leases ?? (clusterBus instanceof NatsBus ? await clusterBus.openLeases(config.leaseTtlMs) : undefined);
  const secrets = await loadSecrets(config.dataDir, config.secret);
  const tokens = new JoseTokens(secrets.secret, secrets.permsKeyPem, { accountTokenTtlS: config.accountTokenTtlS, metrics });
  const sfu = config.role === 'all' ? createSfu(config, { clock, metrics, log, bus, tokens, media: adapters.media }) : undefined;
  const identity = new AccountIdentity({
    store,
    tokens,
    oidc: config.oidcIssuer !== undefined && config.oidcJwksUrl !== undefined ? { issuer: config.oidcIssuer, jwksUrl: config.oidcJwksUrl, audience: config.oidcAudience } : undefined,
  });

  let baseUrl = config.publicUrl?.replace(/\/+$/, '') ?? `http://${config.host}:${config.port}`;
  const nodePrefix = randomBytes(6).toString('base64url');
  let nextRef = 0;
  // Rooms are placed on SFUs by the relay; an SFU-only process has no rooms to place.
  const sfus =
    config.role === 'sfu' ? undefined : await SfuDirectory.start({ bus, clock, metrics, log: log.child({ component: 'sfus' }), announceMs: config.sfuAnnounceMs });
  // The registry reports nodes it hears from to the watch, which starts after it.
  const mesh: { watch?: NodeWatch; sockets?: SocketServer } = {};
  const simModules = await loadSimulationModules(config.simModules);
  const flush = new FlushScheduler({ maxDelayMs: config.flushMaxMs });
  const registry = new HubRegistry({
    // A busy node publishes to the other nodes at half its write delay: the receiving node's own write delay comes on top.
    linkDelayMs: () => Math.floor(flush.delayMs / 2),
    simulations: {
      modules: simModules,
      limits: { maxBodies: config.simMaxBodies, snapshotMs: config.simSnapshotMs, tickBudgetMs: config.simTickBudgetMs, maxCatchUpTicks: 3 },
      idleMs: config.simIdleMs,
    },
    store,
    identity,
    clock,
    metrics,
    tokens,
    maxRoomSize: config.maxRoomSize,
    chatHistory: config.chatHistory,
    disconnectSession: (sessionId, reason) => mesh.sockets?.disconnectSession(sessionId, CloseCode.NORMAL, reason),
    log: log.child({ component: 'hubs' }),
    roomIdleMs: config.roomIdleMs,
    bus,
    leases,
    leaseTtlMs: config.leaseTtlMs,
    nodeId,
    sawNode: (node) => mesh.watch?.saw(node),
    sfus,
    onCommand: sfu ? (sid, cmd) => sfu.applyCommand(sid, cmd) : undefined,
    limits: { maxNafBytes: config.maxNafBytes, maxEntitiesPerSession: config.maxEntitiesPerSession, handoverLeadMs: config.handoverLeadMs },
    makeRef: () => `${nodePrefix}${(nextRef++).toString(36)}`,
    baseUrl: () => baseUrl,
  });
  const sockets = new SocketServer({
    clock,
    metrics,
    tokens,
    identity,
    log: log.child({ component: 'sockets' }),
    maxFrameBytes: config.maxFrameBytes,
    idleTimeoutMs: config.idleTimeoutMs,
    maxChannelsPerSocket: config.maxChannelsPerSocket,
    addressLimit: addressLimit(config),
    rateLimit: { perSec: config.ratePerSec, burst: config.rateBurst },
    socketBufferBytes: config.socketBufferBytes,
    scheduler: flush,
    socketBufferMaxBytes: config.socketBufferMaxBytes,
    dispatch: (hubSid, item) => registry.dispatch(hubSid, item),
  });
  mesh.sockets = sockets;
  const rooms: RoomDirectory = {
    counts: (sid) => registry.counts(sid),
    clusterCounts: () => mesh.watch?.clusterCounts() ?? new Map(Object.entries(registry.roomCounts())),
    members: (sid) => registry.members(sid),
    command: (sid, cmd) => registry.command(sid, cmd),
  };

  let isReady = false;
  const app = Fastify({
    loggerInstance: log.child({ component: 'http' }) as FastifyBaseLogger,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: true } },
    http: serverTimeouts(config),
    requestTimeout: config.httpRequestTimeoutMs,
    trustProxy: trustedProxies(config.trustedProxies),
    clientErrorHandler: answerClientError(metrics),
  });
  installErrorHandler(app);
  installJsonBodyParser(app);
  await app.register(rateLimit, {
    max: config.httpRatePerMin,
    timeWindow: 60_000,
    // Probes and the page clock (HEAD) are not the API.
    allowList: (req) => !req.url.startsWith('/api/'),
    errorResponseBuilder: (_req, ctx) => new AppError('RATE_LIMITED', `Rate limit exceeded, retry in ${ctx.after}`),
    onExceeded: () => metrics.inc('http_refused_total', { reason: 'rate_limited' }),
  });
  await registerOpenapi(app, VERSION);
  await app.register(healthRoutes, { isReady: () => isReady, pingStore: () => store.ping(READY_PING_MS), isBusUp: () => bus?.isConnected });
  await app.register(metricsRoutes, { metrics, token: config.metricsToken });
  registerRelayGauges(metrics, { sockets, registry });
  await app.register(metaRoutes, { version: VERSION, pool: POOL, baseUrl: () => baseUrl });
  await app.register(hubRoutes, {
    store,
    identity,
    rooms,
    defaultRoomSize: config.defaultRoomSize,
    maxRoomSize: config.maxRoomSize,
    permissiveRooms: config.permissiveRooms,
    simulationNames: new Set(simModules.keys()),
    createPerSec: config.createHubPerSec,
    baseUrl: () => baseUrl,
  });
  await app.register(moderationRoutes, { store, identity, rooms, baseUrl: () => baseUrl, now: () => clock.now() });
  await app.register(accountRoutes, { store, identity });
  // Drain over the API is the same shutdown as SIGTERM (`close` below; requests arrive only after it is defined).
  await app.register(adminRoutes, { store, identity, rooms, drainGraceMs: config.drainGraceMs, connectionCount: () => sockets.connectionCount, isDraining: () => !isReady, drain: () => close(), baseUrl: () => baseUrl });
  await app.register(mediaRoutes, { store, files, secret: secrets.secret, maxUploadBytes: config.maxUploadBytes, baseUrl: () => baseUrl });
  const webDir = config.webDir ?? BUILT_WEB_DIR;
  await app.register(webRoutes, { dir: webDir });
  await app.register(pageRoutes, { store, webDir, baseUrl: () => baseUrl });
  const watch = bus
    ? await NodeWatch.start({
        bus,
        nodeId,
        clock,
        metrics,
        log: log.child({ component: 'mesh' }),
        nodeDownMs: config.nodeDownMs,
        nodeDown: (node) => registry.nodeDown(node),
        nodeBack: () => registry.resync(),
        disconnect: (sessionId) => sockets.disconnectSession(sessionId),
        roomCounts: () => registry.roomCounts(),
      })
    : undefined;
  mesh.watch = watch;
  bus?.onReconnect(() => {
    log.info('bus back: resynchronising rooms');
    registry.resync();
  });
  const sweeper = new FileSweeper({ store, files, clock, metrics, log: log.child({ component: 'files' }), ttlMs: config.uploadTtlMs });
  sockets.attach(app.server);
  sfu?.attach(app.server, isSfuUpgrade);

  await app.listen({ host: config.host, port: config.port });
  const { port } = app.server.address() as AddressInfo;
  if (config.publicUrl === undefined) baseUrl = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  isReady = true;
  log.info({ url: baseUrl, version: VERSION, nodeId, clustered: bus !== undefined }, 'hubmesh listening');
  const announcer = sfu ? announceSfu(config, sfu, port, { clock, log, id: nodeId, bus, directory: sfus }) : undefined;

  const disconnectSession = async (sessionId: string): Promise<number> => {
    await watch?.disconnectEverywhere(sessionId);
    return sockets.disconnectSession(sessionId);
  };

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      isReady = false;
      log.info('shutting down');
      // 0. drain: tell clients to move, give them time, then close what is left.
      if (config.drainGraceMs > 0 && sockets.connectionCount > 0) {
        sockets.drain({ event: 'ret-deploy', ret_version: VERSION, ret_pool: POOL });
        log.info({ graceMs: config.drainGraceMs, sockets: sockets.connectionCount }, 'draining');
        await new Promise<void>((resolve) => clock.setTimeout(resolve, config.drainGraceMs));
      }
      // 1. stop accepting, 2. close client sockets with 1001
      const httpClosed = app.close();
      await sockets.close();
      announcer?.close();
      await sfu?.close();
      await httpClosed;
      // 3. stop room actors and jobs
      await watch?.close();
      await registry.close();
      await sfus?.close();
      await sweeper.close();
      await files.close();
      // 4. leases and bus
      await leases?.close();
      await bus?.close();
      // 5. store
      await store.close();
      log.info('shut down');
    })());

  return { get url() { return baseUrl; }, app, registry, sockets, metrics, sweeper, sfus, sfu, dataDir: config.dataDir, disconnectSession, close };
}
