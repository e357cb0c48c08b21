/**
 * The room's SFU (parity 7.5 `Hub.ensure_host`, 2.6, 2.8 `get_host`): keep
 * the recorded one while it is alive, otherwise pick one, tell the room
 * (`host_changed` to every member on every node) and record it.
 *
 * In a cluster only the room's home assigns, so two nodes never hand out
 * different SFUs; the others learn the choice from the `host` room command,
 * or from the room state when they start holding the room. A node that finds
 * the host dead but the home silent tries to become the home (the old one may
 * have died) and assigns if it does. The record is a compare-and-set over the
 * host this node last knew: should another node have recorded a different
 * live SFU meanwhile (a home handing over), the room adopts that one instead.
 */
import { formatSfuHost, hostFields } from '../../src/core/sfu-placement.js';
import type { Payload } from '../../src/protocol/frames.js';
import type { HubEvent } from './hub-msg.js';
import { replyOk } from './replies.js';
import type { Room, Seat } from './room.js';

/** `{host, port, turn}` as `get_host` and `host_changed` carry it (parity 2.8, 2.10); TURN is not offered. */
export function hostPayload(host: string | null): Payload {
  return { ...hostFields(host), turn: { enabled: false } };
}

/**
 * Makes sure the room has a live SFU if any is known, on the actor and at
 * once: the join reply or `get_host` answer that follows carries the result.
 * The store write runs off the actor.
 */
export function ensureHost(room: Room): void {
  const sfus = room.deps.sfus;
  if (!sfus) return;
  const current = room.hub.host;
  // Kept while alive, and while the directory is too young to say it is not.
  if (current !== null && sfus.isLive(current) !== false) return;
  const sfu = sfus.pick();
  if (!sfu) return;
  if (room.home && !room.home.isMine) return becomeHomeAndEnsure(room);
  const next = formatSfuHost(sfu);
  room.deps.log.info({ hubSid: room.hub.hubSid, host: next, previous: current }, 'room assigned an sfu');
  room.deps.metrics.inc('hub_host_assignments_total');
  room.control({ op: 'host', host: next });
  record(room, next, current);
}

/** `get_host {}` (parity 2.8): ensure a host, reply `{host, port, turn}`; nulls when no SFU is known. */
export function handleGetHost(room: Room, seat: Seat, msg: HubEvent): void {
  ensureHost(room);
  replyOk(room, seat, msg.frame.ref, hostPayload(room.hub.host));
}

function becomeHomeAndEnsure(room: Room): void {
  const home = room.home;
  if (!home) return;
  room.run(
    () => home.claim(),
    (outcome) => {
      if (outcome.ok && outcome.value) ensureHost(room);
      else if (!outcome.ok) room.deps.log.debug({ err: outcome.err, hubSid: room.hub.hubSid }, 'could not claim the room lease');
    },
  );
}

/** The room's last host write; writes of one room go to the store one at a time, in the order decided. */
const lastWrite = new WeakMap<Room, Promise<unknown>>();

function record(room: Room, host: string, expected: string | null, mayRetry = true): void {
  const sid = room.hub.hubSid;
  const previous = lastWrite.get(room) ?? Promise.resolve();
  const write = previous.catch(() => undefined).then(() => room.deps.store.setHubHost(sid, host, expected));
  lastWrite.set(room, write);
  room.run(
    () => write,
    (outcome) => {
      if (!outcome.ok) {
        room.deps.metrics.inc('hub_host_record_errors_total');
        room.deps.log.warn({ err: outcome.err, hubSid: sid }, 'could not record the room host');
        return;
      }
      const stored = outcome.value;
      // Took, the room is gone, or the room has moved on since (that write settles it).
      if (stored === undefined || stored === host || room.hub.host !== host) return;
      if (stored !== null && room.deps.sfus?.isLive(stored) === true) room.control({ op: 'host', host: stored });
      else if (mayRetry) record(room, host, stored, false);
    },
  );
}
