/**
 * Messages of the hub (room) actor. Sockets hand the registry one item per
 * client frame; the registry delivers them to the actor in batches, in order.
 */
import type { RoomCommand } from '../../src/core/control.js';
import type { InEnvelope } from '../../src/core/mesh.js';
import type { InFrame, Payload } from '../../src/protocol/frames.js';
import type { ChannelConn } from '../channel-conn.js';
import type { Room } from './room.js';

/** A client asks to join. A join from a socket already in the room replaces its earlier one. */
export interface HubJoin {
  readonly type: 'hub/join';
  readonly conn: ChannelConn;
  readonly joinRef: string | null;
  readonly ref: string | null;
  readonly params: Payload;
}

/** A client leaves: with `ref` after phx_leave (reply ok, then phx_close); with null when its socket closed. */
export interface HubLeave {
  readonly type: 'hub/leave';
  readonly conn: ChannelConn;
  /** The channel's join_ref as the leave named it; null when the socket closed. */
  readonly joinRef: string | null;
  readonly ref: string | null;
}

/** Any other client event on the topic. */
export interface HubEvent {
  readonly type: 'hub/event';
  readonly conn: ChannelConn;
  readonly frame: InFrame;
  /** Bytes of the frame on the wire. */
  readonly size: number;
}

/** Something another node published about the room. */
export interface HubRemote {
  readonly type: 'hub/remote';
  readonly env: InEnvelope;
}

/** Node `node` stopped heart-beating: its members have left. */
export interface HubNodeDown {
  readonly type: 'hub/node-down';
  readonly node: string;
}

/** The bus was away: tell the other nodes who is here. */
export interface HubResync {
  readonly type: 'hub/resync';
}

/** A command decided elsewhere (HTTP, another node) for this room's members. */
export interface HubControl {
  readonly type: 'hub/control';
  readonly cmd: RoomCommand;
}

/** The outcome of work the room started off the actor (Room.run), back in order. */
export interface HubCall {
  readonly type: 'hub/call';
  readonly fn: (room: Room) => void | Promise<void>;
  /** Work the room does on its own (a simulation's output): it does not keep an empty room from idling out. */
  readonly isBackground?: boolean;
}

export type HubItem = HubJoin | HubLeave | HubEvent | HubRemote | HubNodeDown | HubResync | HubControl | HubCall;

/** The one nact message: every item that arrived since the previous batch started. */
export interface HubBatch {
  readonly type: 'hub/batch';
  readonly items: HubItem[];
}

export type HubMsg = HubBatch;
