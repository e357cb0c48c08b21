/**
 * The hub actor: one nact actor per live room on this node. It handles its
 * items strictly in order, one batch per nact message, so a busy room pays
 * nact's per-message cost once per event-loop turn rather than once per frame.
 *
 * Faults: an exception while handling one item errors only that client's
 * channel (phx_error; the client rejoins), as a crashed channel process does
 * in Phoenix. An exception outside an item reaches `onCrash`, which errors
 * every channel of the room and stops the actor; the next join starts afresh.
 */
import nact from 'nact';
import type { Ref } from 'nact';
import { handleEvent } from './events.js';
import type { HubBatch, HubItem, HubMsg } from './hub-msg.js';
import { handleJoin, handleLeave } from './join.js';
import type { Room } from './room.js';

/** Called after each batch and when the actor crashes, so the registry can idle-stop or forget the room. */
export interface HubActorHooks {
  batchStarted(batch: HubBatch): void;
  batchDone(): void;
  crashed(err: unknown): void;
}

function handleItem(room: Room, item: HubItem): void | Promise<void> {
  switch (item.type) {
    case 'hub/join':
      return handleJoin(room, item);
    case 'hub/leave':
      return handleLeave(room, item);
    case 'hub/event':
      return handleEvent(room, item);
    case 'hub/remote':
      return room.applyRemote(item.env);
    case 'hub/node-down':
      return room.applyNodeDown(item.node);
    case 'hub/resync':
      return room.resync();
    case 'hub/control':
      return room.applyControl(item.cmd);
    case 'hub/call':
      return item.fn(room);
  }
}

function failItem(room: Room, item: HubItem, err: unknown): void {
  room.deps.metrics.inc('hub_item_faults_total', { type: item.type });
  if (item.type !== 'hub/join' && item.type !== 'hub/leave' && item.type !== 'hub/event') {
    room.deps.log.error({ err, hubSid: room.hub.hubSid, item: item.type }, 'hub item failed');
    return;
  }
  room.deps.log.error({ err, hubSid: room.hub.hubSid, sessionId: item.conn.sessionId, item: item.type }, 'hub item failed');
  if (item.type === 'hub/join') {
    // Parity: a crashing join/3 is answered {"reason":"join crashed"}.
    room.replyError(item.conn, item.joinRef, item.ref, 'JOIN_CRASHED', 'join failed on the server');
    item.conn.endChannel(room.topic, item.joinRef, 'refused');
    return;
  }
  const seat = room.seats.get(item.conn.connId);
  if (!seat) return;
  room.unseat(seat);
  item.conn.endChannel(room.topic, seat.joinRef, 'errored');
}

/** Spawns the actor for `room` under `parent`. */
export function spawnHubActor(parent: Ref<unknown>, room: Room, hooks: HubActorHooks): Ref<HubMsg> {
  const handle = async (state: Room, msg: HubMsg): Promise<Room> => {
    hooks.batchStarted(msg);
    for (const item of msg.items) {
      try {
        // Most items (relayed events) finish synchronously; awaiting only promises saves a microtask per frame.
        const pending = handleItem(state, item);
        if (pending) await pending;
      } catch (err) {
        failItem(state, item, err);
      }
    }
    hooks.batchDone();
    return state;
  };
  return nact.spawn(parent, handle, `hub-${room.hub.hubSid}`, {
    initialState: room,
    onCrash: (_msg, err, ctx) => {
      hooks.crashed(err);
      return ctx.stop;
    },
  });
}
