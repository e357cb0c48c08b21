/**
 * The shared link `/<sid>[/<slug>]` (parity 4.9, 6): the built room page
 * (`room.html` of `npm run build:web`, issue 8) with the room's name and
 * Hubs' `ret:phx_host` meta filled in, or, when the page is not built, a
 * minimal page naming the room. Only the first segment matters; an
 * unknown sid is 404. HEAD answers with a correct Date header, which Hubs
 * uses as its server clock (parity 2.11). `/<sid>/objects.gltf` serves the
 * room's pinned objects as one glTF 2.0 scene (parity 5.2).
 */
import { join } from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Hub } from '../core/hub.js';
import { isSid } from '../core/sids.js';
import type { Store } from '../ports/store.js';
import { readIfPresent } from './web.js';

export interface PageOptions {
  readonly store: Store;
  /** The built web client; its `room.html` is the room page. */
  readonly webDir: string;
  baseUrl(): string;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

const phxHostMeta = (baseUrl: string): string => `<meta name="ret:phx_host" content="${escapeHtml(new URL(baseUrl).host)}">`;

/**
 * The built room page for `hub`: its title and heading name the room (so
 * the page says where it leads before its script runs) and the head gets
 * `ret:phx_host`. Replacements are functions so a `$` in a name stays literal.
 */
function fillRoomPage(template: string, hub: Hub, baseUrl: string): string {
  const name = escapeHtml(hub.name);
  return template
    .replace('<title>hubmesh</title>', () => `${phxHostMeta(baseUrl)}\n    <title>${name} | hubmesh</title>`)
    .replace('<h1 id="room-title">hubmesh</h1>', () => `<h1 id="room-title">${name}</h1>`);
}

function renderRoom(hub: Hub, baseUrl: string): string {
  const name = escapeHtml(hub.name);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${phxHostMeta(baseUrl)}
<title>${name} | hubmesh</title>
</head>
<body>
<main>
<h1>${name}</h1>
<p>This is the hubmesh room <code>${escapeHtml(hub.hubSid)}</code>. Clients join it on the channel <code>hub:${escapeHtml(hub.hubSid)}</code> at <code>/socket/websocket</code>.</p>
</main>
</body>
</html>
`;
}

function notFound(reply: FastifyReply): FastifyReply {
  return reply.status(404).type('text/html; charset=utf-8').send('<!doctype html><title>Room not found</title><h1>Room not found</h1><p>bad Room ID</p>\n');
}

export async function pageRoutes(app: FastifyInstance, opts: PageOptions): Promise<void> {
  const handler = async (req: { params: { sid: string } }, reply: FastifyReply) => {
    const { sid } = req.params;
    const hub = isSid(sid) ? await opts.store.getHub(sid) : undefined;
    if (!hub) return notFound(reply);
    const template = await readIfPresent(join(opts.webDir, 'room.html'));
    const page = template ? fillRoomPage(template.toString('utf8'), hub, opts.baseUrl()) : renderRoom(hub, opts.baseUrl());
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(page);
  };
  app.get<{ Params: { sid: string } }>('/:sid/objects.gltf', async (req, reply) => {
    const { sid } = req.params;
    const hub = isSid(sid) ? await opts.store.getHub(sid) : undefined;
    if (!hub) return notFound(reply);
    const nodes = (await opts.store.listRoomObjects(sid)).map((o) => o.gltfNode);
    return reply
      .type('model/gltf+json')
      .header('cache-control', 'no-store')
      .send({
        asset: { version: '2.0', generator: 'hubmesh' },
        scene: 0,
        scenes: [{ nodes: nodes.map((_, i) => i) }],
        nodes,
        extensionsUsed: ['HUBS_components'],
      });
  });
  app.get<{ Params: { sid: string } }>('/:sid', handler);
  app.get<{ Params: { sid: string; slug: string } }>('/:sid/:slug', handler);
}
