/**
 * GET /metrics: every series of the node and of its process in the
 * Prometheus text format, and the gauges read when it is scraped. Open by
 * default, like the health probes; with a token configured it needs
 * `Authorization: Bearer <token>` and answers 401 otherwise.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { HubRegistry } from '../../actors/hub-registry.js';
import type { SfuServer } from '../../sfu/sfu-server.js';
import type { PromMetrics } from '../adapters/prom-metrics.js';
import { AppError } from '../errors.js';
import type { MediaEngine } from '../ports/media-engine.js';
import type { SocketServer } from '../ws/socket-server.js';

export interface MetricsOptions {
  readonly metrics: PromMetrics;
  /** The bearer token scrapers must present; undefined leaves the endpoint open. */
  readonly token?: string;
}

const BEARER = /^Bearer[ \t]+([^\s]+)[ \t]*$/i;
const digest = (s: string) => createHash('sha256').update(s).digest();

/** Whether `req` may scrape: always without a token, otherwise with it, compared in constant time. */
function isScrapeAllowed(req: { readonly headers: Pick<IncomingHttpHeaders, 'authorization'> }, token: string | undefined): boolean {
  if (token === undefined) return true;
  const given = BEARER.exec(req.headers.authorization ?? '')?.[1];
  return given !== undefined && timingSafeEqual(digest(given), digest(token));
}

export async function metricsRoutes(app: FastifyInstance, opts: MetricsOptions): Promise<void> {
  app.get('/metrics', async (req, reply) => {
    if (!isScrapeAllowed(req, opts.token)) throw new AppError('UNAUTHENTICATED', 'a valid bearer token is needed');
    const body = await opts.metrics.scrape();
    return reply.header('cache-control', 'no-store').type(opts.metrics.contentType).send(body);
  });
}

/** GET /metrics on a plain node:http server: the SFU-only process has no fastify. */
export function answerScrape(req: { readonly headers: IncomingHttpHeaders }, res: ServerResponse, opts: MetricsOptions): void {
  if (!isScrapeAllowed(req, opts.token)) {
    const refusal = new AppError('UNAUTHENTICATED', 'a valid bearer token is needed');
    res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ code: refusal.reason, message: refusal.message }));
    return;
  }
  opts.metrics.scrape().then(
    (body) => res.writeHead(200, { 'content-type': opts.metrics.contentType, 'cache-control': 'no-store' }).end(body),
    () => res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics unavailable'),
  );
}

/** The relay's gauges: open sockets, live rooms and the people in them. */
export function registerRelayGauges(metrics: PromMetrics, relay: { readonly sockets: SocketServer; readonly registry: HubRegistry }): void {
  metrics.gauge({ name: 'ws_sockets', help: 'Open client websockets (/socket/websocket) on this node.', collect: () => relay.sockets.connectionCount });
  metrics.gauge({ name: 'hub_rooms', help: 'Rooms live on this node (one actor each).', collect: () => relay.registry.size });
  metrics.gauge({
    name: 'hub_members',
    help: "Presences in the rooms live on this node, from every node of the cluster, in the room (entered) or in its lobby: Hubs' member_count and lobby_count summed over rooms.",
    labelNames: ['presence'],
    collect: () => {
      let [room, lobby] = [0, 0];
      for (const sid of Object.keys(relay.registry.roomCounts())) {
        const counts = relay.registry.counts(sid);
        room += counts.memberCount;
        lobby += counts.lobbyCount;
      }
      return [
        { labels: { presence: 'room' }, value: room },
        { labels: { presence: 'lobby' }, value: lobby },
      ];
    },
  });
}

/** The SFU's gauges: its rooms and peers, and the media objects of its engine. */
export function registerSfuGauges(metrics: PromMetrics, sfu: Pick<SfuServer, 'load'>, engine: Pick<MediaEngine, 'stats'>): void {
  metrics.gauge({ name: 'sfu_rooms', help: 'SFU rooms with at least one peer.', collect: () => sfu.load().rooms });
  metrics.gauge({ name: 'sfu_peers', help: 'Peers joined to SFU rooms.', collect: () => sfu.load().peers });
  const objects = { routers: 'Routers (one per SFU room).', transports: 'WebRTC transports.', producers: 'Producers (microphones, cameras, screens).', consumers: 'Consumers.' } as const;
  for (const [kind, help] of Object.entries(objects) as [keyof typeof objects, string][]) {
    metrics.gauge({ name: `sfu_${kind}`, help: `${help} of this SFU's media engine.`, collect: async () => (await engine.stats())[kind] });
  }
}
