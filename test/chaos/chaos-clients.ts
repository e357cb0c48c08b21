/**
 * The people in the chaos suite's rooms: official phoenix.js clients, each
 * with its Presence and its own view of who owns which entity, kept by the
 * NAF client's rule (src/core/entities.ts `nafAccepts`). A client rejoins by
 * itself after its socket or channel fails, as phoenix.js does; each join
 * that succeeds gives it a new session id and starts its entity view afresh
 * from the snapshot the room sends after presence_state.
 */
import { Presence, type Channel, type Socket } from 'phoenix';
import { nafAccepts } from '../../src/core/entities.js';
import { phxSocket, profile } from '../support/clients.js';
import { waitFor } from '../support/wait.js';

/** What a client believes about one entity. */
export interface EntityView {
  owner: string;
  lastOwnerTime: number;
  readonly creator: string;
  readonly template: string;
}

type Entry = Record<string, unknown>;

export interface ClientSpec {
  readonly index: number;
  /** Index of the room in the scenario's room list. */
  readonly room: number;
  readonly sid: string;
  readonly node: number;
  readonly url: string;
  /** An account token: the client joins signed in (the room's pinner). */
  readonly authToken?: string;
}

// Phoenix's own rejoin steps are 1, 2, 5 and 10 s; shorter ones keep the suite's recoveries short without changing what is tested.
const REJOIN_STEPS_MS = [200, 500, 1000, 2000];
const RECONNECT_STEPS_MS = [100, 250, 500, 1000];
const stepAfter = (steps: readonly number[]) => (tries: number) => steps[Math.min(tries, steps.length) - 1] ?? steps[0]!;

export class ChaosClient {
  readonly spec: ClientSpec;
  readonly socket: Socket;
  readonly channel: Channel;
  readonly presence: Presence;
  readonly entities = new Map<string, EntityView>();
  sessionId: string | undefined;
  /** Successful joins so far: a rejoin adds one. */
  joins = 0;
  #isClosed = false;

  constructor(spec: ClientSpec) {
    this.spec = spec;
    this.socket = phxSocket({ url: spec.url }, {}, { reconnectAfterMs: stepAfter(RECONNECT_STEPS_MS), rejoinAfterMs: stepAfter(REJOIN_STEPS_MS) });
    const params = { ...profile(`p${spec.index}`), ...(spec.authToken === undefined ? {} : { auth_token: spec.authToken }) };
    this.channel = this.socket.channel(`hub:${spec.sid}`, params);
    this.presence = new Presence(this.channel);
    this.channel.on('naf', (p: Entry) => this.#applyNaf(p));
    this.channel.on('nafr', (p: { naf: string }) => this.#applyNaf(JSON.parse(p.naf) as Entry));
    // The hooks stay on the join push: phoenix.js resends it for every rejoin.
    this.channel
      .join()
      .receive('ok', (reply: Entry) => {
        this.sessionId = reply['session_id'] as string;
        this.entities.clear();
        this.joins++;
      })
      .receive('error', () => undefined)
      .receive('timeout', () => undefined);
  }

  /** Joined now: its socket is open and its channel in the room. */
  get isJoined(): boolean {
    return this.socket.isConnected() && this.channel.state === 'joined' && this.sessionId !== undefined;
  }

  /** The session ids its Presence lists. */
  presentSessions(): string[] {
    return this.presence.list((id: string) => id);
  }

  /** Leaves by closing its socket and comes straight back, as a reloaded page does: a leave and a join, with a new session. */
  bounce(): void {
    if (!this.isJoined) return;
    this.socket.disconnect(() => {
      if (!this.#isClosed) this.socket.connect();
    });
  }

  /** Leaves for good, and no more bouncing back: the run is over. */
  close(): void {
    this.#isClosed = true;
    this.socket.disconnect();
  }

  /** Sends what its own client would after taking an entity over (NAF takeOwnership), and applies it here. */
  grab(networkId: string, nowMs: number): boolean {
    const view = this.entities.get(networkId);
    const me = this.sessionId;
    // NAF takes ownership only of an entity last claimed in the past (the handover's lead time).
    if (!view || me === undefined || !this.isJoined || view.owner === me || view.lastOwnerTime >= nowMs) return false;
    const data = { networkId, owner: me, creator: view.creator, lastOwnerTime: nowMs, template: view.template, persistent: true, parent: null, components: { 0: { x: nowMs % 7, y: 1, z: 2 } } };
    this.channel.push('naf', { dataType: 'u', data });
    view.owner = me;
    view.lastOwnerTime = nowMs;
    return true;
  }

  /** Spawns a persistent NAF entity it owns, as its own client instantiates one (at lastOwnerTime -1). */
  spawn(networkId: string, template: string, src?: string): void {
    const me = this.sessionId;
    if (me === undefined || !this.isJoined) return;
    const components: Record<string, unknown> = { 0: { x: 0, y: 1, z: 2 } };
    if (src !== undefined) components['1'] = src;
    const data = { networkId, owner: me, creator: me, lastOwnerTime: -1, template, persistent: true, parent: null, components, isFirstSync: true };
    this.channel.push('naf', { dataType: 'u', data });
    this.entities.set(networkId, { owner: me, lastOwnerTime: -1, creator: me, template });
  }

  /** A pose update, relayed unreliably like an avatar's (`nafr` `um` of an entity the room does not track). */
  sendPose(tick: number): void {
    if (!this.isJoined) return;
    const entry = { networkId: `pose-${this.spec.index}`, owner: this.sessionId, lastOwnerTime: 0, components: { 0: { x: tick % 10, y: 0, z: 1 } } };
    this.channel.push('nafr', { naf: JSON.stringify({ dataType: 'um', data: { d: [entry] } }) });
  }

  #applyNaf(message: Entry): void {
    const data = message['data'] as Entry | undefined;
    if (!data) return;
    switch (message['dataType']) {
      case 'u':
        return this.#applyEntry(data);
      case 'um':
        for (const entry of (data['d'] as Entry[] | undefined) ?? []) this.#applyEntry(entry);
        return;
      case 'r':
        this.entities.delete(data['networkId'] as string);
        return;
    }
  }

  #applyEntry(entry: Entry): void {
    const networkId = entry['networkId'];
    const owner = entry['owner'];
    const lastOwnerTime = entry['lastOwnerTime'];
    if (typeof networkId !== 'string' || typeof owner !== 'string' || typeof lastOwnerTime !== 'number') return;
    const view = this.entities.get(networkId);
    if (!view) {
      // NAF instantiates from first syncs only, at lastOwnerTime -1.
      if (entry['isFirstSync'] !== true) return;
      const creator = typeof entry['creator'] === 'string' ? entry['creator'] : owner;
      this.entities.set(networkId, { owner, lastOwnerTime: -1, creator, template: String(entry['template'] ?? '') });
      return;
    }
    if (!nafAccepts(view, { owner, lastOwnerTime })) return;
    // A client records lastOwnerTime only when the owner changes (parity 3.3).
    if (owner !== view.owner) {
      view.owner = owner;
      view.lastOwnerTime = lastOwnerTime;
    }
  }
}

/** Spreads `perRoom` clients over the rooms and over every node, joins them `batch` at a time, and waits for all. */
export async function joinSwarm(rooms: readonly { sid: string; pinnerToken: string }[], perRoom: number, nodeUrls: readonly string[], timeoutMs: number): Promise<ChaosClient[]> {
  const specs: ClientSpec[] = [];
  for (let k = 0; k < perRoom; k++) {
    rooms.forEach(({ sid, pinnerToken }, room) => {
      const node = (room + k) % nodeUrls.length;
      // The first client of each room is its pinner, signed in.
      specs.push({ index: specs.length, room, sid, node, url: nodeUrls[node]!, ...(k === 0 ? { authToken: pinnerToken } : {}) });
    });
  }
  const clients: ChaosClient[] = [];
  const batch = 20;
  for (let i = 0; i < specs.length; i += batch) {
    const some = specs.slice(i, i + batch).map((spec) => new ChaosClient(spec));
    clients.push(...some);
    await waitFor(() => some.every((c) => c.isJoined), timeoutMs, `clients ${i}..${i + some.length - 1} to join`);
  }
  return clients;
}
