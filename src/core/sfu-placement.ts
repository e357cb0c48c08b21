/**
 * SFU placement (parity 7.5): SFU processes announce themselves and their load
 * on the bus, and every room is assigned one of them. The assignment is
 * recorded with the room and handed to clients as `host`/`port` in the join
 * reply and `get_host`, with `host_changed` when it moves.
 */

/** Subject SFU processes publish their announcement on. */
export const SFU_ANNOUNCE_SUBJECT = 'sfu.announce';

/** What an SFU process says about itself every `sfuAnnounceMs`. */
export interface SfuAnnouncement {
  /** Stable for the life of the process. */
  readonly id: string;
  /** Where clients open its signaling websocket: `ws(s)://host:port/` (or `/sfu`). */
  readonly host: string;
  readonly port: number;
  /** Joined peers, live consumers and the consumer cap: its load. */
  readonly peers: number;
  readonly consumers: number;
  readonly maxConsumers: number;
  /** Rooms with at least one peer. */
  readonly rooms: number;
  /** False while the process drains: it takes no new rooms. */
  readonly accepting: boolean;
}
