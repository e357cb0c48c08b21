/**
 * Phoenix Presence for one topic (parity 1.5): one list of metas per key,
 * each meta carrying a unique `phx_ref`. Every change returns the
 * `presence_diff` to broadcast. An update is a leave of the old meta plus a
 * join of the new one, which carries `phx_ref_prev`. Refs are supplied by the
 * caller, so this stays deterministic.
 */
import type { Payload } from '../protocol/frames.js';

export type PresenceMeta = Payload & { readonly phx_ref: string; readonly phx_ref_prev?: string };
export type PresenceEntries = Record<string, { metas: PresenceMeta[] }>;
export interface PresenceDiff {
  readonly joins: PresenceEntries;
  readonly leaves: PresenceEntries;
}

export class Presence {
  readonly #byKey = new Map<string, PresenceMeta[]>();

  /** Adds a meta for `key` under the fresh `ref`. */
  track(key: string, ref: string, meta: Payload): PresenceDiff {
    const tracked: PresenceMeta = { ...meta, phx_ref: ref };
    const metas = this.#byKey.get(key);
    if (metas) metas.push(tracked);
    else this.#byKey.set(key, [tracked]);
    return { joins: { [key]: { metas: [tracked] } }, leaves: {} };
  }

  /** Replaces the meta tracked under `ref` with `meta` under `newRef`; null if `ref` is not tracked. */
  update(key: string, ref: string, newRef: string, meta: Payload): PresenceDiff | null {
    const metas = this.#byKey.get(key);
    const i = metas?.findIndex((m) => m.phx_ref === ref) ?? -1;
    if (!metas || i < 0) return null;
    const old = metas[i]!;
    const next: PresenceMeta = { ...meta, phx_ref: newRef, phx_ref_prev: ref };
    metas[i] = next;
    return { joins: { [key]: { metas: [next] } }, leaves: { [key]: { metas: [old] } } };
  }

  /** Removes the meta tracked under `ref`; null if it is not tracked. */
  untrack(key: string, ref: string): PresenceDiff | null {
    const metas = this.#byKey.get(key);
    const i = metas?.findIndex((m) => m.phx_ref === ref) ?? -1;
    if (!metas || i < 0) return null;
    const [old] = metas.splice(i, 1);
    if (metas.length === 0) this.#byKey.delete(key);
    return { joins: {}, leaves: { [key]: { metas: [old!] } } };
  }

  /** The `presence_state` payload. */
  list(): PresenceEntries {
    const out: PresenceEntries = {};
    for (const [key, metas] of this.#byKey) out[key] = { metas: [...metas] };
    return out;
  }

  has(key: string): boolean {
    return this.#byKey.has(key);
  }

  keys(): IterableIterator<string> {
    return this.#byKey.keys();
  }

  metas(): IterableIterator<PresenceMeta[]> {
    return this.#byKey.values();
  }

  get size(): number {
    return this.#byKey.size;
  }
}

/**
 * `member_count` and `lobby_count` (parity 2.5): presences in the room or in
 * the lobby, not counting Discord bridge bots.
 */
export function countPresences(presence: Presence): { memberCount: number; lobbyCount: number } {
  let memberCount = 0;
  let lobbyCount = 0;
  for (const metas of presence.metas()) {
    for (const meta of metas) {
      const context = meta['context'];
      if (typeof context === 'object' && context !== null && (context as Payload)['discord'] === true) continue;
      if (meta['presence'] === 'room') memberCount++;
      else if (meta['presence'] === 'lobby') lobbyCount++;
    }
  }
  return { memberCount, lobbyCount };
}

/**
 * One diff with the effect of `first` then `next`, as Phoenix's client applies
 * a diff (joins, then leaves). Refs are unique, so a ref in the joins of
 * `first` and the leaves of `next` came and went within the two: it is left
 * out of both.
 */
export function mergeDiffs(first: PresenceDiff, next: PresenceDiff): PresenceDiff {
  const left = new Set<string>();
  for (const { metas } of Object.values(next.leaves)) for (const m of metas) left.add(m.phx_ref);
  const joined = new Set<string>();
  for (const { metas } of Object.values(first.joins)) for (const m of metas) if (left.has(m.phx_ref)) joined.add(m.phx_ref);
  const joins: PresenceEntries = {};
  const leaves: PresenceEntries = {};
  const add = (into: PresenceEntries, entries: PresenceEntries) => {
    for (const [key, { metas }] of Object.entries(entries)) {
      const kept = metas.filter((m) => !joined.has(m.phx_ref));
      if (kept.length > 0) (into[key] ??= { metas: [] }).metas.push(...kept);
    }
  };
  add(joins, first.joins);
  add(joins, next.joins);
  add(leaves, first.leaves);
  add(leaves, next.leaves);
  return { joins, leaves };
}
