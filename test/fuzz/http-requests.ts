/**
 * Hostile HTTP requests for the API, drawn from the node's own OpenAPI
 * description (built from the route schemas fastify validates with): each
 * documented route with path, query and body values from its schemas, then
 * broken; undocumented routes (pages, probes, files) with odd values; any
 * method on any path; bodies in the wrong content type, truncated JSON,
 * broken multipart; and garbage, missing or real bearer tokens.
 */
import fc from 'fast-check';
import { garbage, hostileArbitrary, nastyString, type JsonSchema } from './schema-arbitrary.js';

export interface FuzzRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body?: string | Buffer;
}

interface OpenapiParameter {
  readonly in: string;
  readonly name: string;
  readonly schema?: JsonSchema;
}

interface OpenapiOperation {
  readonly parameters?: readonly OpenapiParameter[];
  readonly requestBody?: { readonly content?: Readonly<Record<string, { readonly schema?: JsonSchema }>> };
}

export interface RouteSpec {
  readonly method: string;
  /** Path with `{name}` for each path parameter. */
  readonly path: string;
  readonly pathParams: readonly string[];
  readonly query?: JsonSchema;
  readonly body?: JsonSchema;
}

/** The routes of an OpenAPI 3 document (`GET /docs/openapi.json`). */
export function routesOf(doc: { readonly paths: Readonly<Record<string, Readonly<Record<string, OpenapiOperation>>>> }): RouteSpec[] {
  const routes: RouteSpec[] = [];
  for (const [path, operations] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(operations)) {
      const params = op.parameters ?? [];
      const query = params.filter((p) => p.in === 'query');
      routes.push({
        method: method.toUpperCase(),
        path,
        pathParams: params.filter((p) => p.in === 'path').map((p) => p.name),
        ...(query.length > 0 ? { query: { type: 'object', properties: Object.fromEntries(query.map((p) => [p.name, p.schema ?? { type: 'string' }])) } } : {}),
        ...(op.requestBody?.content?.['application/json']?.schema ? { body: op.requestBody.content['application/json'].schema } : {}),
      });
    }
  }
  return routes;
}

/** Routes the description leaves out: pages, probes, files, assets. */
export const UNDOCUMENTED_ROUTES: readonly RouteSpec[] = [
  { method: 'GET', path: '/healthz', pathParams: [] },
  { method: 'GET', path: '/readyz', pathParams: [] },
  { method: 'GET', path: '/metrics', pathParams: [] },
  { method: 'GET', path: '/', pathParams: [] },
  { method: 'GET', path: '/docs', pathParams: [] },
  { method: 'GET', path: '/assets/{file}', pathParams: ['file'] },
  { method: 'GET', path: '/{sid}', pathParams: ['sid'] },
  { method: 'HEAD', path: '/{sid}', pathParams: ['sid'] },
  { method: 'GET', path: '/{sid}/{slug}', pathParams: ['sid', 'slug'] },
  { method: 'GET', path: '/{sid}/objects.gltf', pathParams: ['sid'] },
  { method: 'GET', path: '/files/{name}', pathParams: ['name'], query: { type: 'object', properties: { token: { type: 'string' } } } },
  { method: 'HEAD', path: '/files/{name}', pathParams: ['name'], query: { type: 'object', properties: { token: { type: 'string' } } } },
];

export interface KnownHttpValues {
  readonly sids: readonly string[];
  /** Other path values worth hitting: file names, ban ids. */
  readonly names: readonly string[];
  /** Bearer tokens the node accepts. */
  readonly tokens: readonly string[];
}

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/** encodeURIComponent for any string: a lone surrogate (which it refuses) becomes U+FFFD first, as on the wire. */
const encode = (s: string): string => encodeURIComponent(Buffer.from(s).toString());

function pathValue(known: KnownHttpValues): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...known.sids, ...known.names) },
    { weight: 2, arbitrary: nastyString.map(encode) },
    { weight: 1, arbitrary: fc.constantFrom('..', '%2e%2e', '%00', '%', '%zz', '.', 'index.html', 'a'.repeat(3000), '..%2f..%2fetc%2fpasswd') },
    { weight: 1, arbitrary: fc.string({ maxLength: 20 }).map(encode) },
  );
}

const contentTypes = fc.constantFrom('application/json', 'application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=zz', 'multipart/form-data', 'application/octet-stream', 'application/json; charset=utf-16', '*/*', '');

function bodyOf(schema: JsonSchema | undefined): fc.Arbitrary<string | Buffer | undefined> {
  const json = (schema ? hostileArbitrary(schema) : garbage).map((v) => JSON.stringify(v) ?? '');
  return fc.oneof(
    { weight: 8, arbitrary: json },
    { weight: 1, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.tuple(json, fc.nat()).map(([text, at]) => text.slice(0, text.length === 0 ? 0 : at % text.length)) },
    { weight: 1, arbitrary: fc.string({ maxLength: 100 }) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)) },
    {
      weight: 1,
      arbitrary: fc.record({ name: fc.constantFrom('media', 'file', ''), filename: fc.oneof(fc.constant('a.png'), nastyString), type: fc.constantFrom('image/png', 'text/plain', '', 'x'), data: fc.uint8Array({ maxLength: 300 }), isCut: fc.boolean() }).map(({ name, filename, type, data, isCut }) => {
        const head = `--zz\r\ncontent-disposition: form-data; name="${name}"; filename="${filename}"\r\ncontent-type: ${type}\r\n\r\n`;
        return Buffer.concat([Buffer.from(head), Buffer.from(data), Buffer.from(isCut ? '' : '\r\n--zz--\r\n')]);
      }),
    },
  );
}

function queryOf(schema: JsonSchema | undefined): fc.Arbitrary<string> {
  const values = schema ? hostileArbitrary(schema) : fc.constant({});
  const extra = fc.dictionary(fc.string({ maxLength: 6 }), fc.oneof(nastyString, fc.string({ maxLength: 10 })), { maxKeys: 2 });
  return fc.tuple(values, extra, fc.boolean()).map(([v, more, isRaw]) => {
    if (isRaw) return `?${Object.keys(more).join('&')}=%&&=&a[b]=1&a=2&a=3`;
    const entries = Object.entries({ ...more, ...(typeof v === 'object' && v !== null && !Array.isArray(v) ? v : { q: v }) });
    const text = entries.map(([k, x]) => `${encode(k)}=${encode(typeof x === 'string' ? x : (JSON.stringify(x) ?? ''))}`).join('&');
    return text === '' ? '' : `?${text}`;
  });
}

function authorization(known: KnownHttpValues): fc.Arbitrary<string | undefined> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant(undefined) },
    { weight: 3, arbitrary: fc.constantFrom(...known.tokens).map((t) => `Bearer ${t}`) },
    { weight: 1, arbitrary: fc.oneof(fc.constantFrom('Bearer', 'Bearer ', 'Basic YTpi', 'bearer x.y.z', 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.'), fc.string({ maxLength: 40 }).map((s) => `Bearer ${s}`)) },
  );
}

/** Requests to `route`: its method mostly, sometimes any other. */
function requestsTo(route: RouteSpec, known: KnownHttpValues): fc.Arbitrary<FuzzRequest> {
  return fc
    .record({
      method: fc.oneof({ weight: 8, arbitrary: fc.constant(route.method) }, { weight: 1, arbitrary: fc.constantFrom(...METHODS) }),
      params: fc.array(pathValue(known), { minLength: route.pathParams.length, maxLength: route.pathParams.length }),
      query: queryOf(route.query),
      body: bodyOf(route.body),
      contentType: contentTypes,
      auth: authorization(known),
      extraHeader: fc.option(fc.tuple(fc.constantFrom('accept', 'range', 'x-forwarded-for', 'origin', 'accept-encoding', 'if-none-match'), fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('bytes=0-', 'bytes=-5', 'bytes=9-1', 'bytes=0-0,1-1', '*/*', 'gzip'))), { nil: undefined }),
    })
    .map(({ method, params, query, body, contentType, auth, extraHeader }) => {
      let path = route.path;
      route.pathParams.forEach((name, n) => (path = path.replace(`{${name}}`, params[n]!)));
      const headers: Record<string, string> = {};
      if (contentType !== '' && body !== undefined) headers['content-type'] = contentType;
      if (auth !== undefined) headers['authorization'] = auth;
      if (extraHeader) headers[extraHeader[0]] = extraHeader[1].replace(/[^\x20-\x7e]/g, '');
      const hasBody = body !== undefined && method !== 'GET' && method !== 'HEAD';
      return { method, url: `${path}${query}`, headers, ...(hasBody ? { body } : {}) };
    });
}

/** Every request the HTTP fuzzer sends: mostly to real routes, some to any path. */
export function httpRequests(routes: readonly RouteSpec[], known: KnownHttpValues): fc.Arbitrary<FuzzRequest> {
  const anyPath = fc.record({ method: fc.constantFrom(...METHODS), segments: fc.array(pathValue(known), { maxLength: 4 }) }).map(({ method, segments }) => ({ method, url: `/${segments.join('/')}`, headers: {} }));
  return fc.oneof({ weight: 12, arbitrary: fc.oneof(...routes.map((r) => requestsTo(r, known))) }, { weight: 1, arbitrary: anyPath });
}
