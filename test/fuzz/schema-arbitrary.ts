/**
 * fast-check arbitraries from JSON Schemas: `validArbitrary` draws values the
 * schema accepts (the subset of JSON Schema our schemas use: type, enum,
 * const, properties/required/additionalProperties, items, lengths, pattern,
 * bounds, anyOf/oneOf, and `contentSchema` for JSON carried in a string), and
 * `hostileArbitrary` draws those values broken in one place: a wrong type, a
 * missing required field, an extra field, a huge string, deep nesting, odd
 * unicode or a prototype-polluting key. `garbage` is any JSON at all.
 */
import fc from 'fast-check';

/** The JSON Schema keywords the converter understands; others are ignored. */
export interface JsonSchema {
  readonly type?: string | readonly string[];
  readonly enum?: readonly unknown[];
  readonly const?: unknown;
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly required?: readonly string[];
  readonly additionalProperties?: boolean | JsonSchema;
  readonly items?: JsonSchema;
  readonly minItems?: number;
  readonly maxItems?: number;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly pattern?: string;
  readonly format?: string;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly anyOf?: readonly JsonSchema[];
  readonly oneOf?: readonly JsonSchema[];
  /** A string holding JSON of this schema (JSON Schema 2019-09 `contentSchema`). */
  readonly contentSchema?: JsonSchema;
  readonly nullable?: boolean;
}

/** Hard caps so that valid draws stay small whatever the schema allows. */
const MAX_STRING = 40;
const MAX_ITEMS = 4;
const MAX_DEPTH = 6;

/** Strings that tend to break things: unicode edge cases, control characters, prototype keys, numbers in disguise. */
export const nastyString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('', ' ', '\u0000', '\ud800', '\udfff', '\u202e', '\ufeff', 'null', 'undefined', 'NaN', '-1', '1e309', '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '../..', '%00', '<script>', "'; drop table hubs; --", '😀'.repeat(3)),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.string({ unit: 'grapheme', maxLength: 10 }),
);

/** Any JSON value, sometimes large or deeply nested. */
export const garbage: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 2, arbitrary: nastyString },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 20_000 }).map((n) => 'x'.repeat(n)) },
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 50, max: 3000 }), fc.boolean()).map(([depth, asObjects]) => nest(depth, asObjects)) },
  { weight: 1, arbitrary: fc.constantFrom(Number.MAX_SAFE_INTEGER + 2, -0, 1e308, -1e308, 2 ** 53, 0.1) },
  { weight: 1, arbitrary: fc.array(fc.constant(0), { minLength: 100, maxLength: 3000 }) },
);

/** `depth` levels of `[...]` or `{"a": ...}` around null. */
function nest(depth: number, asObjects: boolean): unknown {
  let v: unknown = null;
  for (let i = 0; i < depth; i++) v = asObjects ? { a: v } : [v];
  return v;
}

function typesOf(schema: JsonSchema): string[] {
  const t = schema.type;
  const types = t === undefined ? [] : typeof t === 'string' ? [t] : [...t];
  if (schema.nullable === true) types.push('null');
  return types;
}

function stringArbitrary(schema: JsonSchema): fc.Arbitrary<string> {
  if (schema.contentSchema) return validArbitrary(schema.contentSchema).map((v) => JSON.stringify(v));
  if (schema.pattern !== undefined) {
    const re = new RegExp(schema.pattern);
    return fc.stringMatching(re).filter((s) => s.length >= (schema.minLength ?? 0) && s.length <= (schema.maxLength ?? Infinity));
  }
  if (schema.format === 'uuid') return fc.uuid();
  const minLength = schema.minLength ?? 0;
  const maxLength = Math.max(minLength, Math.min(schema.maxLength ?? MAX_STRING, MAX_STRING));
  return fc.string({ minLength, maxLength });
}

function objectArbitrary(schema: JsonSchema, depth: number): fc.Arbitrary<Record<string, unknown>> {
  const props = schema.properties ?? {};
  const required = schema.required ?? [];
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [key, sub] of Object.entries(props)) model[key] = validArbitrary(sub, depth + 1);
  for (const key of required) model[key] ??= depth < MAX_DEPTH ? fc.jsonValue({ maxDepth: 1 }) : fc.constant(null);
  const known = fc.record(model, { requiredKeys: required.filter((k) => k in model) as never[] });
  const extra = schema.additionalProperties;
  if (extra === false || depth >= MAX_DEPTH) return known as fc.Arbitrary<Record<string, unknown>>;
  const values = typeof extra === 'object' ? validArbitrary(extra, depth + 1) : fc.jsonValue({ maxDepth: Math.max(0, 2 - depth) });
  const more = fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }).filter((k) => !(k in props)), values, { maxKeys: 3 });
  return fc.tuple(known, more).map(([a, b]) => ({ ...b, ...a }));
}

/** Values that `schema` accepts. */
export function validArbitrary(schema: JsonSchema, depth = 0): fc.Arbitrary<unknown> {
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) return fc.oneof(...alternatives.map((s) => validArbitrary(s, depth)));
  const types = typesOf(schema);
  if (types.length === 0) return depth < MAX_DEPTH ? fc.jsonValue({ maxDepth: 2 }) : fc.constant(null);
  return fc.oneof(
    ...types.map((type): fc.Arbitrary<unknown> => {
      switch (type) {
        case 'string':
          return stringArbitrary(schema);
        case 'integer':
          return fc.integer({ min: Math.max(schema.minimum ?? -1e6, Number.MIN_SAFE_INTEGER), max: Math.min(schema.maximum ?? 1e6, Number.MAX_SAFE_INTEGER) });
        case 'number':
          return fc.double({ min: schema.minimum ?? -1e6, max: schema.maximum ?? 1e6, noNaN: true, noDefaultInfinity: true });
        case 'boolean':
          return fc.boolean();
        case 'null':
          return fc.constant(null);
        case 'array': {
          const item = schema.items ? validArbitrary(schema.items, depth + 1) : fc.jsonValue({ maxDepth: 1 });
          const minLength = schema.minItems ?? 0;
          return fc.array(item, { minLength, maxLength: Math.max(minLength, Math.min(schema.maxItems ?? MAX_ITEMS, MAX_ITEMS)) });
        }
        case 'object':
          return objectArbitrary(schema, depth);
        default:
          throw new TypeError(`unsupported schema type ${type}`);
      }
    }),
  );
}

type Path = readonly (string | number)[];

/** Every path to a value inside `root`, the root itself first. */
function pathsOf(root: unknown, path: Path = [], out: Path[] = []): Path[] {
  out.push(path);
  if (out.length > 200) return out;
  if (Array.isArray(root)) root.forEach((v, i) => pathsOf(v, [...path, i], out));
  else if (typeof root === 'object' && root !== null) for (const [k, v] of Object.entries(root)) pathsOf(v, [...path, k], out);
  return out;
}

const MUTATIONS = ['replace', 'delete', 'extra', 'huge', 'nest', 'proto', 'nasty'] as const;
type Mutation = (typeof MUTATIONS)[number];

/** Applies `kind` at `path` of a copy of `root`. */
function mutate(root: unknown, path: Path, kind: Mutation, value: unknown, nasty: string, size: number): unknown {
  const copy: unknown = structuredClone(root);
  const replacement = (): unknown => {
    switch (kind) {
      case 'huge':
        return 'x'.repeat(size * 16);
      case 'nest':
        // Mostly within the depths a server may accept, sometimes far past them.
        return nest(size % 4 === 0 ? 10 + (size % 2000) : 2 + (size % 50), size % 2 === 0);
      case 'nasty':
        return nasty;
      default:
        return value;
    }
  };
  if (path.length === 0) {
    if (kind === 'extra' || kind === 'proto') return isRecord(copy) ? withKey(copy, kind === 'proto' ? '__proto__' : `x${size}`, value) : value;
    return kind === 'delete' ? undefined : replacement();
  }
  const parent = path.slice(0, -1).reduce<unknown>((node, key) => (node as Record<string | number, unknown>)[key], copy) as Record<string | number, unknown>;
  const key = path[path.length - 1]!;
  if (kind === 'delete') {
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete parent[key];
  } else if (kind === 'extra' || kind === 'proto') {
    const target = parent[key];
    parent[key] = isRecord(target) ? withKey(target, kind === 'proto' ? '__proto__' : `x${size}`, value) : value;
  } else parent[key] = replacement();
  return copy;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Adds `key` as an own property, even `__proto__` (as JSON.parse would). */
function withKey(obj: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  return obj;
}

/** Values of `schema` broken in one place (see the header); some of them are still valid. */
export function hostileArbitrary(schema: JsonSchema): fc.Arbitrary<unknown> {
  const broken = fc
    .record({ root: validArbitrary(schema), at: fc.nat(), kind: fc.constantFrom(...MUTATIONS), value: garbage, nasty: nastyString, size: fc.integer({ min: 1, max: 4000 }) })
    .map(({ root, at, kind, value, nasty, size }) => {
      const paths = pathsOf(root);
      return mutate(root, paths[at % paths.length]!, kind, value, nasty, size);
    });
  return fc.oneof({ weight: 3, arbitrary: validArbitrary(schema) }, { weight: 6, arbitrary: broken }, { weight: 1, arbitrary: garbage });
}
